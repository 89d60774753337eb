"""The local history (the ledger's records) as a table."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dustsweep.render.common import dec
from dustsweep.render.width import print_table

if TYPE_CHECKING:
    from rich.console import Console


def print_history(console: Console, records: Sequence[Any]) -> None:
    """The local history as a table, oldest first."""
    from rich.table import Table

    if not records:
        console.print("No history yet: nothing has been sold or converted.")
        return
    table = Table(title="History", title_justify="left")
    for column in ("Time", "Account", "Kind", "Sold", "Received (net)", "Fee", "Status", "Id"):
        table.add_column(column)
    for r in records:
        table.add_row(
            str(r.time),
            f"{r.account} ({r.exchange})",
            r.kind,
            f"{dec(r.qty) or ''} {r.asset}",
            f"{dec(net_received(r)) or ''} {r.received_asset or ''}".strip(),
            f"{dec(r.fee) or ''} {r.fee_asset or ''}".strip(),
            r.status + (f": {r.error}" if getattr(r, "error", None) else ""),
            r.client_id or r.order_id or "",
        )
    print_table(console, table, wrap={"Status"}, drop=("Id", "Kind", "Fee"))


def net_received(record: Any) -> Decimal | None:
    """What arrived: the history keeps the gross amount and the fee apart (as the exports
    need them); the tables of every command show what was received net of a fee charged in
    the received asset."""
    gross: Decimal | None = record.received_qty
    if gross is not None and record.fee and record.fee_asset == record.received_asset:
        return gross - Decimal(record.fee)
    return gross
