"""Output: rich tables for people, one JSON document or CSV for programs.

Data goes to stdout, diagnostics to stderr. Nothing here knows an exchange; it renders the
core's reports. Decimals are written with format(d, "f") so no exponent ever appears.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from dustsweep.core.classify import AccountReport, AssetReport
    from dustsweep.services.app import AccountScan

SCAN_FIELDS = (
    "asset",
    "free",
    "locked",
    "value",
    "status",
    "reason",
    "market",
    "sell_qty",
    "residual",
    "convertible",
)


def dec(value: Decimal | None) -> str | None:
    """A decimal as plain text, or None."""
    if value is None:
        return None
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def jsonify(value: Any) -> Any:
    """Make a value JSON-ready: Decimals as strings, enums as their value, dataclasses as dicts."""
    if isinstance(value, Decimal):
        return dec(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonify(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, frozenset, set)):
        return [jsonify(v) for v in value]
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str):
        return value.value
    return value


def print_json(document: Any, stream: IO[str] | None = None) -> None:
    out = stream or sys.stdout
    json.dump(jsonify(document), out, indent=2)
    out.write("\n")


def asset_row(item: AssetReport) -> dict[str, Any]:
    return {
        "asset": item.asset,
        "free": dec(item.free),
        "locked": dec(item.locked),
        "value": dec(item.value),
        "status": str(item.status.value if hasattr(item.status, "value") else item.status),
        "reason": item.reason,
        "market": item.market,
        "sell_qty": dec(item.sell_qty),
        "residual": dec(item.residual),
        "convertible": item.convertible,
    }


def totals_row(report: AccountReport) -> dict[str, Any]:
    totals = jsonify(report.totals)
    return totals if isinstance(totals, dict) else {"total": totals}


def scan_document(quote: str, scans: Sequence[AccountScan]) -> dict[str, Any]:
    """The ``scan --json`` contract (README "JSON output")."""
    accounts = []
    for scan in scans:
        entry: dict[str, Any] = {"name": scan.name, "exchange": scan.exchange}
        if scan.report is not None:
            entry["assets"] = [asset_row(a) for a in scan.report.assets]
            entry["totals"] = totals_row(scan.report)
            entry["warnings"] = list(scan.snapshot.warnings) if scan.snapshot else []
            entry["error"] = None
        else:
            entry["assets"] = []
            entry["totals"] = None
            entry["error"] = str(scan.error) if scan.error else "unknown error"
        accounts.append(entry)
    return {"quote": quote, "accounts": accounts}


def write_scan_csv(scans: Sequence[AccountScan], stream: IO[str] | None = None) -> None:
    writer = csv.writer(stream or sys.stdout, lineterminator="\n")
    writer.writerow(("account", "exchange", *SCAN_FIELDS))
    for scan in scans:
        if scan.report is None:
            continue
        for item in scan.report.assets:
            row = asset_row(item)
            writer.writerow((scan.name, scan.exchange, *(csv_cell(row[k]) for k in SCAN_FIELDS)))


def csv_cell(value: Any) -> str:
    """CSV text like the JSON's: "" for null, true/false for booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def make_console(stderr: bool = False) -> Console:
    """One rich Console; colour off when NO_COLOR is set or output is not a terminal."""
    import os

    from rich.console import Console

    return Console(
        stderr=stderr,
        no_color=bool(os.environ.get("NO_COLOR")),
        highlight=False,
        soft_wrap=False,
    )


VERDICT_STYLE = {
    "sellable": "green",
    "partial": "yellow",
    "dust": "red",
    "no_market": "magenta",
    "locked": "cyan",
    "ignored": "dim",
}


def shown(item: AssetReport, show_all: bool) -> bool:
    """By default: small balances and anything that cannot be sold; ``--all``: everything."""
    status = str(getattr(item.status, "value", item.status))
    return show_all or item.small or status not in {"sellable", "partial"}


