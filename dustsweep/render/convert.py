"""The convert command's output: the plan, the results, and the JSON document."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dustsweep.render.common import dec, failed_line, iso_ms, money, sum_by_asset
from dustsweep.render.lines import print_hanging
from dustsweep.render.totals import (
    Totals,
    convert_totals,
    overall,
    print_summary,
    quote_of,
    totals_json,
)
from dustsweep.render.width import print_table
from dustsweep.run.outcome import Status

if TYPE_CHECKING:
    from rich.console import Console


def conversion_row(line: Any, planned: Any = None) -> dict[str, Any]:
    """One asset in the ``convert --json`` contract."""
    row = {
        "asset": line.asset,
        "route": line.route,
        "amount": dec(line.amount),
        "status": line.status,
        "target": line.target,
        "received": dec(line.received),
        "fee": dec(line.fee),
        "fee_asset": line.fee_asset,
        "client_id": getattr(line, "client_id", None),
        "transfer_id": getattr(line, "transfer_id", None),
        "error": getattr(line, "error", None),
    }
    if planned is not None:
        row.update(
            {
                "fee_rate": dec(planned.fee_rate),
                "value": dec(planned.value),
                "received_value": dec(planned.received_value),
                "fee_value": dec(planned.fee_value),
                "runner_up": planned.choice.runner_up.value if planned.choice.runner_up else None,
                "runner_up_net": dec(planned.choice.runner_up_net),
            }
        )
    return row


def convert_rows(item: Any) -> list[dict[str, Any]]:
    if item.plan is None:
        return []
    by_asset = {c.asset: c for c in item.plan.conversions}
    return [conversion_row(line, by_asset.get(line.asset)) for line in item.lines()]


def convert_document(dry_run: bool, items: Sequence[Any]) -> dict[str, Any]:
    """The ``convert --json`` contract (README "convert --json")."""
    accounts = []
    received: list[tuple[str | None, Decimal]] = []
    fees: list[tuple[str | None, Decimal]] = []
    quote = quote_of(items)
    per_account: list[Totals] = []
    for item in items:
        rows = convert_rows(item)
        per_account.append(convert_totals(item, quote))
        for row in rows:
            if row["status"] == "converted":
                received.append((row["target"], Decimal(row["received"] or 0)))
                fees.append((row["fee_asset"], Decimal(row["fee"] or 0)))
        accounts.append(
            {
                "name": item.name,
                "exchange": item.exchange,
                "target": item.target,
                "conversions": rows,
                "left": [{"asset": s.asset, "reason": s.reason} for s in item.plan.skipped]
                if item.plan
                else [],
                "settled": [conversion_row(line) for line in item.settled],
                "cooldown_until": iso_ms(item.cooldown.until_ms) if item.cooldown else None,
                "cooldown": str(item.cooldown) if item.cooldown else None,
                "note": item.note,
                "error": str(item.error) if item.error else None,
                "totals": totals_json(per_account[-1]),
            }
        )
    totals: dict[str, Any] = {
        "conversions": sum(len(a["conversions"]) for a in accounts),
        "received": sum_by_asset(received),
        "fees": sum_by_asset(fees),
    }
    added = totals_json(overall(per_account))  # additive: the keys above keep their meaning
    totals.update({k: v for k, v in added.items() if k not in totals})
    return {"dry_run": dry_run, "accounts": accounts, "totals": totals}


def print_convert_plan(console: Console, quote: str, items: Sequence[Any]) -> None:
    from rich.table import Table

    for item in items:
        title = f"{item.name} ({item.exchange})"
        for line in item.settled:
            console.print(f"  settled from an earlier run: {line.asset} {line.status}")
        if item.error is not None:
            console.print(failed_line(title))
            continue
        if item.cooldown is not None:
            print_hanging(
                console, f"[bold]{title}[/bold]: [yellow]not now[/yellow]:", item.cooldown, 0
            )
            continue
        if item.note is not None:
            print_hanging(console, f"[bold]{title}[/bold]:", item.note, indent=0)
            continue
        plan = item.plan
        if plan is None or not plan.conversions:
            console.print(f"[bold]{title}[/bold]: nothing to convert")
            if plan is None:
                continue
        if plan.conversions:
            table = Table(title=f"{title}: convert to {plan.target}", title_justify="left")
            for column in (
                "Asset",
                "Amount",
                "Route",
                f"Receive {plan.target} (net)",
                "Fee",
                f"Fee {quote}",
                f"Net {quote}",
                "Runner-up",
            ):
                table.add_column(column)
            for c in plan.conversions:
                runner = c.choice.runner_up_option
                runner_text = (
                    f"{runner.label} ({money(c.choice.runner_up_net)})" if runner else "leave"
                )
                rate = f" ({dec(round(c.fee_rate * 100, 2))}%)" if c.fee_rate is not None else ""
                table.add_row(
                    c.asset,
                    dec(c.amount),
                    route_cell(
                        c.choice.option.label if c.choice.option else c.route.value, plan.target
                    ),
                    dec(c.received) or "?",
                    f"{dec(c.fee) or '?'}{rate}",
                    money(c.fee_value),
                    money(c.received_value),
                    runner_text,
                )
            print_table(
                console,
                table,
                wrap={"Route", "Runner-up"},
                drop=("Runner-up", f"Fee {quote}", "Fee"),
            )
            totals = plan.totals
            # A conversion whose target has no price adds nothing to the value: say how many,
            # so "0.00 USDT" is never read as "worth nothing".
            unpriced = f"; {totals.unpriced} without a price in {quote}" if totals.unpriced else ""
            print_hanging(
                console,
                f"{len(plan.conversions)} conversion(s):",
                f"receive {dec(totals.received)} {plan.target} "
                f"({money(totals.received_value)} {quote}), fees "
                f"{dec(totals.fee)} {plan.target} ({money(totals.fee_value)} {quote}){unpriced}",
            )
        for skip in plan.skipped:
            print_hanging(console, f"left {skip.asset}:", skip.reason)
        console.print()


def route_cell(label: str, target: str) -> str:
    """The route without " to <target>": the table's title and its Receive column already name
    the target, and the shorter words keep the column on one line at 80 columns."""
    return label.removesuffix(f" to {target}")


def print_convert_results(console: Console, items: Sequence[Any], summary: bool = True) -> None:
    from rich.table import Table

    for item in items:
        if item.outcome is None:
            if item.error is not None and item.plan is not None:
                console.print(failed_line(f"{item.name} ({item.exchange})"))
            continue
        table = Table(title=f"{item.name} ({item.exchange}): conversions", title_justify="left")
        for column in ("Asset", "Route", "Status", "Amount", "Received (net)", "Fee", "Id", "Note"):
            table.add_column(column)
        for line in item.outcome.lines:
            style = "green" if line.status == Status.CONVERTED else "red"
            table.add_row(
                line.asset,
                line.route,
                f"[{style}]{line.status}[/]",
                dec(line.amount),
                f"{dec(line.received) or '?'} {line.target}",
                f"{dec(line.fee) or '?'} {line.fee_asset or ''}".strip(),
                line.transfer_id or line.client_id or "",
                line.error or "",
            )
        print_table(console, table, wrap={"Note"}, drop=("Id", "Route", "Fee"))
        for note in item.outcome.notes:
            print_hanging(console, "note:", note)
        if item.cooldown is not None:
            console.print(f"  [yellow]{item.cooldown}[/yellow]")
        console.print()
    done = [i for i in items if i.outcome is not None]
    if done and summary:
        quote = quote_of(done)
        print_summary(console, quote, [convert_totals(i, quote) for i in items])
