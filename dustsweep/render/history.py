"""The local history (the ledger's records) as a table."""

from __future__ import annotations

from collections.abc import Sequence
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
    print_table(console, table, wrap={"Status"})
