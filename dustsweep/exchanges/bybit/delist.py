"""Bybit delisting announcements and the ``bnb_fees`` doctor line, for the Bybit adapter.

Bybit publishes no machine-readable delisting schedule. ``GET /v5/announcements/index``
(public; ``locale`` required, ``type=delistings``, ``limit`` at most 50) is the closest source:
coins appear only in titles and texts, so the core warns about a held coin named in a title
and never sells on that basis.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dustsweep.core.models import Announcement
from dustsweep.exchanges.bybit import parse
from dustsweep.exchanges.bybit.errors import Wire

ACTION = "read delisting announcements (GET /v5/announcements/index)"
PAGE_SIZE = 50  # the endpoint's maximum: one page covers weeks of delistings

BNB_FEES_NOTE = (
    "Bybit has no pay-fees-in-another-coin setting: a spot buy pays its fee in the coin "
    "bought (a sell in the quote), so buys can still leave a remainder below the lot step; "
    "sweep cleans it up"
)


def fetch_announcements(wire: Wire) -> list[Announcement]:
    """The latest delisting announcements (newest first, as Bybit lists them)."""
    envelope = wire.call(
        "get_announcement", ACTION, locale="en-US", type="delistings", limit=PAGE_SIZE
    )
    with wire.reading(ACTION):
        rows = parse.result_of(envelope).get("list") or []
        return [_announcement(row) for row in rows if isinstance(row, Mapping)]


def _announcement(row: Mapping[str, Any]) -> Announcement:
    """``title``, ``url`` and ``dateTimestamp`` (ms; some answers use ``publishTime``)."""
    when = row.get("dateTimestamp") or row.get("publishTime") or 0
    return Announcement(title=str(row["title"]), url=str(row.get("url") or ""), time_ms=int(when))
