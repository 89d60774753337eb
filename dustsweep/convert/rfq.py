"""Run the plan's Convert-quote conversions (request for quote), one asset at a time.

Per asset: get a quote (moves nothing), write the ``pending`` record with the quote id, accept
it within its validity (this moves money and is never re-sent), then poll the order until it is
final: PROCESS and ACCEPT_SUCCESS are not, only SUCCESS or FAIL are. An expired quote is quoted
again once. A lost accept is settled without the order id: a quote can only be accepted while
valid, so once it has expired the free balance tells whether it was (a Convert quote is firm:
when accepted, exactly its amounts moved).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from dustsweep.convert.caps import (
    ConvertOrderLike,
    ConvertQuoteLike,
    RfqConvert,
    rfq,
    rfq_status_by_quote,
)
from dustsweep.convert.evidence import QUOTE_MARGIN_MS
from dustsweep.convert.rfq_settle import quote_line, settle_by_balance, settle_order
from dustsweep.core.routes import Route
from dustsweep.errors import (
    Banned,
    BanRefused,
    ConversionRejected,
    ExchangeError,
    NetworkError,
    RateLimited,
    ServerError,
)
from dustsweep.run.outcome import ActionOutcome, Status
from dustsweep.storage.records import RecordStatus

if TYPE_CHECKING:
    from dustsweep.convert.plan import PlannedConversion
    from dustsweep.convert.types import ConversionContext

logger = logging.getLogger(__name__)

MAX_QUOTES = 2  # the first quote and one more after it expired


def run_converts(
    ctx: ConversionContext, target: str, items: list[PlannedConversion]
) -> tuple[list[ActionOutcome], list[tuple[PlannedConversion, str]]]:
    """Convert ``items`` one by one. Returns their outcomes, and apart the items for which no
    quote could be had at all (nothing was sent) with the reason, so the caller can fall back
    to their runner-up route (e.g. a key without Convert access: the pair list is public)."""
    exchange = rfq(ctx.exchange)
    if not items:
        return [], []
    if exchange is None:
        error = f"{ctx.exchange_name} offers no Convert quotes through dustsweep"
        return [], [(item, error) for item in items]
    lines: list[ActionOutcome] = []
    unquoted: list[tuple[PlannedConversion, str]] = []
    for item in items:
        job = RfqJob(ctx, exchange, target, item)
        line = job.run()
        if job.quotes == 0:
            unquoted.append((item, line.error or "no quote"))
        else:
            lines.append(line)
    return lines, unquoted


class RfqJob:
    """One asset through Convert."""

    def __init__(
        self, ctx: ConversionContext, exchange: RfqConvert, target: str, item: PlannedConversion
    ) -> None:
        self.ctx = ctx
        self.exchange = exchange
        self.target = target
        self.item = item
        self.quotes = 0  # quotes obtained: 0 means nothing was ever sent

    def run(self) -> ActionOutcome:
        last_error = "no quote"
        for _ in range(MAX_QUOTES):
            try:
                quote = self.exchange.convert_quote(self.item.asset, self.target, self.item.amount)
            except ExchangeError as err:
                error = f"no Convert quote: {err}"
                return quote_line(
                    self.item.asset, self.item.amount, self.target, Status.FAILED, error=error
                )
            self.quotes += 1
            record_id = self._open(quote)
            if self.ctx.server_now_ms() >= quote.valid_until_ms:
                last_error = f"quote {quote.quote_id} expired before it could be accepted"
                self.ctx.ledger.update(record_id, status=RecordStatus.FAILED, error=last_error)
                continue
            try:
                order = self.exchange.convert_accept(quote.quote_id)
            except ConversionRejected as err:
                self.ctx.ledger.update(record_id, status=RecordStatus.FAILED, error=str(err))
                if err.kind == "expired":
                    last_error = str(err)
                    continue
                return self._failed(quote, record_id, str(err))
            except (NetworkError, ServerError, RateLimited) as err:
                # No answer, or an error that may have come after the order executed.
                return self._settle_lost_accept(quote, record_id, err)
            except BanRefused as err:  # refused before sending: nothing was accepted
                self.ctx.ledger.update(record_id, status=RecordStatus.FAILED, error=str(err))
                return self._failed(quote, record_id, f"not sent: {err}")
            except Banned as err:
                # It may have executed; a banned caller asks nothing more: the next run settles.
                note = f"outcome unknown ({err}); not asked while banned: the next run settles it"
                self.ctx.ledger.update(record_id, error=note)
                return quote_line(
                    self.item.asset,
                    self.item.amount,
                    self.target,
                    Status.UNKNOWN,
                    received=None,
                    error=note,
                    quote_id=quote.quote_id,
                    record_id=record_id,
                )
            except ExchangeError as err:
                self.ctx.ledger.update(record_id, status=RecordStatus.FAILED, error=str(err))
                return self._failed(quote, record_id, str(err))
            self.ctx.ledger.update(record_id, order_id=order.order_id)
            return self._await(quote, record_id, order)
        error = f"{last_error} (quoted twice)"
        return quote_line(
            self.item.asset, self.item.amount, self.target, Status.FAILED, error=error
        )

    def _open(self, quote: ConvertQuoteLike) -> int:
        return self.ctx.ledger.add(
            run_id=self.ctx.run_id,
            exchange=self.ctx.exchange_name,
            account=self.ctx.account,
            kind="conversion",
            asset=self.item.asset,
            qty=quote.from_amount,
            status=RecordStatus.PENDING,
            received_asset=self.target,
            fee_asset=self.target,
            price=quote.ratio,
            market=Route.CONVERT,
            client_id=quote.quote_id,
            time=self.ctx.server_now(),
        )

    def _await(
        self, quote: ConvertQuoteLike, record_id: int, order: ConvertOrderLike
    ) -> ActionOutcome:
        """Poll orderStatus until SUCCESS or FAIL; not final in time: unknown (pending)."""
        latest = order
        for delay in self.ctx.convert_poll_s:
            if latest.final:
                break
            if delay:
                self.ctx.sleep(delay)
            try:
                latest = self.exchange.convert_status(order.order_id)
            except ExchangeError as err:
                logger.info("Convert order %s status unavailable: %s", order.order_id, err)
        return settle_order(
            self.ctx,
            self.item.asset,
            self.target,
            record_id,
            latest,
            quote_id=quote.quote_id,
            from_amount=quote.from_amount,
            to_amount=quote.to_amount,
        )

    def _settle_lost_accept(
        self, quote: ConvertQuoteLike, record_id: int, err: ExchangeError
    ) -> ActionOutcome:
        """The accept's answer was lost: wait until the quote can no longer be accepted, then
        the balance says whether it was."""
        wait_ms = quote.valid_until_ms + QUOTE_MARGIN_MS - self.ctx.server_now_ms()
        if wait_ms > 0:
            self.ctx.sleep(min(wait_ms / 1000, self.ctx.reconcile_window_s))
        by_quote = rfq_status_by_quote(self.ctx.exchange)
        if by_quote is not None:
            # The exchange knows the order by the quote id: its own answer beats the balance.
            try:
                order = by_quote.convert_status_by_quote(quote.quote_id)
            except ExchangeError as lookup_err:
                logger.info(
                    "Convert status by quote %s unavailable: %s", quote.quote_id, lookup_err
                )
            else:
                if order is not None:
                    self.ctx.ledger.update(record_id, order_id=order.order_id)
                    return self._await(quote, record_id, order)
        return settle_by_balance(
            self.ctx,
            self.item.asset,
            self.target,
            quote.quote_id,
            record_id,
            quote.from_amount,
            err,
        )

    def _failed(self, quote: ConvertQuoteLike, record_id: int, error: str) -> ActionOutcome:
        return quote_line(
            self.item.asset,
            quote.from_amount,
            self.target,
            Status.FAILED,
            error=error,
            quote_id=quote.quote_id,
            record_id=record_id,
        )
