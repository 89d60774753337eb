"""What became of one action (an order or a conversion): one status vocabulary for every route.

A ``StrEnum``, so JSON documents and the history keep exactly the words they always had.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """An action's outcome. ``planned``: a dry run; ``unknown``: it may have happened (the
    ledger record stays pending and the next run settles it before planning anything new)."""

    PLANNED = "planned"
    FILLED = "filled"  # an order, wholly
    PARTIALLY_FILLED = "partially_filled"
    CONVERTED = "converted"
    REJECTED = "rejected"  # the exchange refused an order
    FAILED = "failed"  # the exchange refused or did not convert
    SKIPPED = "skipped"  # not attempted (not eligible, cool-down, an earlier one unresolved)
    UNKNOWN = "unknown"


ORDER_STATUSES = frozenset(
    {
        Status.PLANNED,
        Status.FILLED,
        Status.PARTIALLY_FILLED,
        Status.REJECTED,
        Status.SKIPPED,
        Status.UNKNOWN,
    }
)
CONVERSION_STATUSES = frozenset(
    {Status.PLANNED, Status.CONVERTED, Status.FAILED, Status.SKIPPED, Status.UNKNOWN}
)
EXECUTED = frozenset({Status.FILLED, Status.PARTIALLY_FILLED, Status.CONVERTED})
