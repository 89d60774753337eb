"""Settle orders whose outcome is unknown: ask the exchange, patiently, before anything else.

"Not found" right after sending proves nothing: Binance has answered -2013 "Order does not
exist." for seconds (once up to a minute) after accepting an order, because its order queries
read a lagging replica, and a request that timed out on our side may still be executing. So a
lookup keeps asking with a growing back-off for the whole reconcile window, and only an
exchange that kept saying "not found" AND a free balance that did not fall make an order
"never placed". Anything less stays "unknown": the ledger record stays pending, and the next
run settles it here (``reconcile_pending``) before it plans anything new.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from dustsweep.core.models import ZERO, OrderResult
from dustsweep.core.routes import Route
from dustsweep.errors import (
    Banned,
    ClockSkew,
    ExchangeError,
    NetworkError,
    RateLimited,
    ServerError,
)
from dustsweep.run.outcome import ActionOutcome, Status
from dustsweep.run.retry import backoff
from dustsweep.sell.shared import ban_message
from dustsweep.sell.steps import answered_outcome, final_error
from dustsweep.storage.records import Record, RecordStatus

if TYPE_CHECKING:
    from collections.abc import Callable

    from dustsweep.exchanges.base import Exchange
    from dustsweep.run.context import RunContext
    from dustsweep.storage.ledger import Ledger

logger = logging.getLogger(__name__)

DEFAULT_RATE_WAIT_S = 1.0  # a 429 without Retry-After
# A pending record this old that the exchange cannot find, while the balance cannot clear it
# either, is closed as failed with advice to check: keeping it would stall every future run.
STALE_PENDING_S = 24 * 3600.0
_PRICE_PLACES = Decimal("0.000000000001")


@dataclass(frozen=True, slots=True)
class Lookup:
    """What asking the exchange about one client id found.

    ``order``: the latest answer that knew the order. ``not_found``: the exchange answered
    "does not exist" on the last answered query (no answer at all is not "not found").
    ``stopped``: a ban message (no further requests may be sent). ``waited_s``: the back-off
    spent.
    """

    order: OrderResult | None
    not_found: bool
    waited_s: float
    error: str | None = None
    stopped: str | None = None


class OrderLookup:
    """Asks ``find_order`` with back-off, riding out rate limits and dropped answers.

    ``on_banned`` turns a ban into its message (and stops the run); ``fix_clock`` re-measures
    the clock after a timestamp rejection (returns a problem or None).
    """

    def __init__(
        self,
        exchange: Exchange,
        sleep: Callable[[float], None],
        *,
        on_banned: Callable[[Banned], str],
        fix_clock: Callable[[], str | None],
        max_rate_wait_s: float = 30.0,
    ) -> None:
        self.exchange = exchange
        self.sleep = sleep
        self.on_banned = on_banned
        self.fix_clock = fix_clock
        self.max_rate_wait_s = max_rate_wait_s

    def poll(self, symbol: str, client_id: str, window_s: float) -> Lookup:
        """Ask until the order is found final, or the window is spent (0: ask once)."""
        waited = 0.0
        latest: OrderResult | None = None
        not_found = False
        error: str | None = None
        for delay in backoff(window_s):
            if delay:
                self.sleep(delay)
                waited += delay
            try:
                found = self.exchange.find_order(symbol, client_id)
            except Banned as err:
                return Lookup(latest, False, waited, str(err), stopped=self.on_banned(err))
            except RateLimited as err:
                wait = min(err.retry_after or DEFAULT_RATE_WAIT_S, self.max_rate_wait_s)
                self.sleep(wait)
                waited += wait
                error = str(err)
                continue
            except ClockSkew as err:
                problem = self.fix_clock()
                error = problem or str(err)
                continue
            except (NetworkError, ServerError) as err:
                error = str(err)  # no answer: neither found nor "not found"
                continue
            except ExchangeError as err:  # refused outright (auth...): asking again won't help
                return Lookup(latest, False, waited, str(err))
            error = None
            not_found = found is None
            if found is not None:
                latest = found
                if found.final:
                    break
        return Lookup(latest, not_found and latest is None, waited, error)


# --------------------------------------------------------------------------- recording


LEDGER_STATUS = {
    "filled": "filled",
    "partially_filled": "partially_filled",
    "cancelled": "cancelled",
    "rejected": "rejected",
}


def average_price(result: OrderResult) -> Decimal | None:
    if result.filled_qty <= 0:
        return None
    return (result.quote_qty / result.filled_qty).quantize(_PRICE_PLACES).normalize()


def record_final(ledger: Ledger, record_id: int, result: OrderResult) -> None:
    """Write a final order into its ledger record: what was executed, received and paid."""
    changes: dict[str, object] = {
        "status": LEDGER_STATUS.get(result.status, "failed"),
        "order_id": result.order_id,
        "received_qty": result.quote_qty,
        "fee": result.fee,
        "fee_asset": result.fee_asset,
        "error": None,
    }
    if result.filled_qty > 0:
        changes["qty"] = result.filled_qty
        changes["price"] = average_price(result)
    else:
        changes["error"] = final_error(result)
    ledger.update(record_id, **changes)


# --------------------------------------------------------------------------- pending records


def reconcile_pending(
    ctx: RunContext, *, now: Callable[[], datetime] | None = None
) -> list[ActionOutcome]:
    """Settle every pending ORDER record of this exchange/account; run it before planning.

    Found final -> the record gets the fill. Not found for the rest of the window (counted
    from when the record was written) while the free balance still covers the quantity ->
    ``failed`` with the reason. Otherwise the record stays pending and the outcome is unknown.
    """
    records = [r for r in ctx.ledger.pending(ctx.exchange_name, ctx.account) if r.kind == "order"]
    if not records:
        return []
    settler = _PendingSettler(ctx, now or (lambda: datetime.now(UTC)))
    return [settler.settle(record) for record in records]


class _PendingSettler:
    def __init__(self, ctx: RunContext, now: Callable[[], datetime]) -> None:
        self.ctx = ctx
        self.now = now
        self.stopped: str | None = None
        self._free: dict[str, Decimal] | None = None
        self.lookup = OrderLookup(
            ctx.exchange, ctx.sleep, on_banned=self._banned, fix_clock=self._fix_clock
        )
        self._clock_tried = False

    def _banned(self, err: Banned) -> str:
        self.stopped = ban_message(self.ctx.exchange_name, err)
        return self.stopped

    def _fix_clock(self) -> str | None:
        if self._clock_tried:
            return "the clock is still rejected after synchronising it"
        self._clock_tried = True
        try:
            self.ctx.exchange.sync_clock()
        except ExchangeError as err:
            return f"the clock could not be synchronised: {err}"
        return None

    def settle(self, record: Record) -> ActionOutcome:
        if self.stopped is not None:
            return _from_record(record, Status.UNKNOWN, self.stopped)
        if not record.market or not record.client_id:
            reason = "no market or client id was recorded, so it cannot be looked up"
            self.ctx.ledger.update(record.id, status=RecordStatus.FAILED, error=reason)
            return _from_record(record, Status.SKIPPED, reason)
        age = self._age_s(record)
        window = max(self.ctx.reconcile_window_s - age, 0.0)
        found = self.lookup.poll(record.market, record.client_id, window)
        if found.order is not None and found.order.final:
            record_final(self.ctx.ledger, record.id, found.order)
            logger.info("settled pending order %s: %s", record.client_id, found.order.status)
            return _from_result(record, found.order)
        if found.order is not None:
            return _from_record(record, Status.UNKNOWN, f"order {record.client_id} is still open")
        if found.stopped is not None or not found.not_found:
            return _from_record(record, Status.UNKNOWN, found.stopped or _no_answer(found))
        return self._not_found(record, age + found.waited_s)

    def _not_found(self, record: Record, asked_s: float) -> ActionOutcome:
        what = (
            f"{self.ctx.exchange_name} does not know order {record.client_id} "
            f"{_seconds(asked_s)} after it was recorded"
        )
        try:
            free = self._balances().get(record.asset, ZERO)
        except ExchangeError as err:
            return _from_record(
                record, Status.UNKNOWN, f"{what}; balances could not be read: {err}"
            )
        qty = record.qty or ZERO
        if free >= qty:
            reason = (
                f"never placed: {what}, and the free {record.asset} "
                f"({format(free, 'f')}) still covers the {format(qty, 'f')} it was for"
            )
        elif asked_s >= STALE_PENDING_S:
            reason = (
                f"not confirmed: {what}, and the free {record.asset} no longer covers "
                f"{format(qty, 'f')}; check the exchange's order history"
            )
        else:
            return _from_record(
                record,
                Status.UNKNOWN,
                f"{what}, but the free {record.asset} ({format(free, 'f')}) no longer covers "
                f"{format(qty, 'f')}; left pending for the next run",
            )
        self.ctx.ledger.update(record.id, status=RecordStatus.FAILED, error=reason)
        return _from_record(record, Status.SKIPPED, reason)

    def _balances(self) -> dict[str, Decimal]:
        if self._free is None:
            self._free = {b.asset: b.free for b in self.ctx.exchange.fetch_balances()}
        return self._free

    def _age_s(self, record: Record) -> float:
        try:
            written = datetime.strptime(record.time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        except ValueError:
            return 0.0  # unreadable: assume it is fresh and wait the whole window
        return max((self.now() - written).total_seconds(), 0.0)


def _no_answer(found: Lookup) -> str:
    return f"no answer from the exchange ({found.error or 'unknown error'})"


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.0f} min"


def _from_record(record: Record, status: Status, error: str) -> ActionOutcome:
    return ActionOutcome(
        route=Route.SELL,
        asset=record.asset,
        market=record.market or "",
        amount=record.qty or ZERO,
        status=status,
        client_id=record.client_id,
        error=error,
        received_asset=record.received_asset,
        exchange_id=record.order_id,
        record_id=record.id,
    )


def _from_result(record: Record, result: OrderResult) -> ActionOutcome:
    return answered_outcome(
        result,
        asset=record.asset,
        amount=record.qty or ZERO,
        client_id=result.client_id,
        received_asset=record.received_asset,
        record_id=record.id,
    )
