"""The sell service: plan every account's sale, then (once confirmed) execute it.

Planning fetches each account concurrently; the run-wide value cap is then applied across
accounts in config order, so ``--max-value`` and ``max_value_per_run`` bound the whole run, not
each account. Execution goes through the executor, the only code that moves money.
"""

from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from dustsweep.errors import DustsweepError
from dustsweep.run.outcome import Status
from dustsweep.run.pool import run_concurrently
from dustsweep.sell.notional import JudgesNotional, NotionalCheck

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from concurrent.futures import Future

    from dustsweep.config.schema import AccountConfig
    from dustsweep.core.classify import AccountReport
    from dustsweep.core.models import Snapshot
    from dustsweep.core.plan import PlannedOrder, SellPlan
    from dustsweep.exchanges.base import Credentials
    from dustsweep.run.outcome import ActionOutcome
    from dustsweep.sell.types import ExecutionContext, SellResult
    from dustsweep.services.app import AccountHandle, App
    from dustsweep.services.runs import ProgressSink
    from dustsweep.storage.ledger import Ledger


@dataclass(frozen=True)
class SellOptions:
    """What the user asked for on the command line (and the config guards)."""

    to_asset: str | None = None
    assets: frozenset[str] = frozenset()
    max_value: Decimal | None = None
    never_sell: frozenset[str] = frozenset()
    followup: bool = True


@dataclass
class AccountSell:
    """One account's sale from plan to result, or the error that stopped it."""

    name: str
    exchange: str
    handle: AccountHandle | None = None
    snapshot: Snapshot | None = None
    report: AccountReport | None = None
    plan: SellPlan | None = None
    reconciled: list[ActionOutcome] = field(default_factory=list)
    result: SellResult | None = None
    error: DustsweepError | None = None
    vet: Callable[[PlannedOrder], PlannedOrder | str] | None = None  # for follow-up orders
    # The follow-up sales the plan is expected to lead to (what its orders receive in other
    # quotes, sold on into the quote): shown and counted with the plan, sized at run time.
    followups: tuple[PlannedOrder, ...] = ()

    @property
    def actions(self) -> int:
        """Orders the run is expected to place: the plan's, then the follow-up sales."""
        return len(self.plan.orders) + len(self.followups) if self.plan else 0


