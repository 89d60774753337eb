"""``dustsweep convert``: plan and run small-balance conversions, exactly once.

Runs a conversion plan: each route's own part lives beside it: ``core.routes`` (route
comparison), ``convert.plan`` (the pure plan), ``convert.cooldown`` (the cool-down),
``convert.native`` (the exchange's small-balance conversion), ``convert.rfq`` (Convert quotes),
``convert.evidence`` / ``convert.settle`` (finding out what happened) and ``convert.caps``
(what an adapter can do, from its capabilities record).

A command runs, per account::

    ctx = ConversionContext(exchange=..., ledger=..., run_id=..., exchange_name=..., account=...)
    reconcile_pending_conversions(ctx)              # settle what an earlier run left unknown
    check_cooldown(exchange, ledger, account, cooldown_s, ctx.server_now_ms())
    previews = fetch_previews(exchange, target)     # every batch the exchange quotes
    limits = fetch_convert_limits(exchange, target) # optional: enables the Convert route
    plan = plan_conversion(report, snapshot, previews, policy, target=target, ...)
    outcome = execute_conversion(plan, ctx)         # or planned_conversion_outcomes(plan)
    exit code: outcome.exit_code_hint

Nothing here prints; the caller renders the plan and the outcome.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dustsweep.convert.native import not_sent, run_native
from dustsweep.convert.plan import (
    ConversionPlan,
    fallback_to_native,
)
from dustsweep.convert.rfq import run_converts
from dustsweep.convert.settle import reconcile_pending_conversions
from dustsweep.convert.types import ConversionContext, ConversionOutcome
from dustsweep.core.routes import Route
from dustsweep.run.ids import ClientIds
from dustsweep.run.outcome import ActionOutcome, Status

if TYPE_CHECKING:
    from collections.abc import Sequence

UNRESOLVED = "an earlier conversion of it is still unresolved: it is settled first"


def execute_conversion(
    plan: ConversionPlan,
    ctx: ConversionContext,
    *,
    settled: Sequence[ActionOutcome] | None = None,
) -> ConversionOutcome:
    """Run ``plan``: Convert quotes first, then the native conversion (batch by batch).

    Pending records of earlier runs are settled first (``outcome.settled``); an asset whose
    earlier conversion is still unknown is skipped rather than risked twice. An asset that gets
    no Convert quote at all (nothing sent) falls back to the native conversion when that was its
    runner-up, which is why Convert runs first. Every asset of the plan gets exactly one line in
    ``outcome.lines``, also when a later step fails.
    """
    if (plan.exchange, plan.account) != (ctx.exchange_name, ctx.account):
        raise ValueError(
            f"a plan for {plan.exchange} account {plan.account!r} cannot run on "
            f"{ctx.exchange_name} account {ctx.account!r}"
        )
    outcome = ConversionOutcome(target=plan.target)
    # A caller that settled the pending records before planning passes what it found, so the
    # exchange is not asked twice (for a processing Bybit batch that can mean a long wait).
    outcome.settled = list(settled) if settled is not None else reconcile_pending_conversions(ctx)
    unresolved = {line.asset for line in outcome.settled if line.status == Status.UNKNOWN}
    ready = [c for c in plan.conversions if c.asset not in unresolved]
    blocked = [c for c in plan.conversions if c.asset in unresolved]
    outcome.lines.extend(not_sent(blocked, plan.target, Status.SKIPPED, UNRESOLVED))
    native = [c for c in ready if c.route is Route.NATIVE]
    converts = [c for c in ready if c.route is Route.CONVERT]
    lines, unquoted = run_converts(ctx, plan.target, converts)
    outcome.lines.extend(lines)
    for item, error in unquoted:
        fallback = fallback_to_native(item)
        if fallback is None:
            # Nothing was sent (e.g. a key without Convert access: the pair list is public),
            # so nothing failed: the asset stays, with the reason.
            outcome.lines.extend(
                not_sent([item], plan.target, Status.SKIPPED, f"no Convert quote: {error}")
            )
            continue
        native.append(fallback)
        outcome.notes.append(
            f"{item.asset}: {error}; converted with the small-balance conversion instead"
        )
    run_native(ctx, plan.target, native, outcome, ClientIds(ctx.run_token))
    return outcome


def planned_conversion_outcomes(plan: ConversionPlan) -> list[ActionOutcome]:
    """A dry run: what ``execute_conversion`` would do, as ``planned`` lines."""
    return [
        ActionOutcome(
            asset=c.asset,
            route=c.route.value,
            amount=c.amount,
            status=Status.PLANNED,
            received_asset=c.target,
            received=c.received,
            fee=c.fee,
            fee_asset=c.target,
        )
        for c in plan.conversions
    ]
