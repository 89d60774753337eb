"""Runs a confirmed sell plan: the only code that moves money.

``execute_sells`` places the plan's orders concurrently (bounded by ``ctx.concurrency``), each
through an ``OrderJob`` (executor_order: exactly-once client ids, reconciliation of unknown
outcomes, reactions to refusals), then sells on into the policy's quote what the run received
in intermediate quotes (BTC, BNB, ETH...). ``reconcile_pending`` (reconcile) settles what an
earlier run left unknown and must run before a new plan is made.

Nothing here prints: the caller renders the returned ``SellResult``. Every order that filled
is in the result and in the ledger even when a later step fails.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from dustsweep.core.models import ZERO, Balance
from dustsweep.core.plan import PlannedOrder, SellPlan, plan_followup
from dustsweep.errors import ExchangeError
from dustsweep.run.outcome import Status
from dustsweep.sell.order import OrderJob
from dustsweep.sell.shared import RunState
from dustsweep.sell.types import ExecutionContext, OrderOutcome, SellResult
from dustsweep.storage.records import LedgerError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from decimal import Decimal

logger = logging.getLogger(__name__)


def execute_sells(plan: SellPlan, ctx: ExecutionContext) -> SellResult:
    """Place ``plan``'s orders, then the follow-up sales; return every outcome."""
    result = SellResult()
    state = RunState(ctx, result)
    result.outcomes.extend(_run_orders(state, plan.orders, quotes=ctx.sell_quotes))
    if ctx.followup:
        result.outcomes.extend(_sell_followups(state, plan, result))
    return result


def planned_outcomes(plan: SellPlan) -> list[OrderOutcome]:
    """A dry run: what ``execute_sells`` would send, as ``planned`` outcomes."""
    return [
        OrderOutcome(
            asset=o.asset,
            market=o.symbol,
            qty=o.qty,
            status=Status.PLANNED,
            proceeds=o.expected_proceeds,
            fee=o.est_fee,
            fee_asset=o.quote_asset,
            residual=o.residual,
            quote_asset=o.quote_asset,
        )
        for o in plan.orders
    ]


def _run_orders(
    state: RunState,
    orders: Sequence[PlannedOrder],
    *,
    quotes: tuple[str, ...] | None,
    followup: bool = False,
) -> list[OrderOutcome]:
    """Run ``orders`` concurrently; outcomes in the orders' order.

    On an interrupt the run is stopped (no new order is sent), orders not started are
    dropped, the ones in flight finish, and the interrupt propagates.
    """
    if not orders:
        return []
    workers = max(1, min(state.ctx.concurrency, len(orders)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"sell-{state.ctx.account}")
    try:
        futures: list[Future[OrderOutcome]] = [
            pool.submit(_run_one, state, order, quotes, followup) for order in orders
        ]
        outcomes = [future.result() for future in futures]
    except BaseException:
        state.stop("interrupted")
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return outcomes


def _run_one(
    state: RunState, order: PlannedOrder, quotes: tuple[str, ...] | None, followup: bool
) -> OrderOutcome:
    """One order; a bug in it must not lose the other orders' outcomes."""
    job = OrderJob(state, order, quotes=quotes, followup=followup)
    try:
        return job.run()
    except Exception as exc:
        attempt = job.attempt
        if isinstance(exc, LedgerError):
            # The history cannot record: no further order may go out (each is recorded
            # before it is sent), and the one line says why, without a traceback.
            state.stop(str(exc))
            logger.warning("%s: %s", state.ctx.account, exc)
        else:
            logger.exception("order for %s failed unexpectedly", order.asset)
        return OrderOutcome(
            asset=order.asset,
            market=attempt.order.symbol if attempt else order.symbol,
            qty=attempt.order.qty if attempt else order.qty,
            status=Status.UNKNOWN if attempt else Status.SKIPPED,
            client_order_id=attempt.client_id if attempt else None,
            residual=order.residual + order.qty,
            error=(str(exc) if isinstance(exc, LedgerError) else f"internal error: {exc}")
            + ("; its ledger record stays pending for the next run" if attempt else ""),
            quote_asset=order.quote_asset,
            followup=followup,
            record_id=attempt.record_id if attempt else None,
        )


def _sell_followups(state: RunState, plan: SellPlan, result: SellResult) -> list[OrderOutcome]:
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
    return _run_orders(state, orders, quotes=(quote,), followup=True)


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
