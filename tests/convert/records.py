"""Pending history records the settling tests start from (shared by several test files)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal as D
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.convert.test_execute import Desk


def pending_convert(
    d: Desk,
    sent: datetime,
    client_id: str = "q-answer-lost",
    fee_asset: str | None = "BNB",
) -> int:
    """The pending record of a Convert quote for 2.5 APT -> BNB on "main", sent at ``sent``
    (an accept whose answer never came, or a quote never accepted)."""
    return d.ledger.add(
        exchange="binance",
        account="main",
        kind="conversion",
        asset="APT",
        qty=D("2.5"),
        received_asset="BNB",
        fee_asset=fee_asset,
        market="convert",
        client_id=client_id,
        time=sent,
    )
