"""What became of one action (an order or a conversion): one status vocabulary and one outcome
type for every route.

A ``StrEnum``, so JSON documents and the history keep exactly the words they always had.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal(0)


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


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """What became of one action (a sale or a conversion of one asset), whatever its route.

    The common fields: ``amount`` of ``asset`` was given up (asked, for an order); what arrives
    is in ``received_asset`` (a conversion's target, an order's quote asset); ``fee`` is in
    ``fee_asset``. A conversion reports ``received`` net of the fee (None: it happened but the
    exchange did not say how much); an order reports its gross ``proceeds`` (``net_proceeds``
    takes off a fee charged in the quote asset); ``error`` is plain words for anything not done
    (or done only in part); ``client_id`` is the id the history knows the action by and
    ``exchange_id`` the exchange's own (order id, transfer or quote id); ``record_id`` the
    history record. Route-specific fields: an order's ``market``, ``filled_qty``, gross
    ``proceeds``, ``residual`` and ``followup`` (a sale of an intermediate quote the run
    itself received); a conversion's ``cooldown`` (skipped because the cool-down was running).
    Each route keeps its own words as read-only aliases (``qty``, ``client_order_id``,
    ``quote_asset``, ``order_id`` for orders; ``target``, ``transfer_id`` for conversions), so
    renderers and JSON documents read exactly what they always did.
    """

    asset: str
    route: str  # a core.routes.Route: "sell", "native" or "convert"
    amount: Decimal
    status: Status  # an order: one of ORDER_STATUSES; a conversion: CONVERSION_STATUSES
    received_asset: str | None = None
    received: Decimal | None = ZERO
    fee: Decimal | None = ZERO
    fee_asset: str | None = None
    error: str | None = None
    client_id: str | None = None
    exchange_id: str | None = None
    record_id: int | None = None
    market: str = ""
    filled_qty: Decimal = ZERO
    proceeds: Decimal = ZERO
    residual: Decimal = ZERO
    followup: bool = False
    cooldown: bool = False

    @property
    def executed(self) -> bool:
        """Money moved: an order filled (some or all of it) or a conversion happened."""
        return self.status in EXECUTED

    @property
    def net_proceeds(self) -> Decimal:
        """An order's quote received after a fee charged in the quote asset."""
        fee, fee_asset = self.fee, self.fee_asset
        if fee is not None and fee_asset is not None and fee_asset == self.received_asset:
            return self.proceeds - fee
        return self.proceeds

    # -- each route's own words for the common fields ----------------------------------

    @property
    def qty(self) -> Decimal:
        return self.amount

    @property
    def client_order_id(self) -> str | None:
        return self.client_id

    @property
    def quote_asset(self) -> str | None:
        return self.received_asset

    @property
    def order_id(self) -> str | None:
        return self.exchange_id

    @property
    def target(self) -> str:
        return self.received_asset or ""

    @property
    def transfer_id(self) -> str | None:
        return self.exchange_id
