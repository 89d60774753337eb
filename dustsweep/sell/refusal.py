"""How an order job reacts to a refusal: once per cause, then the order is given up.

Stale rules (a filter rejection): refresh the rules once per run and re-plan. A halted market:
re-plan on another market. A balance that changed: read it once and re-plan. Anything else is
the order's outcome (``rejected``). A string result is the reason the asset is skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dustsweep.core.models import ZERO
from dustsweep.errors import ExchangeError
from dustsweep.run.outcome import Status

if TYPE_CHECKING:
    from dustsweep.core.plan import PlannedOrder
    from dustsweep.run.outcome import ActionOutcome
    from dustsweep.sell.order import OrderJob
    from dustsweep.sell.steps import Attempt, Refused, Tries


def react(
    job: OrderJob, attempt: Attempt, refused: Refused, tries: Tries
) -> PlannedOrder | ActionOutcome | str:
    """The next version of the order to send, its outcome, or why the asset is skipped."""
    order = attempt.order
    reason = str(refused.error)
    if refused.kind == "filter":
        if tries.filter_retry:
            return f"still rejected after refreshing the market rules: {reason}"
        tries.filter_retry = True
        rules = job.state.fresh_rules()
        if isinstance(rules, str):
            return f"{reason}; {rules}"
        return _explain(job.replan(order, markets=rules, tries=tries), reason)
    if refused.kind == "halted":
        tries.excluded.add(order.symbol)
        return _explain(job.replan(order, tries=tries), reason)
    if refused.kind == "insufficient":
        if tries.insufficient_retry:
            return f"still not enough free {order.asset}: {reason}"
        tries.insufficient_retry = True
        try:
            balances = job.state.read_balances()
        except ExchangeError as err:
            return f"{reason}; balances could not be read again: {err}"
        free = next((b.free for b in balances if b.asset == order.asset), ZERO)
        return _explain(job.replan(order, free=free, tries=tries), reason)
    return job.unfilled(order, Status.REJECTED, reason, attempt)


def _explain(replanned: PlannedOrder | str, rejection: str) -> PlannedOrder | str:
    if isinstance(replanned, str):
        return f"{replanned} (after: {rejection})"
    return replanned
