"""The sweep command's output: one summary over sells and conversions, as a table or JSON."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dustsweep.render.common import dec, iso_ms, money, sum_by_asset
from dustsweep.render.convert import (
    conversion_row,
    convert_rows,
    print_convert_plan,
    print_convert_results,
)
from dustsweep.render.lines import print_hanging
from dustsweep.render.sell import (
    outcome_line,
    outcome_row,
    print_sell_plan,
    print_sell_results,
    sell_rows,
)
from dustsweep.render.totals import (
    Totals,
    overall,
    print_summary,
    quote_of,
    sweep_totals,
    totals_json,
)

if TYPE_CHECKING:
    from rich.console import Console


def sweep_document(result: Any) -> dict[str, Any]:
    """The ``sweep --json`` contract (README "sweep --json")."""
    accounts = []
    orders_all: list[dict[str, Any]] = []
    conversions_all: list[dict[str, Any]] = []
    quote = quote_of(s.sell for s in result.accounts)
    per_account: list[Totals] = []
    for sweep in result.accounts:
        per_account.append(sweep_totals(sweep, quote))
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
                "totals": totals_json(per_account[-1]),
            }
        )
    executed = [o for o in orders_all if o["status"] in {"filled", "partially_filled"}]
    converted = [c for c in conversions_all if c["status"] == "converted"]
    totals: dict[str, Any] = {
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
    }
    added = totals_json(overall(per_account))  # additive: the keys above keep their meaning
    totals.update({k: v for k, v in added.items() if k not in totals})
    return {"dry_run": result.dry_run, "accounts": accounts, "totals": totals}


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
        print_sell_results(console, sells, summary=False)
        print_convert_plan(console, quote, [c for c in converts if c.outcome is None])
        print_convert_results(console, converts, summary=False)
    for sweep in result.accounts:
        if sweep.left:
            console.print(f"[bold]{sweep.name} ({sweep.exchange})[/bold]: left as it is")
            for item in sweep.left:
                print_hanging(
                    console,
                    f"{item['asset']} ({money(item['value'])} {quote}, {item['status']}):",
                    item["reason"],
                )
    totals = [sweep_totals(s, quote) for s in result.accounts]
    print_summary(console, quote, totals, dry_run=result.dry_run)
    if result.dry_run and result.planned_actions:
        console.print("Dry run: nothing was sold or converted (--yes does it).")
