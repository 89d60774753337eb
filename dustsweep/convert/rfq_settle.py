"""Settling a Binance Convert (RFQ) quote whose outcome was not known when it was sent: from the
order's state, or, once the quote's validity has passed, from the balance.

Shared by the quote job (``convert.rfq``) and the settling of pending records of earlier runs
(``convert.settle``), so both record a Convert outcome the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dustsweep.core.models import ZERO
from dustsweep.core.routes import Route
from dustsweep.errors import ExchangeError
from dustsweep.run.outcome import ActionOutcome, Status
from dustsweep.storage.records import RecordStatus

if TYPE_CHECKING:
    from decimal import Decimal

    from dustsweep.convert.caps import ConvertOrderLike
    from dustsweep.convert.types import ConversionContext


def quote_line(
    asset: str,
    amount: Decimal,
    target: str,
    status: Status,
    *,
    received: Decimal | None = ZERO,
    error: str | None = None,
    quote_id: str | None = None,
    order_id: str | None = None,
    record_id: int | None = None,
) -> ActionOutcome:
    """One asset's outcome on the Convert route (no fee beyond the quoted rate; the quote id
    is the id the history knows it by)."""
    return ActionOutcome(
        asset=asset,
        route=Route.CONVERT,
        amount=amount,
        status=status,
        received_asset=target,
        received=received,
        fee=ZERO,
        fee_asset=target,
        error=error,
        client_id=quote_id,
        exchange_id=order_id,
        record_id=record_id,
    )


def settle_order(
    ctx: ConversionContext,
    asset: str,
    target: str,
    record_id: int,
    order: ConvertOrderLike,
    *,
    quote_id: str | None,
    from_amount: Decimal,
    to_amount: Decimal | None,
) -> ActionOutcome:
    """Record a Convert order's state: SUCCESS converted (no fee beyond the quoted rate), FAIL
    failed, anything else stays pending for the next run. The quote's amounts stand in for
    amounts the order answer leaves out (a quote is firm)."""
    if order.succeeded:
        amount = order.from_amount if order.from_amount is not None else from_amount
        received = order.to_amount if order.to_amount is not None else to_amount
        ctx.ledger.update(
            record_id,
            status=RecordStatus.CONVERTED,
            qty=amount,
            received_qty=received,
            fee=ZERO,
            fee_asset=target,
            order_id=order.order_id,
            error=None,
        )
        return quote_line(
            asset,
            amount,
            target,
            Status.CONVERTED,
            received=received,
            quote_id=quote_id,
            order_id=order.order_id,
            record_id=record_id,
        )
    if order.final:
        status, error = Status.FAILED, f"Convert order {order.order_id} ended {order.status}"
        ctx.ledger.update(record_id, status=RecordStatus.FAILED, error=error)
    else:
        status = Status.UNKNOWN
        error = f"Convert order {order.order_id} still {order.status}: the next run settles it"
        ctx.ledger.update(record_id, error=error)
    return quote_line(
        asset,
        from_amount,
        target,
        status,
        error=error,
        quote_id=quote_id,
        order_id=order.order_id,
        record_id=record_id,
    )


def settle_by_balance(
    ctx: ConversionContext,
    asset: str,
    target: str,
    quote_id: str,
    record_id: int,
    amount: Decimal,
    err: ExchangeError | None,
) -> ActionOutcome:
    """After the quote's validity: a free balance below the quoted amount means it was
    accepted (amounts received unknown without the order); otherwise it never was."""
    try:
        free = {b.asset: b.free for b in ctx.exchange.fetch_balances()}.get(asset, ZERO)
    except ExchangeError as lookup:
        error = f"outcome unknown ({err or 'no answer'}); balance unreadable: {lookup}"
        ctx.ledger.update(record_id, error=error)
        return quote_line(
            asset,
            amount,
            target,
            Status.UNKNOWN,
            error=error,
            quote_id=quote_id,
            record_id=record_id,
        )
    if free < amount:
        ctx.ledger.update(
            record_id,
            status=RecordStatus.CONVERTED,
            fee=ZERO,
            fee_asset=target,
            error="accepted (the balance moved); amounts not reported by the exchange",
        )
        return quote_line(
            asset,
            amount,
            target,
            Status.CONVERTED,
            received=None,
            quote_id=quote_id,
            record_id=record_id,
        )
    error = f"not converted: quote {quote_id} expired unaccepted (the balance is intact)"
    ctx.ledger.update(record_id, status=RecordStatus.FAILED, error=error)
    return quote_line(
        asset, amount, target, Status.FAILED, error=error, quote_id=quote_id, record_id=record_id
    )
