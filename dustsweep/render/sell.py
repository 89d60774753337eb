"""The sell command's output: the plan, the results, and the JSON document."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dustsweep.render.common import dec, failed_line, money, sum_by_asset
from dustsweep.render.lines import print_hanging, print_indented
from dustsweep.render.totals import (
    Totals,
    overall,
    print_summary,
    quote_of,
    sell_totals,
    totals_json,
)
from dustsweep.render.width import print_table
from dustsweep.run.outcome import Status

if TYPE_CHECKING:
    from rich.console import Console


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
        "followup": outcome.followup,
    }


def planned_row(order: Any, followup: bool = False) -> dict[str, Any]:
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
        "followup": followup,
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
        "followup": False,
    }


def sell_rows(sell: Any) -> list[dict[str, Any]]:
    """The orders of one account: results when executed, else the plan; then plan skips."""
    rows: list[dict[str, Any]] = []
    if sell.result is not None:
        rows = [outcome_row(o) for o in sell.result.outcomes]
    elif sell.plan is not None:
        rows = [planned_row(o) for o in sell.plan.orders]
        rows += [planned_row(o, followup=True) for o in sell.followups]
    if sell.plan is not None:
        rows += [skipped_row(s) for s in sell.plan.skipped]
    return rows


def sell_document(dry_run: bool, sells: Sequence[Any]) -> dict[str, Any]:
    """The ``sell --json`` contract (README "sell --json")."""
    accounts = []
    outcomes: list[Any] = []
    expected = Decimal(0)
    quote = quote_of(sells)
    per_account: list[Totals] = []
    for sell in sells:
        account_totals = sell_totals(sell, quote)
        per_account.append(account_totals)
        accounts.append(
            {
                "name": sell.name,
                "exchange": sell.exchange,
                "orders": sell_rows(sell),
                "reconciled": [outcome_row(o) for o in sell.reconciled],
                "error": str(sell.error) if sell.error else None,
                "totals": totals_json(account_totals),
            }
        )
        if sell.result is not None:
            outcomes += sell.result.outcomes
        if sell.plan is not None:
            expected += sell.plan.expected_value
    totals = {
        "planned_orders": sum(s.actions for s in sells),
        "expected_value": dec(expected),
        "filled": sum(1 for o in outcomes if o.status == Status.FILLED),
        "failed": sum(1 for o in outcomes if o.status not in {"filled", "planned"}),
        "proceeds": sum_by_asset((o.quote_asset, o.proceeds) for o in outcomes),
        "fees": sum_by_asset((o.fee_asset, o.fee) for o in outcomes),
    }
    added = totals_json(overall(per_account))  # additive: the keys above keep their meaning
    totals.update({k: v for k, v in added.items() if k not in totals})
    return {"dry_run": dry_run, "accounts": accounts, "totals": totals}


def print_sell_plan(console: Console, quote: str, sells: Sequence[Any]) -> None:
    from rich.table import Table

    for sell in sells:
        title = f"{sell.name} ({sell.exchange})"
        if sell.error is not None:
            console.print(failed_line(title))
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
        for order in sell.followups:
            table.add_row(
                f"{order.asset} (follow-up)",
                order.symbol,
                f"~{dec(order.qty)}",
                f"~{dec(order.expected_proceeds)} {order.quote_asset}",
                f"~{dec(order.est_fee)} {order.quote_asset}",
                money(order.expected_value),
                "",
            )
        print_table(console, table, drop=("Residual", "Est. fee", "Market"))
        more = f" and {len(sell.followups)} follow-up sale(s)" if sell.followups else ""
        print_indented(
            console,
            f"{len(plan.orders)} order(s){more}, expected {money(plan.expected_value)} "
            f"{quote}, estimated fees {money(plan.est_fee_value)} {quote}",
        )
        for order in sell.followups:
            print_indented(
                console,
                f"then the {order.asset} received -> {order.quote_asset} on {order.symbol} "
                "(sized from what the sales above receive)",
            )
        for skip in plan.skipped:
            print_hanging(console, f"skipped {skip.asset}:", skip.reason)
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


def print_sell_results(console: Console, sells: Sequence[Any], summary: bool = True) -> None:
    from rich.table import Table

    for sell in sells:
        title = f"{sell.name} ({sell.exchange})"
        if sell.result is None:
            if sell.error is not None and sell.plan is not None:
                console.print(failed_line(title))
            continue
        table = Table(title=f"{title}: results", title_justify="left")
        for column in (
            "Asset",
            "Market",
            "Status",
            "Sold",
            "Received (net)",
            "Fee",
            "Residual",
            "Note",
        ):
            table.add_column(column)
        for o in sell.result.outcomes:
            style = {"filled": "green", "partially_filled": "yellow"}.get(o.status, "red")
            table.add_row(
                o.asset + (" (follow-up)" if o.followup else ""),
                o.market,
                f"[{style}]{o.status}[/]",
                dec(o.filled_qty),
                f"{dec(o.net_proceeds)} {o.quote_asset or ''}".strip(),
                f"{dec(o.fee)} {o.fee_asset or ''}".strip(),
                dec(o.residual) if o.residual else "",
                o.error or "",
            )
        print_table(console, table, wrap={"Note"}, drop=("Residual", "Fee", "Market"))
        if sell.result.banned:
            console.print(f"  [red]{sell.result.banned}[/red]")
        for note in sell.result.notes:
            print_hanging(console, "note:", note)
        console.print()
    done = [s for s in sells if s.result is not None]
    if done and summary:
        quote = quote_of(done)
        print_summary(console, quote, [sell_totals(s, quote) for s in done])