class SellRun:
    """Plans and executes one ``dustsweep sell`` (or the selling half of a sweep)."""

    def __init__(self, app: App, ledger: Ledger, options: SellOptions, *, live: bool) -> None:
        self.app = app
        self.ledger = ledger
        self.options = options
        self.live = live  # may trade: settle pending records and place orders
        self.run_id: int | None = None
        self.progress: ProgressSink | None = None  # a terminal's progress display, if any

    def prepare(self, resolved: Sequence[tuple[AccountConfig, Credentials]]) -> list[AccountSell]:
        """Open every account, settle what an earlier run left pending, snapshot, plan."""
        sells = run_concurrently([partial(self._prepare_one, a, c) for a, c in resolved])
        self._plan_all(sells)
        run_concurrently([partial(self._check_notional, s) for s in sells if s.actions])
        for sell in sells:
            self._expect_followups(sell)
        return sells

    def _expect_followups(self, sell: AccountSell) -> None:
        from dustsweep.core.plan import expected_followups

        if sell.plan is None or sell.snapshot is None or sell.error is not None:
            return
        if not self.options.followup or self.options.to_asset is not None:
            return
        sell.followups = tuple(
            expected_followups(
                sell.plan,
                sell.snapshot,
                self.app.config.policy(),
                never_sell=self.options.never_sell | self._never_sell(sell),
            )
        )

    def _check_notional(self, sell: AccountSell) -> None:
        """Re-check orders near a minimum order value at the price the exchange will judge them
        by, where that is not the ticker price (capability ``notional_price``: e.g. an average
        over some minutes), so an order that breaks NOTIONAL is never sent; re-plan it onto
        another market or skip."""
        handle, plan, snapshot = sell.handle, sell.plan, sell.snapshot
        if handle is None or plan is None or snapshot is None:
            return
        exchange = handle.exchange
        if not exchange.capabilities.notional_price:
            return
        judge = cast(JudgesNotional, exchange)
        checker = NotionalCheck(judge, snapshot, self.app.config.policy(), self._quotes())
        sell.plan = checker.apply(plan)
        sell.vet = checker.check

    def _quotes(self) -> tuple[str, ...] | None:
        return (self.options.to_asset,) if self.options.to_asset else None

    def _prepare_one(self, account: AccountConfig, creds: Credentials) -> AccountSell:
        from dustsweep.core.classify import classify

        sell = AccountSell(name=account.name, exchange=account.exchange)
        try:
            sell.handle = self.app.open(account, creds)
            if self.live:
                sell.reconciled = self._reconcile(sell.handle)
            sell.snapshot = self.app.snapshot(sell.handle)
            sell.report = classify(sell.snapshot, self.app.config.policy())
        except DustsweepError as exc:
            sell.error = exc
        return sell

    def _reconcile(self, handle: AccountHandle) -> list[ActionOutcome]:
        from dustsweep.run.context import RunContext
        from dustsweep.sell.reconcile import reconcile_pending

        ctx = RunContext(
            exchange=handle.exchange,
            ledger=self.ledger,
            exchange_name=handle.config.exchange,
            account=handle.config.name,
            sleep=time.sleep,
            reconcile_window_s=self.app.config.reconcile_window_s,
        )
        return reconcile_pending(ctx)

    def _plan_all(self, sells: Sequence[AccountSell]) -> None:
        from dustsweep.core.plan import plan_sells

        config = self.app.config
        caps = [c for c in (self.options.max_value, config.max_value_per_run) if c is not None]
        remaining = min(caps) if caps else None
        for sell in sells:
            if sell.report is None or sell.snapshot is None:
                continue
            sell.plan = plan_sells(
                sell.report,
                sell.snapshot,
                config.policy(),
                to_asset=self.options.to_asset,
                assets=self.options.assets,
                max_value=remaining,
                only=frozenset(config.only) or None,
                max_value_per_asset=config.max_value_per_asset,
                never_sell=self.options.never_sell | self._never_sell(sell) | self._unsettled(sell),
                urgent=self._urgent(sell),
            )
            if remaining is not None:
                remaining = max(Decimal(0), remaining - sell.plan.expected_value)

    @staticmethod
    def _unsettled(sell: AccountSell) -> frozenset[str]:
        """Assets with an earlier order whose outcome is still unknown: not sold again now."""
        return frozenset(o.asset for o in sell.reconciled if o.status == Status.UNKNOWN)

    def _never_sell(self, sell: AccountSell) -> frozenset[str]:
        """Hook for sweep: an account's own conversion target is never sold."""
        return frozenset()

    def _urgent(self, sell: AccountSell) -> frozenset[str]:
        """Hook for sweep: assets sold whatever their size (delisting, sell_before_delist)."""
        return frozenset()

    def execute(self, sells: Sequence[AccountSell]) -> None:
        """Place every planned order, accounts side by side; results land on each AccountSell.

        This thread submits the order jobs of each wave (``sale_waves``) and waits on them
        itself, so an order passes only the command, this method and its job on the way to the
        exchange."""
        from dustsweep.sell.execute import AccountSale, sale_waves

        assert self.live, "only a live run places orders"
        busy = [s for s in sells if s.plan is not None and s.actions and s.error is None]
        sales = [AccountSale(s.plan, self._context(s)) for s in busy if s.plan is not None]
        progress = self.progress
        if progress is not None:
            for sell in busy:
                progress.plan(sell.name, "orders", sell.actions)
        with closing(sale_waves(sales)) as waves:
            for wave in waves:
                futures = [pool.submit(job.run) for pool, job in wave]
                if progress is not None:
                    for (_pool, job), future in zip(wave, futures, strict=True):
                        future.add_done_callback(_ticker(progress, job.ctx.account))
                for future in futures:
                    future.result()  # the outcome lands on the job; this thread only waits
        for sell, sale in zip(busy, sales, strict=True):
            if sale.error is not None:
                sell.error = sale.error
                continue
            sell.result = sale.result
            offset = sale.result.clock_offset_ms
            if offset is not None and sell.handle is not None:
                self.app.offsets.save(sell.handle.config.exchange, sell.handle.base_url, offset)

    def _context(self, sell: AccountSell) -> ExecutionContext:
        from dustsweep.sell.types import ExecutionContext

        handle, snapshot = sell.handle, sell.snapshot
        assert handle is not None and snapshot is not None
        to_asset = self.options.to_asset
        return ExecutionContext(
            exchange=handle.exchange,
            ledger=self.ledger,
            run_id=self.run_id,
            exchange_name=handle.config.exchange,
            account=handle.config.name,
            snapshot=snapshot,
            policy=self.app.config.policy(),
            refresh_rules=partial(self.app.refresh_markets, handle),
            concurrency=self.app.config.concurrency,
            reconcile_window_s=self.app.config.reconcile_window_s,
            sell_quotes=self._quotes(),
            never_sell=self.options.never_sell | self._never_sell(sell),
            followup=self.options.followup and to_asset is None,
            vet=sell.vet,
        )

    def close(self, sells: Sequence[AccountSell]) -> None:
        for sell in sells:
            if sell.handle is not None:
                sell.handle.close()


def _ticker(progress: ProgressSink, account: str) -> Callable[[Future[Any]], None]:
    """A done-callback: one more order of ``account`` finished (runs in the worker thread,
    after the order's job, so it is never on the order's path to the exchange)."""

    def tick(_future: Future[Any]) -> None:
        progress.advance(account, "orders")

    return tick
