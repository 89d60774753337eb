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

    from dustsweep.classify import AccountReport, AssetReport
    from dustsweep.service import AccountScan

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
            writer.writerow(
                (scan.name, scan.exchange, *("" if row[k] is None else row[k] for k in SCAN_FIELDS))
            )


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


def print_lines(lines: Iterable[str], stream: IO[str] | None = None) -> None:
    out = stream or sys.stdout
    for line in lines:
        out.write(line + "\n")


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
        "planned_orders": sum(s.orders for s in sells),
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
        for column in ("Asset", "Market", "Quantity", "Expected", "Est. fee", f"Value {quote}",
                       "Residual"):
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
