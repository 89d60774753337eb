"""One planned sell, from the pending ledger record to its final outcome.

The rules, in the order they apply:
- the ledger record (status ``pending``, with the client id) is written BEFORE the order is
  sent, and updated after, so a crash in between leaves something to reconcile;
- an unknown outcome (no answer, 5xx, a lost response, a duplicate id) is settled by asking the
  exchange for that client id; the order is re-sent (once, under a new id and record) only when
  it is confirmed never placed, otherwise it stays ``unknown`` and its record ``pending``;
- a refusal is reacted to once per cause: stale rules (refresh once per run, re-plan, retry),
  a halted market (re-plan on another), a balance that changed (read it, re-plan);
- a rate limit is waited out and checked; a timestamp rejection re-measures the clock; a ban
  stops the run.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from dustsweep.core.models import ZERO, MarketRules, OrderResult
from dustsweep.core.plan import PlannedOrder, replan_asset
from dustsweep.errors import (
    Banned,
    BanRefused,
    ClockSkew,
    ExchangeError,
    NetworkError,
    OrderRejected,
    RateLimited,
    ServerError,
)
from dustsweep.run.outcome import ActionOutcome, Status
from dustsweep.sell.outcomes import crashed_outcome, filled_outcome, unfilled_outcome
from dustsweep.sell.reconcile import (
    DEFAULT_RATE_WAIT_S,
    OrderLookup,
    record_final,
)
from dustsweep.sell.refusal import react
from dustsweep.sell.shared import Baseline
from dustsweep.sell.steps import (
    Attempt,
    NeverPlaced,
    NotSent,
    Placed,
    Refused,
    Retries,
    Sent,
    Tries,
    Unknown,
)
from dustsweep.storage.records import LedgerError, RecordStatus

if TYPE_CHECKING:
    from collections.abc import Mapping
    from decimal import Decimal

    from dustsweep.sell.shared import RunState

logger = logging.getLogger(__name__)

MAX_RATE_RETRIES = 3  # 429s in a row for one order before it is skipped
MAX_SENDS = 6  # sends of one planned order in all (re-plans and one re-send included)


class OrderJob:
    """Runs one planned order to its outcome. One job per order; jobs run concurrently."""

    def __init__(
        self,
        state: RunState,
        order: PlannedOrder,
        *,
        quotes: tuple[str, ...] | None,
        followup: bool = False,
    ) -> None:
        self.state = state
        self.ctx = state.ctx
        self.order = order
        self.quotes = quotes
        self.followup = followup
        self.attempt: Attempt | None = None  # the latest send, for crash reports
        self.latest = order  # the latest version of the order (re-plans change it)
        self.baseline = Baseline(ZERO, clean=True, moves=0)  # of the current send
        self.retries = Retries()  # of the current send
        self.outcome: ActionOutcome | None = None  # once run
        self.lookup = OrderLookup(
            self.ctx.exchange,
            self.ctx.sleep,
            on_banned=state.ban,
            fix_clock=state.fix_clock,
            max_rate_wait_s=self.ctx.max_rate_wait_s,
        )

    # -- the loop ------------------------------------------------------------------------

    def run(self) -> ActionOutcome:
        """Send until there is an outcome; it is returned and kept on ``self.outcome``.

        This loop is the only place the job calls the exchange: every decision before a send
        (``_next``, ``_may_send``) and after it (``_on_error``, ``_await_final``, ``_sent``)
        returns here, so an order's path from the command to the SDK stays short (issue 10: at
        most 8 project frames). A bug in one order must not lose the other orders' outcomes:
        it becomes this order's outcome (``_crashed``).
        """
        tries = Tries()
        try:
            step = self._next(self._with_fresh_rules(self.order), tries)
            while isinstance(step, Attempt):
                attempt, order = step, step.order
                sent = self._may_send()
                if sent is None:
                    try:
                        result = self.ctx.exchange.market_sell(
                            order.symbol, order.qty, attempt.client_id
                        )
                    except ExchangeError as err:
                        sent = self._on_error(attempt, err, self.baseline, self.retries)
                        if sent is None:
                            continue  # the same order, under the same id, once more
                    except ValueError as err:  # the adapter refused the input before sending
                        sent = NotSent(str(err))
                    else:
                        final = result.final
                        sent = Placed(result) if final else self._await_final(attempt, result)
                step = self._next(self._sent(attempt, sent, tries), tries)
        except Exception as exc:
            step = self._crashed(exc)
        self.outcome = step
        return step

    def _crashed(self, exc: Exception) -> ActionOutcome:
        order, attempt = self.order, self.attempt
        if isinstance(exc, LedgerError):
            # The history cannot record: no further order may go out (each is recorded
            # before it is sent), and the one line says why, without a traceback.
            self.state.stop(str(exc))
            logger.warning("%s: %s", self.ctx.account, exc)
        else:
            logger.exception("order for %s failed unexpectedly", order.asset)
        return crashed_outcome(order, attempt, exc, followup=self.followup)

    def _next(
        self, current: PlannedOrder | ActionOutcome | str, tries: Tries
    ) -> Attempt | ActionOutcome:
        """The next attempt to send (its record written, its assets marked in flight), or the
        job's outcome."""
        if isinstance(current, ActionOutcome):
            return current
        if isinstance(current, str):
            return self.unfilled(self.latest, Status.SKIPPED, current, self.attempt)
        self.latest = current
        stopped = self.state.stopped
        if stopped is not None:
            return self.unfilled(current, Status.SKIPPED, stopped, self.attempt)
        if tries.sends >= MAX_SENDS:
            return self.unfilled(current, Status.SKIPPED, "gave up after too many attempts")
        tries.sends += 1
        attempt = self._open(current)
        # The sold asset and the quote are marked "in flight" in the balance book until the
        # send is settled; an unknown outcome (or an interrupt) leaves them so for the rest of
        # the run (see BalanceBook).
        self.baseline = self.state.balances.baseline(current.asset)
        self.retries = Retries()
        self.state.balances.begin(current.asset, current.quote_asset)
        return attempt

    def _may_send(self) -> Sent | None:
        """None once this send may go out: the run is not stopped, a rate-limit hold and the
        order pacing are waited out."""
        stopped = self.state.stopped
        if stopped is not None:
            return NotSent(stopped)
        self.state.gate.wait()
        if self.state.pacer is not None:
            self.state.pacer.wait_turn()
        return None

    def _sent(
        self, attempt: Attempt, sent: Sent, tries: Tries
    ) -> PlannedOrder | ActionOutcome | str:
        """The send is settled: release its assets in the balance book (unless its outcome is
        unknown) and record what it came to."""
        if not isinstance(sent, Unknown):
            moved = isinstance(sent, Placed) and sent.result.filled_qty > 0
            self.state.balances.done(attempt.order.asset, attempt.order.quote_asset, moved=moved)
        return self._handle(attempt, sent, tries)

    def _with_fresh_rules(self, order: PlannedOrder) -> PlannedOrder | str:
        """Re-plan before sending when another order of this run refreshed this market's rules."""
        markets = self.state.markets
        if markets.get(order.symbol) == self.ctx.snapshot.markets.get(order.symbol):
            return order
        return self.replan(order, markets=markets)

    def _open(self, order: PlannedOrder) -> Attempt:
        """Choose the client id and write the pending record, before anything is sent."""
        client_id = self.state.ids.next(order.asset)
        record_id = self.ctx.ledger.add(
            run_id=self.ctx.run_id,
            exchange=self.ctx.exchange_name,
            account=self.ctx.account,
            kind="order",
            asset=order.asset,
            qty=order.qty,
            status=RecordStatus.PENDING,
            received_asset=order.quote_asset,
            price=order.price,
            market=order.symbol,
            client_id=client_id,
        )
        self.attempt = Attempt(order, client_id, record_id)
        return self.attempt

    def _handle(
        self, attempt: Attempt, sent: Sent, tries: Tries
    ) -> PlannedOrder | ActionOutcome | str:
        """Record what the send came to; the next order to send, or the outcome."""
        ledger = self.ctx.ledger
        if isinstance(sent, Placed):
            record_final(ledger, attempt.record_id, sent.result)
            return filled_outcome(attempt, sent.result, followup=self.followup)
        if isinstance(sent, Unknown):
            order_id = sent.result.order_id if sent.result else None
            ledger.update(attempt.record_id, order_id=order_id, error=sent.reason)  # stays pending
            return self.unfilled(attempt.order, Status.UNKNOWN, sent.reason, attempt, sent.result)
        if isinstance(sent, NotSent):
            ledger.update(attempt.record_id, status=RecordStatus.FAILED, error=sent.reason)
            return self.unfilled(attempt.order, Status.SKIPPED, sent.reason, attempt)
        if isinstance(sent, NeverPlaced):
            ledger.update(attempt.record_id, status=RecordStatus.FAILED, error=sent.reason)
            if tries.resent:
                return self.unfilled(attempt.order, Status.SKIPPED, sent.reason, attempt)
            tries.resent = True
            logger.info("%s never reached the exchange; sending it once more", attempt.client_id)
            return attempt.order
        ledger.update(attempt.record_id, status=RecordStatus.REJECTED, error=str(sent.error))
        return react(self, attempt, sent, tries)

    # -- sending -------------------------------------------------------------------------

    def _on_error(
        self, attempt: Attempt, err: ExchangeError, baseline: Baseline, retries: Retries
    ) -> Sent | None:
        """What a failed send means; None: send the same order (same id) again."""
        if isinstance(err, RateLimited):
            retries.rate_limits += 1
            return self._after_rate_limit(attempt, err, retries.rate_limits, baseline)
        if isinstance(err, ClockSkew):
            problem = "the clock is still rejected" if retries.clock else self.state.fix_clock()
            retries.clock = True
            return None if problem is None else NotSent(f"{err}; {problem}")
        if isinstance(err, BanRefused):  # refused before sending: nothing can have executed
            return NotSent(self.state.ban(err))
        if isinstance(err, Banned):
            # The ban may have been answered after the order executed: unknown, left pending
            # for the next run to settle (nothing is asked while banned).
            stopped = self.state.ban(err)
            return Unknown(f"{stopped}; whether this order executed is not known yet")
        if isinstance(err, (NetworkError, ServerError)):
            return self._settle(attempt, str(err), baseline)
        if isinstance(err, OrderRejected):
            if err.kind == "duplicate":  # that id is already known: it went through
                return self._settle(attempt, str(err), baseline)
            return Refused(err, err.kind)
        return Refused(err, "other")

    def _after_rate_limit(
        self, attempt: Attempt, err: RateLimited, count: int, baseline: Baseline
    ) -> Sent | None:
        """Wait as asked, then check the order did not go through after all (None: resend).

        The same id goes out again only once the exchange has said it never saw it, the way a
        lost answer is settled (asked over the reconcile window, then the balance): Binance
        refuses a duplicate ``newClientOrderId`` only among OPEN orders, so a market order that
        filled before the 429 would execute a second time under the same id. A -2013 right
        after a send proves nothing (Binance shows new orders with a lag)."""
        wait = err.retry_after if err.retry_after is not None else DEFAULT_RATE_WAIT_S
        name = self.ctx.exchange_name
        if wait > self.ctx.max_rate_wait_s:
            return NotSent(f"rate limited by {name} for {wait:g} s; try again later")
        if count > MAX_RATE_RETRIES:
            return NotSent(f"still rate limited by {name} after {MAX_RATE_RETRIES} waits")
        logger.info("rate limited; waiting %.1f s before checking %s", wait, attempt.client_id)
        self.state.gate.hold(wait)  # the other workers wait too
        self.ctx.sleep(wait)
        settled = self._settle(attempt, str(err), baseline)
        if isinstance(settled, NeverPlaced):
            return None  # the exchange says it never saw it: the same id may go again
        return settled

    def _await_final(self, attempt: Attempt, result: OrderResult) -> Sent:
        """Accepted but not final yet (Bybit answers with ids only): read it back."""
        found = self.lookup.poll(attempt.order.symbol, attempt.client_id, self._window())
        latest = found.order or result
        if latest.final:
            return Placed(latest)
        return Unknown(
            f"order {attempt.client_id} was accepted but is still {latest.status}", latest
        )

    def _settle(self, attempt: Attempt, reason: str, baseline: Baseline) -> Sent:
        """The outcome is unknown: ask for the client id, then look at the balance."""
        order = attempt.order
        logger.info("%s: outcome unknown (%s); asking the exchange", attempt.client_id, reason)
        found = self.lookup.poll(order.symbol, attempt.client_id, self._window())
        if found.order is not None:
            if found.order.final:
                return Placed(found.order)
            return Unknown(f"{reason}; the order is still {found.order.status}", found.order)
        if found.stopped is not None:
            return Unknown(f"{reason}; {found.stopped}")
        if not found.not_found:
            return Unknown(f"{reason}; the exchange could not be asked ({found.error})")
        asked = (
            f"{self.ctx.exchange_name} did not know order {attempt.client_id} "
            f"for {found.waited_s:.1f} s"
        )
        try:
            free, trusted = self.state.balances.check(
                self.ctx.exchange.fetch_balances, order.asset, baseline
            )
        except ExchangeError as err:
            return Unknown(f"{reason}; {asked}, and balances could not be read: {err}")
        if not trusted:
            return Unknown(
                f"{reason}; {asked}, but other orders of this run moved {order.asset} "
                "meanwhile, so its balance proves nothing; left pending for the next run"
            )
        if free < baseline.free:
            return Unknown(
                f"{reason}; {asked}, but the free {order.asset} fell from "
                f"{format(baseline.free, 'f')} to {format(free, 'f')}; left pending"
            )
        return NeverPlaced(
            f"{reason}; never placed: {asked} and the free {order.asset} did not fall"
        )

    def _window(self) -> float:
        return max(self.ctx.reconcile_window_s, 0.0)

    # -- re-planning (a refusal's reactions: sell.refusal) -----------------------------

    def replan(
        self,
        order: PlannedOrder,
        *,
        markets: Mapping[str, MarketRules] | None = None,
        free: Decimal | None = None,
        tries: Tries | None = None,
    ) -> PlannedOrder | str:
        """The order planned again from this run's view of the account (after a refusal, or
        rules another order refreshed), or why the asset cannot be sold now."""
        return replan_asset(
            order,
            self.state.snapshot(),
            self.ctx.policy,
            markets=self.state.markets if markets is None else markets,
            free=free,
            exclude=tuple(tries.excluded) if tries else (),
            quotes=self.quotes,
        )

    # -- outcomes (sell.outcomes) ----------------------------------------------------------

    def unfilled(
        self,
        order: PlannedOrder,
        status: Status,
        error: str,
        attempt: Attempt | None = None,
        result: OrderResult | None = None,
    ) -> ActionOutcome:
        """The outcome of an order that did not fill for sure (skipped, rejected, unknown)."""
        return unfilled_outcome(order, status, error, attempt, result, followup=self.followup)
