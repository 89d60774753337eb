"""What one order came to, built from the order and its last send.

Kept apart from the order job so the job reads as "send, then act on the answer", and so every
outcome of an order (filled, not filled, crashed) is built in one place with the same fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dustsweep.core.routes import Route
from dustsweep.run.outcome import ActionOutcome, Status
from dustsweep.sell.steps import answered_outcome
from dustsweep.storage.records import LedgerError

if TYPE_CHECKING:
    from dustsweep.core.models import OrderResult
    from dustsweep.core.plan import PlannedOrder
    from dustsweep.sell.steps import Attempt


def filled_outcome(attempt: Attempt, result: OrderResult, *, followup: bool) -> ActionOutcome:
    """The exchange gave a final answer: what it filled, received and charged."""
    order = attempt.order
    return answered_outcome(
        result,
        asset=order.asset,
        amount=order.qty,
        client_id=attempt.client_id,
        received_asset=order.quote_asset,
        record_id=attempt.record_id,
        residual=order.residual + (order.qty - result.filled_qty),
        followup=followup,
    )


def unfilled_outcome(
    order: PlannedOrder,
    status: Status,
    error: str,
    attempt: Attempt | None = None,
    result: OrderResult | None = None,
    *,
    followup: bool,
) -> ActionOutcome:
    """Nothing filled for sure (skipped, rejected, or unknown): the whole quantity stays."""
    return ActionOutcome(
        route=Route.SELL,
        asset=order.asset,
        market=order.symbol,
        amount=order.qty,
        status=status,
        client_id=attempt.client_id if attempt else None,
        residual=order.residual + order.qty,
        error=error,
        received_asset=order.quote_asset,
        exchange_id=result.order_id if result else None,
        followup=followup,
        record_id=attempt.record_id if attempt else None,
    )


def crashed_outcome(
    order: PlannedOrder, attempt: Attempt | None, exc: Exception, *, followup: bool
) -> ActionOutcome:
    """A bug (or a history that cannot record) ended the job: unknown once a send was opened,
    since it may have gone out; its record stays pending for the next run."""
    return ActionOutcome(
        route=Route.SELL,
        asset=order.asset,
        market=attempt.order.symbol if attempt else order.symbol,
        amount=attempt.order.qty if attempt else order.qty,
        status=Status.UNKNOWN if attempt else Status.SKIPPED,
        client_id=attempt.client_id if attempt else None,
        residual=order.residual + order.qty,
        error=(str(exc) if isinstance(exc, LedgerError) else f"internal error: {exc}")
        + ("; its ledger record stays pending for the next run" if attempt else ""),
        received_asset=order.quote_asset,
        followup=followup,
        record_id=attempt.record_id if attempt else None,
    )
