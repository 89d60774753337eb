"""The scan's output: a table per account for people, one JSON document or CSV rows for programs."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from dustsweep.render.common import _d, csv_cell, dec, jsonify, money

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