def print_scan(console: Console, quote: str, scans: Sequence[AccountScan], show_all: bool) -> None:
    from rich.table import Table

    for scan in scans:
        title = f"{scan.name} ({scan.exchange})"
        if scan.report is None:
            console.print(f"[bold]{title}[/bold]: [red]failed[/red]: {scan.error}")
            continue
        table = Table(title=title, title_justify="left", show_lines=False)
        for column, justify in (
            ("Asset", "left"),
            ("Free", "right"),
            ("Locked", "right"),
            (f"Value {quote}", "right"),
            ("Verdict", "left"),
            ("Market", "left"),
            ("Sell qty", "right"),
            ("Residual", "right"),
            ("Convert", "center"),
            ("Reason", "left"),
        ):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        hidden = 0
        for item in scan.report.assets:
            if not shown(item, show_all):
                hidden += 1
                continue
            row = asset_row(item)
            status = row["status"]
            table.add_row(
                item.asset,
                row["free"],
                row["locked"] if item.locked else "",
                money(item.value),
                f"[{VERDICT_STYLE.get(status, '')}]{status}[/]",
                item.market or "",
                row["sell_qty"] if item.sell_qty else "",
                row["residual"] if item.residual else "",
                {True: "yes", False: "no", None: "?"}[item.convertible],
                item.reason,
            )
        console.print(table)
        if hidden:
            console.print(f"  ({hidden} larger sellable balance(s) hidden; --all shows them)")
        print_totals(console, quote, scan.report)
        for warning in scan.snapshot.warnings if scan.snapshot else ():
            console.print(f"  [yellow]note:[/yellow] {warning}")
        console.print()


def money(value: Decimal | None, places: int = 2) -> str:
    """A value for people: rounded for reading (the JSON keeps every digit); '?' if unknown."""
    if value is None:
        return "?"
    if value != 0 and abs(value) < Decimal("0.01"):
        return "<0.01"
    return f"{value:,.{places}f}"


def print_totals(console: Console, quote: str, report: AccountReport) -> None:
    t = totals_row(report)
    parts = [
        f"total {money(_d(t.get('total')))}",
        f"small {money(_d(t.get('small')))}",
        f"sellable now {money(_d(t.get('sellable')))}",
        f"dust {money(_d(t.get('dust')))}",
        f"convertible {money(_d(t.get('convertible')))}",
        f"stuck {money(_d(t.get('stuck')))}",
    ]
    unpriced = t.get("unpriced")
    line = f"  {quote}: " + " · ".join(parts)
    if unpriced:
        line += f" · {unpriced} unpriced"
    console.print(line)


