"""What the concurrent orders of one run share: rules, balances, the clock fix and the ban.

Every piece here is decided once per run and seen by every worker: rules are refreshed at most
once (and the fresh ones serve every later re-plan), the clock is re-measured at most once, and
a ban stops every worker before its next request.

The balance book also answers the question the executor must not get wrong: "did this order
reach the exchange?" when the exchange cannot find it. A free balance that did not fall is the
evidence, but only if nothing else in this run could have credited that asset meanwhile (an
ADA->BTC sale raises BTC while a BTC sale lowers it). Every order therefore announces the quote
it may credit and the asset it sells; a baseline taken while such an order was in flight, or
followed by another one, is not trusted.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from dustsweep.core.models import ZERO, Balance, MarketRules, Snapshot
from dustsweep.errors import Banned, ExchangeError
from dustsweep.run.ids import ClientIds

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from decimal import Decimal

    from dustsweep.sell.types import ExecutionContext, SellResult

logger = logging.getLogger(__name__)

_MS_TIMESTAMP = re.compile(r"\b(1\d{12})\b")  # "IP banned until 1700000000000."


@dataclass(frozen=True, slots=True)
class Baseline:
    """The free amount of one asset as last read, and whether it can serve as evidence."""

    free: Decimal
    clean: bool  # no order touching this asset was in flight while it was read
    moves: int  # orders touching this asset started (and not undone) before it was read


class BalanceBook:
    """Free balances as this run last read them, and the orders in flight around each read.

    Every send "touches" two assets: the one sold and the quote it may credit. ``begin`` counts
    it; ``done`` either confirms the move (it executed) or undoes the count (it surely did
    nothing). An order whose outcome stays unknown is never done: its assets stay untrusted.
    """

    def __init__(self, balances: Iterable[Balance]) -> None:
        self._lock = threading.Lock()
        self._started: dict[str, int] = {}
        self._finished: dict[str, int] = {}
        self._base: dict[str, Baseline] = {
            b.asset: Baseline(b.free, clean=True, moves=0) for b in balances
        }

    def begin(self, *assets: str) -> None:
        """An order touching ``assets`` is about to be sent."""
        with self._lock:
            for asset in assets:
                self._started[asset] = self._started.get(asset, 0) + 1

    def done(self, *assets: str, moved: bool) -> None:
        """That order's outcome is known: it ``moved`` money, or it surely did nothing."""
        with self._lock:
            for asset in assets:
                if moved:
                    self._finished[asset] = self._finished.get(asset, 0) + 1
                else:
                    self._started[asset] = self._started.get(asset, 0) - 1

    def _started_copy(self) -> tuple[dict[str, int], dict[str, int]]:
        with self._lock:
            return dict(self._started), dict(self._finished)

    def read(self, fetch: Callable[[], list[Balance]]) -> list[Balance]:
        """Fetch balances and keep them as the new baselines.

        A baseline is clean when no order touching its asset was in flight from before the
        fetch until after it.
        """
        before_started, before_finished = self._started_copy()
        balances = fetch()
        free = {b.asset: b.free for b in balances}
        with self._lock:
            for asset in set(free) | set(self._base) | set(self._started):
                started = before_started.get(asset, 0)
                clean = (
                    started == before_finished.get(asset, 0)
                    and self._started.get(asset, 0) == started
                )
                self._base[asset] = Baseline(free.get(asset, ZERO), clean, started)
        return balances

    def baseline(self, asset: str) -> Baseline:
        with self._lock:
            return self._base.get(asset, Baseline(ZERO, clean=True, moves=0))

    def check(
        self, fetch: Callable[[], list[Balance]], asset: str, baseline: Baseline
    ) -> tuple[Decimal, bool]:
        """The free ``asset`` now, and whether comparing it with ``baseline`` proves anything.

        It does when the baseline was clean and the only order that touched the asset since is
        the one being checked (its own ``begin``). Baselines are not replaced here.
        """
        balances = fetch()
        free = next((b.free for b in balances if b.asset == asset), ZERO)
        with self._lock:
            trusted = baseline.clean and self._started.get(asset, 0) == baseline.moves + 1
        return free, trusted


