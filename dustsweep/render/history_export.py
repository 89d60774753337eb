"""``history --format koinly|cointracker|coinledger|blockpit|cointracking``: CSV in each tax
tool's generic import template, and the ``--totals`` table.

Only executed records are exported, one row per order or per converted asset. Every row is a
trade: it sends ``qty`` of the asset and receives the gross ``received_qty``; the fee is its own
column (a dust->BNB conversion's 2 % charge is a BNB fee, a Convert trade has none), so the tool
books gross received minus fee, which is what arrived. Amounts are plain decimals.

Date formats and type values, from the tools' help pages:
- Koinly universal template: "YYYY-MM-DD HH:MM UTC"; Label empty for a plain trade.
- CoinTracker: "MM/DD/YYYY HH:MM:SS" in UTC; Tag empty for a trade.
- CoinLedger universal template: "MM/DD/YYYY HH:MM:SS" (UTC), Type "Trade".
- Blockpit manual import: "DD.MM.YYYY HH:MM:SS" (UTC), Label "Trade".
- CoinTracking CSV import: Type "Trade", Date "YYYY-MM-DD HH:MM:SS" (UTC).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO, TYPE_CHECKING

from dustsweep.render.width import print_table
from dustsweep.services.history_query import AssetTotal, value_of
from dustsweep.storage.records import Record

if TYPE_CHECKING:
    from rich.console import Console

Row = list[str]

HEADERS: dict[str, tuple[str, ...]] = {
    "koinly": (
        "Date",
        "Sent Amount",
        "Sent Currency",
        "Received Amount",
        "Received Currency",
        "Fee Amount",
        "Fee Currency",
        "Net Worth Amount",
        "Net Worth Currency",
        "Label",
        "Description",
        "TxHash",
    ),
    "cointracker": (
        "Date",
        "Received Quantity",
        "Received Currency",
        "Sent Quantity",
        "Sent Currency",
        "Fee Amount",
        "Fee Currency",
        "Tag",
    ),
    "coinledger": (
        "Date (UTC)",
        "Platform (Optional)",
        "Asset Sent",
        "Amount Sent",
        "Asset Received",
        "Amount Received",
        "Fee Currency (Optional)",
        "Fee Amount (Optional)",
        "Type",
        "Description (Optional)",
        "TxHash (Optional)",
    ),
    "blockpit": (
        "Date (UTC)",
        "Integration Name",
        "Label",
        "Outgoing Asset",
        "Outgoing Amount",
        "Incoming Asset",
        "Incoming Amount",
        "Fee Asset (optional)",
        "Fee Amount (optional)",
        "Comment (optional)",
        "Trx. ID (optional)",
    ),
    "cointracking": (
        "Type",
        "Buy Amount",
        "Buy Currency",
        "Sell Amount",
        "Sell Currency",
        "Fee",
        "Fee Currency",
        "Exchange",
        "Trade-Group",
        "Comment",
        "Date",
    ),
}

TAX_FORMATS = tuple(HEADERS)


def _amount(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def _when(record: Record) -> datetime:
    return datetime.fromisoformat(record.time.replace("Z", "+00:00")).astimezone(UTC)


def _fee(record: Record) -> tuple[str, str]:
    """(amount, currency); no fee at all leaves both empty."""
    if record.fee is None or not record.fee_asset:
        return "", ""
    return _amount(record.fee), record.fee_asset


def _txid(record: Record) -> str:
    """Unique per row, and the same before and after a sync matched the record: an order's
    client id; for a conversion the exchange's id and the asset (one Bybit conversion, or one
    Binance batch, covers several assets)."""
    if record.kind == "order":
        return record.client_id or record.order_id or ""
    ident = record.order_id or record.client_id
    return f"{ident}-{record.asset}" if ident else ""


def describe(record: Record) -> str:
    """What the row is, for the tool's description column."""
    if record.kind == "order":
        what = f"dust sale on {record.market}" if record.market else "dust sale"
    elif record.market == "convert":
        what = "Convert trade"
    else:
        what = "small-balance conversion"
    origin = "dustsweep" if record.source == "dustsweep" else "exchange log"
    return f"{record.exchange} {record.account}: {what} ({origin})"


