"""Runs a confirmed sell plan: the only code that moves money.

``execute_sells`` (one account) and ``sale_waves`` (several, side by side) place the plan's
orders concurrently (bounded by ``ctx.concurrency``), each through an ``OrderJob`` (sell.order:
exactly-once client ids, reconciliation of unknown
outcomes, reactions to refusals), then sells on into the policy's quote what the run received
in intermediate quotes (BTC, BNB, ETH...). ``reconcile_pending`` (reconcile) settles what an
earlier run left unknown and must run before a new plan is made.

Nothing here prints: the caller renders the returned ``SellResult``. Every order that filled
is in the result and in the ledger even when a later step fails.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import TYPE_CHECKING

from dustsweep.core.models import ZERO, Balance
from dustsweep.core.plan import PlannedOrder, SellPlan, plan_followup
from dustsweep.core.routes import Route
from dustsweep.errors import DustsweepError, ExchangeError
from dustsweep.run.outcome import ActionOutcome, Status
from dustsweep.run.pool import run_concurrently
from dustsweep.sell.order import OrderJob
from dustsweep.sell.shared import RunState
from dustsweep.sell.types import ExecutionContext, SellResult

if TYPE_CHECKING:
    from collections.abc import Generator, Mapping, Sequence
    from decimal import Decimal


def execute_sells(plan: SellPlan, ctx: ExecutionContext) -> SellResult:
    """Place ``plan``'s orders, then the follow-up sales; return every outcome."""
    sale = AccountSale(plan, ctx)
    with closing(sale_waves([sale])) as waves:
        for wave in waves:
            for future in [pool.submit(job.run) for pool, job in wave]:
                future.result()
    if sale.error is not None:
        raise sale.error
    return sale.result


Wave = list[tuple[ThreadPoolExecutor, OrderJob]]


def sale_waves(sales: Sequence[AccountSale]) -> Generator[Wave, None, None]:
    """Every account's orders in two waves: the plans' orders, then the follow-up sales.

    Each wave is yielded as (pool, job) pairs for the caller to submit and wait on: the caller's
    thread is then the only one between the command and the jobs (accounts run side by side,
    each on its own pool, without a thread of their own in between), and the order path is the
    caller, the job and the SDK. Once a wave is done, its outcomes land on each account's
    result. Closing the generator early (an interrupt while waiting) stops every account: no
    new order is sent, orders not started are dropped, the ones in flight finish.
    """
    try:
        yield [
            (sale.pool, job)
            for sale in sales
            for job in sale.jobs(sale.plan.orders, quotes=sale.ctx.sell_quotes)
        ]
        for sale in sales:
            sale.collect()
        followups = run_concurrently([sale.followup_jobs for sale in sales])
        yield [(s.pool, job) for s, jobs in zip(sales, followups, strict=True) for job in jobs]
        for sale in sales:
            sale.collect()
    except BaseException:
        for sale in sales:
            sale.stop("interrupted")
        raise
    finally:
        for sale in sales:
            sale.pool.shutdown(wait=True)


class AccountSale:
    """One account's sale: its shared run state, its order pool (``ctx.concurrency``
    workers), the jobs of the current wave and the result."""

    def __init__(self, plan: SellPlan, ctx: ExecutionContext) -> None:
        self.plan = plan
        self.ctx = ctx
        self.result = SellResult()
        self.state = RunState(ctx, self.result)
        self.error: DustsweepError | None = None
        workers = max(1, min(ctx.concurrency, len(plan.orders)))
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix=f"sell-{ctx.account}")
        self._jobs: list[OrderJob] = []

    def jobs(
        self,
        orders: Sequence[PlannedOrder],
        *,
        quotes: tuple[str, ...] | None,
        followup: bool = False,
    ) -> list[OrderJob]:
        """One job per order, kept for ``collect``."""
        jobs = [OrderJob(self.state, o, quotes=quotes, followup=followup) for o in orders]
        self._jobs.extend(jobs)
        return jobs

    def followup_jobs(self) -> list[OrderJob]:
        """Once the plan's orders are done: the follow-up sales, if the run makes any."""
        if not self.ctx.followup or self.error is not None:
            return []
        try:
            orders = _followup_orders(self.state, self.plan, self.result)
        except DustsweepError as exc:
            self.error = exc
            return []
        return self.jobs(orders, quotes=(self.ctx.policy.quote,), followup=True)

    def collect(self) -> None:
        """The finished jobs' outcomes, in the orders' order, onto the result."""
        jobs, self._jobs = self._jobs, []
        self.result.outcomes.extend(job.outcome for job in jobs if job.outcome is not None)

    def stop(self, reason: str) -> None:
        self.state.stop(reason)
        self.pool.shutdown(wait=True, cancel_futures=True)


def planned_outcomes(plan: SellPlan) -> list[ActionOutcome]:
    """A dry run: what ``execute_sells`` would send, as ``planned`` outcomes."""
    return [
        ActionOutcome(
            route=Route.SELL,
            asset=o.asset,
            market=o.symbol,
            amount=o.qty,
            status=Status.PLANNED,
            proceeds=o.expected_proceeds,
            fee=o.est_fee,
            fee_asset=o.quote_asset,
            residual=o.residual,
            received_asset=o.quote_asset,
        )
        for o in plan.orders
    ]


def _followup_orders(state: RunState, plan: SellPlan, result: SellResult) -> list[PlannedOrder]:
    """Sell on into the policy's quote what the primary orders received in other quotes.

    Only what this run received (unless the asset was itself dust in the plan): the user's own
    BTC is not dust. Balances are read again first, so the follow-up is sized from the truth.
    Nothing received in ``ctx.sell_quotes`` is sold on: a ``--to BTC`` run wants BTC.
    """
    ctx = state.ctx
    quote = ctx.policy.quote
    targets = {quote, *(ctx.sell_quotes or ())}  # a --to run wants to end in its target
    received = {
        asset: amount
        for asset, amount in result.received().items()
        if asset not in targets and amount > ZERO
    }
    if not received:
        return []
    names = ", ".join(sorted(received))
    stopped = state.stopped
    if stopped is not None:
        result.notes.append(f"follow-up sale of {names} not attempted: {stopped}")
        return []
    try:
        balances = state.read_balances()
    except ExchangeError as err:
        result.notes.append(f"follow-up sale of {names} not attempted: {err}")
        return []
    orders = plan_followup(
        received,
        state.snapshot(balances),
        ctx.policy,
        dust_assets=frozenset(o.asset for o in plan.orders),
        never_sell=ctx.never_sell,
    )
    if ctx.vet is not None:
        vetted = []
        for order in orders:
            checked = ctx.vet(order)
            if isinstance(checked, str):
                result.notes.append(f"follow-up sale of {order.asset} not attempted: {checked}")
            else:
                vetted.append(checked)
        orders = vetted
    _note_unsold(result, received, orders, balances, quote)
    return orders


def _note_unsold(
    result: SellResult,
    received: Mapping[str, Decimal],
    orders: Sequence[PlannedOrder],
    balances: Sequence[Balance],
    quote: str,
) -> None:
    selling = {o.asset for o in orders}
    free = {b.asset: b.free for b in balances}
    for asset in sorted(set(received) - selling):
        amount = free.get(asset, ZERO)
        result.notes.append(
            f"{asset} received ({format(amount, 'f')} free) is not sold on into {quote}: "
            "too small for its markets, kept, or no market"
        )
