"""What one send of an order can come to, and the bookkeeping of one order's attempts.

Kept as plain data so the order job's control flow reads as "send, then act on the answer".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dustsweep.core.models import Route
from dustsweep.run.outcome import ZERO, ActionOutcome, Status

if TYPE_CHECKING:
    from decimal import Decimal

    from dustsweep.core.models import OrderResult
    from dustsweep.core.plan import PlannedOrder
    from dustsweep.errors import ExchangeError


# What one send came to. Only ``Placed`` moved money for sure.
@dataclass(frozen=True, slots=True)
class Placed:
    result: OrderResult


@dataclass(frozen=True, slots=True)
class Refused:
    """The exchange refused it: nothing executed."""

    error: ExchangeError
    kind: str


@dataclass(frozen=True, slots=True)
class NotSent:
    """Not sent, or answered before processing (429, clock, ban): nothing executed."""

    reason: str


@dataclass(frozen=True, slots=True)
class NeverPlaced:
    """The outcome was unknown, and is now confirmed: the exchange never got it."""

    reason: str


@dataclass(frozen=True, slots=True)
class Unknown:
    """It may have executed; the record stays pending for the next run."""

    reason: str
    result: OrderResult | None = None


Sent = Placed | Refused | NotSent | NeverPlaced | Unknown


@dataclass
class Tries:
    """What has been tried for one planned order, so each reaction happens at most once."""

    filter_retry: bool = False
    insufficient_retry: bool = False
    resent: bool = False
    sends: int = 0
    excluded: set[str] = field(default_factory=set)


@dataclass
class Retries:
    """Re-sends of the same order under the same id, after answers that executed nothing."""

    rate_limits: int = 0
    clock: bool = False


@dataclass(frozen=True, slots=True)
class Attempt:
    """One send: the order as sent, its client id and its ledger record."""

    order: PlannedOrder
    client_id: str
    record_id: int


# What an exchange's final answer to an order means, wherever it is read (a send, a lookup,
# the settling of a pending record).


def outcome_status(result: OrderResult) -> Status:
    """An exchange order status as an outcome status (cancelled with nothing done: rejected)."""
    if result.status == "filled":
        return Status.FILLED
    if result.status == "partially_filled" or result.filled_qty > 0:
        return Status.PARTIALLY_FILLED
    return Status.REJECTED


def final_error(result: OrderResult) -> str | None:
    """Plain words for an order the exchange did not fill wholly (None: it did)."""
    if result.status == "filled":
        return None
    if result.filled_qty > 0:
        return f"only {format(result.filled_qty, 'f')} filled (not enough liquidity)"
    return f"{result.status} by the exchange with nothing executed"


def answered_outcome(
    result: OrderResult,
    *,
    asset: str,
    amount: Decimal,
    client_id: str | None,
    received_asset: str | None,
    record_id: int | None,
    residual: Decimal = ZERO,
    followup: bool = False,
) -> ActionOutcome:
    """A sale the exchange answered for good, whether the answer came to the send or to a
    later lookup of a pending record: what it filled, received and charged."""
    return ActionOutcome(
        route=Route.SELL,
        asset=asset,
        market=result.symbol,
        amount=amount,
        status=outcome_status(result),
        client_id=client_id,
        filled_qty=result.filled_qty,
        proceeds=result.quote_qty,
        fee=result.fee,
        fee_asset=result.fee_asset,
        error=final_error(result),
        received_asset=received_asset,
        exchange_id=result.order_id,
        followup=followup,
        record_id=record_id,
        residual=residual,
    )
