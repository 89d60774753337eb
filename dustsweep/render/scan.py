"""The scan's output: a table per account for people, one JSON document or CSV rows for programs."""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from dustsweep.core.delisting import announced, in_hours, iso_utc
from dustsweep.render.common import _d, csv_cell, dec, failed_line, jsonify, money
from dustsweep.render.lines import print_hanging, print_indented
from dustsweep.render.width import print_table

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
    "delist_at",
)


def asset_row(item: AssetReport, delist_at: int | None = None) -> dict[str, Any]:
    """One asset as JSON/CSV show it; ``delist_at`` (ms) when its markets all close."""
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
        "delist_at": iso_utc(delist_at) if delist_at is not None else None,
    }


def delist_of(scan: AccountScan, asset: str) -> int | None:
    return scan.snapshot.delist_at.get(asset) if scan.snapshot is not None else None


def totals_row(report: AccountReport) -> dict[str, Any]:
    totals = jsonify(report.totals)
    return totals if isinstance(totals, dict) else {"total": totals}


def scan_document(quote: str, scans: Sequence[AccountScan]) -> dict[str, Any]:
    """The ``scan --json`` contract (README "JSON output"), built of JSON types only (strings
    for decimals), so that ``print_json`` need not walk it again."""
    accounts = []
    for scan in scans:
        entry: dict[str, Any] = {"name": scan.name, "exchange": scan.exchange}
        if scan.report is not None:
            entry["assets"] = [asset_row(a, delist_of(scan, a.asset)) for a in scan.report.assets]
            entry["totals"] = totals_row(scan.report)
            entry["warnings"] = list(scan.snapshot.warnings) if scan.snapshot else []
            entry["error"] = None
        else:
            entry["assets"] = []
            entry["totals"] = None
            entry["error"] = str(scan.error) if scan.error else "unknown error"
        accounts.append(entry)
    return {"quote": quote, "accounts": accounts, "totals": all_accounts(scans)}


def all_accounts(scans: Sequence[AccountScan]) -> dict[str, Any] | None:
    """Every account's totals added up (the accounts that failed add nothing)."""
    rows = [totals_row(s.report) for s in scans if s.report is not None]
    if not rows:
        return None
    summed: dict[str, Any] = {}
    for key in rows[0]:
        if key == "unpriced":
            summed[key] = sum(int(r.get(key) or 0) for r in rows)
        elif any(r.get(key) is None for r in rows):
            summed[key] = None  # unknown for one account: unknown in total
        else:
            summed[key] = dec(sum((Decimal(str(r[key])) for r in rows), Decimal(0)))
    return summed


def write_scan_csv(scans: Sequence[AccountScan], stream: IO[str] | None = None) -> None:
    writer = csv.writer(stream or sys.stdout, lineterminator="\n")
    writer.writerow(("account", "exchange", *SCAN_FIELDS))
    for scan in scans:
        if scan.report is None:
            continue
        for item in scan.report.assets:
            row = asset_row(item, delist_of(scan, item.asset))
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


def print_scan(
    console: Console,
    quote: str,
    scans: Sequence[AccountScan],
    show_all: bool,
    now_ms: int | None = None,
) -> None:
    from rich.markup import escape
    from rich.table import Table

    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    for scan in scans:
        title = f"{scan.name} ({scan.exchange})"
        if scan.report is None:
            console.print(failed_line(title))
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
        delisting = any(delist_of(scan, a.asset) is not None for a in scan.report.assets)
        if delisting:
            table.add_column("Delisting", justify="left")
        hidden = 0
        for item in scan.report.assets:
            if not (shown(item, show_all) or delist_of(scan, item.asset) is not None):
                hidden += 1
                continue
            row = asset_row(item)
            status = row["status"]
            when = delist_of(scan, item.asset)
            extra = [in_hours(when, now_ms) if when is not None else ""] if delisting else []
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
                *extra,
            )
        print_table(
            console,
            table,
            wrap={"Reason"},
            drop=("Convert", "Market", "Sell qty", "Residual", "Locked"),
        )
        if hidden:
            print_indented(
                console, f"({hidden} larger sellable balance(s) hidden; --all shows them)"
            )
        print_totals(console, quote, scan.report)
        for warning in scan.snapshot.warnings if scan.snapshot else ():
            print_hanging(console, "[yellow]note:[/yellow]", warning)
        if scan.snapshot is not None and scan.snapshot.announcements:
            held = [a.asset for a in scan.report.assets]
            for asset, note in announced(held, scan.snapshot.announcements, now_ms):
                console.print(
                    f"  [yellow]note:[/yellow] {asset} is named in a delisting announcement: "
                    f"{escape(note.title)} {escape(note.url)}"
                )
        console.print()
    overall = all_accounts(scans)
    if overall is not None:
        print_totals(console, quote, overall, label="All accounts")


def print_totals(
    console: Console, quote: str, report: AccountReport | dict[str, Any], label: str = ""
) -> None:
    t = report if isinstance(report, dict) else totals_row(report)
    parts = [
        f"total {money(_d(t.get('total')))}",
        f"small {money(_d(t.get('small')))}",
        f"sellable now {money(_d(t.get('sellable')))}",
        f"dust {money(_d(t.get('dust')))}",
        f"convertible {money(_d(t.get('convertible')))}",
        f"stuck {money(_d(t.get('stuck')))}",
    ]
    unpriced = t.get("unpriced")
    line = " · ".join(parts)
    if unpriced:
        line += f" · {unpriced} unpriced"
    if label:
        print_hanging(console, f"{label}, {quote}:", line, indent=0)
    else:
        print_hanging(console, f"{quote}:", line)