def _koinly(r: Record) -> Row:
    fee, fee_cur = _fee(r)
    worth = value_of(r)
    return [
        _when(r).strftime("%Y-%m-%d %H:%M UTC"),
        _amount(r.qty),
        r.asset,
        _amount(r.received_qty),
        r.received_asset or "",
        fee,
        fee_cur,
        _amount(worth[0]) if worth else "",
        worth[1] if worth else "",
        "",
        describe(r),
        _txid(r),
    ]


def _cointracker(r: Record) -> Row:
    fee, fee_cur = _fee(r)
    return [
        _when(r).strftime("%m/%d/%Y %H:%M:%S"),
        _amount(r.received_qty),
        r.received_asset or "",
        _amount(r.qty),
        r.asset,
        fee,
        fee_cur,
        "",
    ]


def _coinledger(r: Record) -> Row:
    fee, fee_cur = _fee(r)
    return [
        _when(r).strftime("%m/%d/%Y %H:%M:%S"),
        r.exchange.capitalize(),
        r.asset,
        _amount(r.qty),
        r.received_asset or "",
        _amount(r.received_qty),
        fee_cur,
        fee,
        "Trade",
        describe(r),
        _txid(r),
    ]


def _blockpit(r: Record) -> Row:
    fee, fee_cur = _fee(r)
    return [
        _when(r).strftime("%d.%m.%Y %H:%M:%S"),
        f"{r.exchange.capitalize()} {r.account}",
        "Trade",
        r.asset,
        _amount(r.qty),
        r.received_asset or "",
        _amount(r.received_qty),
        fee_cur,
        fee,
        describe(r),
        _txid(r),
    ]


def _cointracking(r: Record) -> Row:
    fee, fee_cur = _fee(r)
    return [
        "Trade",
        _amount(r.received_qty),
        r.received_asset or "",
        _amount(r.qty),
        r.asset,
        fee,
        fee_cur,
        r.exchange.capitalize(),
        "dustsweep",
        describe(r),
        _when(r).strftime("%Y-%m-%d %H:%M:%S"),
    ]


ROWS: dict[str, Callable[[Record], Row]] = {
    "koinly": _koinly,
    "cointracker": _cointracker,
    "coinledger": _coinledger,
    "blockpit": _blockpit,
    "cointracking": _cointracking,
}


def write_tax_csv(fmt: str, records: Sequence[Record], stream: IO[str]) -> None:
    """The records (already only executed ones) in the tool's template, header first."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(HEADERS[fmt])
    row = ROWS[fmt]
    for record in records:
        writer.writerow(row(record))


def totals_document(rows: Sequence[AssetTotal]) -> list[dict[str, object]]:
    """``--totals --format json``: decimals as strings."""
    return [
        {
            "asset": t.asset,
            "sent": _amount(t.sent),
            "received": _amount(t.received),
            "fees": _amount(t.fees),
            "value": {k: _amount(v) for k, v in sorted(t.value.items())},
            "unvalued_sends": t.unvalued,
        }
        for t in rows
    ]


def print_totals(console: Console, rows: Sequence[AssetTotal]) -> None:
    """Per asset: sent, received, fees, and the value of what was sent where recorded."""
    from rich.table import Table

    if not rows:
        console.print("Nothing executed in this selection.")
        return
    table = Table(title="Totals", title_justify="left")
    for column in ("Asset", "Sent", "Received", "Fees", "Value when sent"):
        table.add_column(column)
    for t in rows:
        value = " + ".join(f"{_amount(v)} {k}" for k, v in sorted(t.value.items()))
        if t.unvalued and t.sent:
            value = f"{value} (+{t.unvalued} not valued)" if value else "unknown"
        table.add_row(t.asset, _amount(t.sent), _amount(t.received), _amount(t.fees), value)
    print_table(console, table)