class OrderPacer:
    """Spaces order sends so that at most ``limit`` start in any ``window_s`` seconds.

    Each send reserves the earliest free slot and sleeps until it, once: no polling loop, so an
    injected fast ``sleep`` in tests costs nothing.
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        sleep: Callable[[float], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("an order rate needs limit >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self._sleep = sleep
        self._clock = clock
        self._slots: deque[float] = deque()
        self._lock = threading.Lock()

    def wait_turn(self) -> float:
        """Block until this send may start; returns the wait."""
        with self._lock:
            now = self._clock()
            slot = now
            if len(self._slots) >= self.limit:
                slot = max(now, self._slots[-self.limit] + self.window_s)
            self._slots.append(slot)
            while len(self._slots) > self.limit:
                self._slots.popleft()
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return wait


class RateGate:
    """After a 429 every worker of the run waits out the Retry-After, not only the one that
    was told: the others would each collect their own 429 and risk a ban (418 / 403)."""

    def __init__(self, sleep: Callable[[float], None], clock: Callable[[], float] = time.monotonic):
        self._sleep = sleep
        self._clock = clock
        self._not_before = 0.0
        self._lock = threading.Lock()

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._not_before = max(self._not_before, self._clock() + seconds)

    def wait(self) -> None:
        with self._lock:
            wait = self._not_before - self._clock()
        if wait > 0:
            self._sleep(wait)


class RunState:
    """Shared by the workers of one account's run. Thread-safe."""

    def __init__(self, ctx: ExecutionContext, result: SellResult) -> None:
        self.ctx = ctx
        self.result = result
        self.ids = ClientIds(ctx.run_token)
        self.balances = BalanceBook(ctx.snapshot.balances)
        self._lock = threading.Lock()
        self._markets: Mapping[str, MarketRules] = ctx.snapshot.markets
        self._refresh_lock = threading.Lock()
        self._clock_lock = threading.Lock()
        self._refresh_done = False
        self._refresh_problem: str | None = None
        self._clock_done = False
        self._clock_problem: str | None = None
        self._stop: str | None = None
        # Orders per rolling window, as the adapter declares it (a margin below the exchange's
        # documented limit; None where only unfilled orders count, which market sells are not:
        # pacing them would only slow a run down, and a 429 is still honoured via Retry-After).
        pacing = ctx.exchange.capabilities.order_pacing
        self.pacer = OrderPacer(pacing.orders, pacing.window_s, ctx.sleep) if pacing else None
        self.gate = RateGate(ctx.sleep)

    # -- rules ---------------------------------------------------------------------------

    @property
    def markets(self) -> Mapping[str, MarketRules]:
        with self._lock:
            return self._markets

    def fresh_rules(self) -> Mapping[str, MarketRules] | str:
        """Rules fetched again (once per run; later callers share them) or why they are not.

        A separate lock is held during the fetch on purpose: a second rejected order waits for
        the first one's refresh instead of starting its own, while other workers go on.
        """
        with self._refresh_lock:
            if not self._refresh_done:
                self._refresh_done = True
                try:
                    fresh = dict(self.ctx.refresh_rules())
                except ExchangeError as err:
                    self._refresh_problem = f"market rules could not be refreshed: {err}"
                else:
                    with self._lock:
                        self._markets = fresh
                    self.result.rules_refreshed = True
                    self.result.refreshed_rules = fresh
                    logger.info("%s: market rules refreshed", self.ctx.account)
            if self._refresh_problem is not None:
                return self._refresh_problem
            return self.markets

    # -- clock ---------------------------------------------------------------------------

    def fix_clock(self) -> str | None:
        """Re-measure the clock offset once per run; the problem in words if that failed."""
        with self._clock_lock:
            if not self._clock_done:
                self._clock_done = True
                try:
                    offset = self.ctx.exchange.sync_clock()
                except ExchangeError as err:
                    self._clock_problem = f"the clock could not be synchronised: {err}"
                else:
                    self.result.clock_offset_ms = offset
                    logger.info("%s: clock offset now %d ms", self.ctx.account, offset)
            return self._clock_problem

    # -- stopping ------------------------------------------------------------------------

    @property
    def stopped(self) -> str | None:
        """Why no further order may be sent in this run (a ban, an interrupt), else None."""
        with self._lock:
            return self._stop

    def ban(self, err: Banned) -> str:
        """Stop placing orders at once; the message names the exchange and the end."""
        message = ban_message(self.ctx.exchange_name, err)
        with self._lock:
            if self._stop is None:
                self._stop = message
                self.result.banned = message
                logger.warning("%s: %s", self.ctx.account, message)
            return self._stop

    def stop(self, reason: str) -> None:
        with self._lock:
            if self._stop is None:
                self._stop = reason

    # -- balances ------------------------------------------------------------------------

    def read_balances(self) -> list[Balance]:
        """Balances read again (after "insufficient balance", before the follow-up)."""
        return self.balances.read(self.ctx.exchange.fetch_balances)

    def snapshot(self, balances: Iterable[Balance] | None = None) -> Snapshot:
        """The plan's snapshot with this run's current rules (and balances, when given)."""
        snap = self.ctx.snapshot
        if balances is not None:
            snap = replace(snap, balances=tuple(balances))
        return replace(snap, markets=self.markets)


def ban_message(exchange: str, err: Banned, now: datetime | None = None) -> str:
    """ "IP banned by binance until 2026-11-25 03:10:00 UTC" from Retry-After or the message."""
    moment = now or datetime.now(UTC)
    until: datetime | None = None
    if err.retry_after is not None:
        until = moment + timedelta(seconds=err.retry_after)
    else:
        found = _MS_TIMESTAMP.search(str(err))
        if found:
            until = datetime.fromtimestamp(int(found.group(1)) / 1000, UTC)
    when = until.strftime("%Y-%m-%d %H:%M:%S UTC") if until else "an unknown time"
    return f"IP banned by {exchange} until {when}; no further orders were sent"