def _d(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def print_history(console: Console, records: Sequence[Any]) -> None:
    """The local history as a table, oldest first."""
    from rich.table import Table

    if not records:
        console.print("No history yet: nothing has been sold or converted.")
        return
    table = Table(title="History", title_justify="left")
    for column in ("Time", "Account", "Kind", "Sold", "Received", "Fee", "Status", "Id"):
        table.add_column(column)
    for r in records:
        table.add_row(
            str(r.time),
            f"{r.account} ({r.exchange})",
            r.kind,
            f"{dec(r.qty) or ''} {r.asset}",
            f"{dec(r.received_qty) or ''} {r.received_asset or ''}".strip(),
            f"{dec(r.fee) or ''} {r.fee_asset or ''}".strip(),
            r.status + (f": {r.error}" if getattr(r, "error", None) else ""),
            r.client_id or r.order_id or "",
        )
    console.print(table)


# --------------------------------------------------------------------------- sell


def outcome_row(outcome: Any) -> dict[str, Any]:
    """One order in the ``sell --json`` contract."""
    return {
        "asset": outcome.asset,
        "market": outcome.market,
        "qty": dec(outcome.qty),
        "status": outcome.status,
        "client_order_id": outcome.client_order_id,
        "filled_qty": dec(outcome.filled_qty),
        "proceeds": dec(outcome.proceeds),
        "fee": dec(outcome.fee),
        "fee_asset": outcome.fee_asset,
        "residual": dec(outcome.residual),
        "error": outcome.error,
    }


def planned_row(order: Any) -> dict[str, Any]:
    return {
        "asset": order.asset,
        "market": order.symbol,
        "qty": dec(order.qty),
        "status": "planned",
        "client_order_id": None,
        "filled_qty": "0",
        "proceeds": dec(order.expected_proceeds),
        "fee": dec(order.est_fee),
        "fee_asset": order.quote_asset,
        "residual": dec(order.residual),
        "error": None,
    }


def skipped_row(skip: Any) -> dict[str, Any]:
    return {
        "asset": skip.asset,
        "market": None,
        "qty": "0",
        "status": "skipped",
        "client_order_id": None,
        "filled_qty": "0",
        "proceeds": "0",
        "fee": "0",
        "fee_asset": None,
        "residual": None,
        "error": skip.reason,
    }


def sell_rows(sell: Any) -> list[dict[str, Any]]:
    """The orders of one account: results when executed, else the plan; then plan skips."""
    rows: list[dict[str, Any]] = []
    if sell.result is not None:
        rows = [outcome_row(o) for o in sell.result.outcomes]
    elif sell.plan is not None:
        rows = [planned_row(o) for o in sell.plan.orders]
    if sell.plan is not None:
        rows += [skipped_row(s) for s in sell.plan.skipped]
    return rows


def sum_by_asset(pairs: Iterable[tuple[str | None, Decimal]]) -> dict[str, str | None]:
    totals: dict[str, Decimal] = {}
    for asset, amount in pairs:
        if asset is not None and amount:
            totals[asset] = totals.get(asset, Decimal(0)) + amount
    return {a: dec(v) for a, v in sorted(totals.items())}


def sell_document(dry_run: bool, sells: Sequence[Any]) -> dict[str, Any]:
    """The ``sell --json`` contract (README "sell --json")."""
    accounts = []
    outcomes: list[Any] = []
    expected = Decimal(0)
    for sell in sells:
        accounts.append(
            {
                "name": sell.name,
                "exchange": sell.exchange,
                "orders": sell_rows(sell),
                "reconciled": [outcome_row(o) for o in sell.reconciled],
                "error": str(sell.error) if sell.error else None,
            }
        )
        if sell.result is not None:
            outcomes += sell.result.outcomes
        if sell.plan is not None:
            expected += sell.plan.expected_value
    totals = {
        "planned_orders": sum(s.actions for s in sells),
        "expected_value": dec(expected),
        "filled": sum(1 for o in outcomes if o.status == "filled"),
        "failed": sum(1 for o in outcomes if o.status not in {"filled", "planned"}),
        "proceeds": sum_by_asset((o.quote_asset, o.proceeds) for o in outcomes),
        "fees": sum_by_asset((o.fee_asset, o.fee) for o in outcomes),
    }
    return {"dry_run": dry_run, "accounts": accounts, "totals": totals}


def print_sell_plan(console: Console, quote: str, sells: Sequence[Any]) -> None:
    from rich.table import Table

    for sell in sells:
        title = f"{sell.name} ({sell.exchange})"
        if sell.error is not None:
            console.print(f"[bold]{title}[/bold]: [red]failed[/red]: {sell.error}")
            continue
        for outcome in sell.reconciled:
            console.print(f"  settled from an earlier run: {outcome_line(outcome)}")
        plan = sell.plan
        if plan is None or (not plan.orders and not plan.skipped):
            console.print(f"[bold]{title}[/bold]: nothing to sell")
            continue
        table = Table(title=f"{title}: sell plan", title_justify="left")
        for column in (
            "Asset",
            "Market",
            "Quantity",
            "Expected",
            "Est. fee",
            f"Value {quote}",
            "Residual",
        ):
            table.add_column(column, justify="left" if column in {"Asset", "Market"} else "right")
        for order in plan.orders:
            table.add_row(
                order.asset,
                order.symbol,
                dec(order.qty),
                f"{dec(order.expected_proceeds)} {order.quote_asset}",
                f"{dec(order.est_fee)} {order.quote_asset}",
                money(order.expected_value),
                dec(order.residual) if order.residual else "",
            )
        console.print(table)
        console.print(
            f"  {len(plan.orders)} order(s), expected {money(plan.expected_value)} {quote}, "
            f"estimated fees {money(plan.est_fee_value)} {quote}"
        )
        for skip in plan.skipped:
            console.print(f"  skipped {skip.asset}: {skip.reason}")
        console.print()


def outcome_line(outcome: Any) -> str:
    text = f"{outcome.asset} on {outcome.market}: {outcome.status}"
    if outcome.filled_qty:
        received = f"{dec(outcome.proceeds)} {outcome.quote_asset or ''}"
        text += f", sold {dec(outcome.filled_qty)} for {received}"
        if outcome.fee:
            text += f" (fee {dec(outcome.fee)} {outcome.fee_asset or ''})"
    if outcome.error:
        text += f": {outcome.error}"
    return text.strip()


def print_sell_results(console: Console, sells: Sequence[Any]) -> None:
    from rich.table import Table

    for sell in sells:
        title = f"{sell.name} ({sell.exchange})"
        if sell.result is None:
            if sell.error is not None and sell.plan is not None:
                console.print(f"[bold]{title}[/bold]: [red]failed[/red]: {sell.error}")
            continue
        table = Table(title=f"{title}: results", title_justify="left")
        for column in ("Asset", "Market", "Status", "Sold", "Proceeds", "Fee", "Residual", "Note"):
            table.add_column(column)
        for o in sell.result.outcomes:
            style = {"filled": "green", "partially_filled": "yellow"}.get(o.status, "red")
            table.add_row(
                o.asset + (" (follow-up)" if o.followup else ""),
                o.market,
                f"[{style}]{o.status}[/]",
                dec(o.filled_qty),
                f"{dec(o.proceeds)} {o.quote_asset or ''}".strip(),
                f"{dec(o.fee)} {o.fee_asset or ''}".strip(),
                dec(o.residual) if o.residual else "",
                o.error or "",
            )
        console.print(table)
        if sell.result.banned:
            console.print(f"  [red]{sell.result.banned}[/red]")
        for note in sell.result.notes:
            console.print(f"  note: {note}")
        console.print()


# --------------------------------------------------------------------------- convert


def iso_ms(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO-8601 UTC (rounded up to the second), or None."""
    if ms is None:
        return None
    from datetime import UTC, datetime

    seconds = -(-ms // 1000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    from dustsweep.convert.execute import planned_conversion_outcomes

    if item.plan is None:
        return []
    by_asset = {c.asset: c for c in item.plan.conversions}
    if item.outcome is not None:
        lines = item.outcome.lines
    else:
        lines = planned_conversion_outcomes(item.plan)
    return [conversion_row(line, by_asset.get(line.asset)) for line in lines]


def convert_document(dry_run: bool, items: Sequence[Any]) -> dict[str, Any]:
    """The ``convert --json`` contract (README "convert --json")."""
    accounts = []
    received: list[tuple[str | None, Decimal]] = []
    fees: list[tuple[str | None, Decimal]] = []
    for item in items:
        rows = convert_rows(item)
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
            }
        )
    return {
        "dry_run": dry_run,
        "accounts": accounts,
        "totals": {
            "conversions": sum(len(a["conversions"]) for a in accounts),
            "received": sum_by_asset(received),
            "fees": sum_by_asset(fees),
        },
    }


def print_convert_plan(console: Console, quote: str, items: Sequence[Any]) -> None:
    from rich.table import Table

    for item in items:
        title = f"{item.name} ({item.exchange})"
        for line in item.settled:
            console.print(f"  settled from an earlier run: {line.asset} {line.status}")
        if item.error is not None:
            console.print(f"[bold]{title}[/bold]: [red]failed[/red]: {item.error}")
            continue
        if item.cooldown is not None:
            console.print(f"[bold]{title}[/bold]: [yellow]not now[/yellow]: {item.cooldown}")
            continue
        if item.note is not None:
            console.print(f"[bold]{title}[/bold]: {item.note}")
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
                f"Receive {plan.target}",
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
                rate = f" ({dec(c.fee_rate * 100)}%)" if c.fee_rate is not None else ""
                table.add_row(
                    c.asset,
                    dec(c.amount),
                    c.choice.option.label if c.choice.option else c.route.value,
                    dec(c.received) or "?",
                    f"{dec(c.fee) or '?'}{rate}",
                    money(c.fee_value),
                    money(c.received_value),
                    runner_text,
                )
            console.print(table)
            totals = plan.totals
            console.print(
                f"  {len(plan.conversions)} conversion(s): receive {dec(totals.received)} "
                f"{plan.target} ({money(totals.received_value)} {quote}), fees "
                f"{dec(totals.fee)} {plan.target} ({money(totals.fee_value)} {quote})"
            )
        for skip in plan.skipped:
            console.print(f"  left {skip.asset}: {skip.reason}")
        console.print()


def print_convert_results(console: Console, items: Sequence[Any]) -> None:
    from rich.table import Table

    for item in items:
        if item.outcome is None:
            if item.error is not None and item.plan is not None:
                console.print(f"[bold]{item.name}[/bold]: [red]failed[/red]: {item.error}")
            continue
        table = Table(title=f"{item.name} ({item.exchange}): conversions", title_justify="left")
        for column in ("Asset", "Route", "Status", "Amount", "Received", "Fee", "Id", "Note"):
            table.add_column(column)
        for line in item.outcome.lines:
            style = "green" if line.status == "converted" else "red"
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
        console.print(table)
        for note in item.outcome.notes:
            console.print(f"  note: {note}")
        if item.cooldown is not None:
            console.print(f"  [yellow]{item.cooldown}[/yellow]")
        console.print()


# --------------------------------------------------------------------------- sweep


def sweep_document(result: Any) -> dict[str, Any]:
    """The ``sweep --json`` contract (README "sweep --json")."""
    accounts = []
    orders_all: list[dict[str, Any]] = []
    conversions_all: list[dict[str, Any]] = []
    for sweep in result.accounts:
        orders = sell_rows(sweep.sell) if sweep.sell is not None else []
        conversions = convert_rows(sweep.convert) if sweep.convert is not None else []
        orders_all += orders
        conversions_all += conversions
        convert = sweep.convert
        accounts.append(
            {
                "name": sweep.name,
                "exchange": sweep.exchange,
                "convert_to": sweep.convert_to,
                "orders": orders,
                "conversions": conversions,
                "left": [
                    {
                        "asset": x["asset"],
                        "value": dec(x["value"]),
                        "status": x["status"],
                        "reason": x["reason"],
                    }
                    for x in sweep.left
                ],
                "settled": {
                    "orders": [outcome_row(o) for o in sweep.sell.reconciled] if sweep.sell else [],
                    "conversions": [conversion_row(c) for c in convert.settled] if convert else [],
                },
                "cooldown_until": iso_ms(convert.cooldown.until_ms)
                if convert and convert.cooldown
                else None,
                "cooldown": str(convert.cooldown) if convert and convert.cooldown else None,
                "note": convert.note if convert else None,
                "error": str(sweep.error) if sweep.error else None,
            }
        )
    executed = [o for o in orders_all if o["status"] in {"filled", "partially_filled"}]
    converted = [c for c in conversions_all if c["status"] == "converted"]
    return {
        "dry_run": result.dry_run,
        "accounts": accounts,
        "totals": {
            "planned_orders": sum(1 for o in orders_all if o["status"] == "planned"),
            "planned_conversions": sum(1 for c in conversions_all if c["status"] == "planned"),
            "filled_orders": len(executed),
            "converted": len(converted),
            "failed": sum(1 for o in orders_all if o["status"] in {"rejected", "unknown"})
            + sum(1 for c in conversions_all if c["status"] in {"failed", "unknown"})
            + sum(
                1
                for a in accounts
                for row in a["settled"]["orders"] + a["settled"]["conversions"]
                if row["status"] == "unknown"
            ),
            "proceeds": sum_by_asset(
                (o.quote_asset, o.proceeds)
                for sweep in result.accounts
                if sweep.sell is not None and sweep.sell.result is not None
                for o in sweep.sell.result.outcomes
                if o.executed
            ),
            "fees": sum_by_asset(
                [(o["fee_asset"], Decimal(o["fee"] or 0)) for o in executed]
                + [(c["fee_asset"], Decimal(c["fee"] or 0)) for c in converted]
            ),
            "received": sum_by_asset((c["target"], Decimal(c["received"] or 0)) for c in converted),
        },
    }


def print_sweep(console: Console, quote: str, result: Any) -> None:
    """Plan (dry run) or results, then what is left and why, per account."""
    sells = [s.sell for s in result.accounts if s.sell is not None]
    converts = [s.convert for s in result.accounts if s.convert is not None]
    if result.dry_run:
        print_sell_plan(console, quote, sells)
        print_convert_plan(console, quote, converts)
    else:
        for sell in sells:
            for outcome in sell.reconciled:
                console.print(f"  settled from an earlier run: {outcome_line(outcome)}")
        print_sell_results(console, sells)
        print_convert_plan(console, quote, [c for c in converts if c.outcome is None])
        print_convert_results(console, converts)
    for sweep in result.accounts:
        if sweep.left:
            console.print(f"[bold]{sweep.name} ({sweep.exchange})[/bold]: left as it is")
            for item in sweep.left:
                console.print(
                    f"  {item['asset']} ({money(item['value'])} {quote}, {item['status']}): "
                    f"{item['reason']}"
                )
    if result.dry_run and result.planned_actions:
        console.print("Dry run: nothing was sold or converted (--yes does it).")
