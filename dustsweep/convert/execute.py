"""``dustsweep convert``: plan and run small-balance conversions, exactly once.

The public face of the conversion machinery; the parts live in ``routes`` (route comparison),
``converter_plan`` (the pure plan), ``converter_cooldown`` (the cool-down), ``converter_native``
(the exchange's small-balance conversion), ``converter_rfq`` (Convert quotes),
``converter_evidence`` / ``converter_reconcile`` (finding out what happened) and
``converter_caps`` (what an adapter can do).

A command runs, per account::

    ctx = ConversionContext(exchange=..., ledger=..., run_id=..., exchange_name=..., account=...)
    reconcile_pending_conversions(ctx)              # settle what an earlier run left unknown
    check_cooldown(exchange, ledger, account, cooldown_s, ctx.server_now_ms())
    previews = fetch_previews(exchange, target)     # every chunk (Bybit: 20 coins per quote)
    limits = fetch_convert_limits(exchange, target) # optional: enables the Convert route
    plan = plan_conversion(report, snapshot, previews, policy, target=target, ...)
    outcome = execute_conversion(plan, ctx)         # or planned_conversion_outcomes(plan)
    exit code: outcome.exit_code_hint

Nothing here prints; the caller renders the plan and the outcome.
"""

from __future__ import annotations

from collections.abc import Sequence

from dustsweep.convert.caps import (
    COOLDOWN_EXCHANGES,
    ConversionLog,
    FindsConversion,
    QuotesConversion,
    RfqConvert,
    fetch_convert_limits,
    fetch_previews,
    has_conversion_cooldown,
)
from dustsweep.convert.cooldown import check_cooldown, last_local_conversion_ms
from dustsweep.convert.native import not_sent, run_native
from dustsweep.convert.plan import (
    ConversionPlan,
    ConversionTotals,
    PlannedConversion,
    fallback_to_native,
    plan_conversion,
)
from dustsweep.convert.rfq import run_converts
from dustsweep.convert.settle import reconcile_pending_conversions
from dustsweep.convert.types import (
    CONVERSION_STATUSES,
    CONVERTED,
    FAILED,
    PLANNED,
    SKIPPED,
    UNKNOWN,
    ConversionContext,
    ConversionLineOutcome,
    ConversionOutcome,
    OutcomeTotals,
)
from dustsweep.core.routes import ConvertLimit, Route, RouteChoice, RouteOption, choose_route
from dustsweep.run.ids import ClientIds

__all__ = [
    "CONVERSION_STATUSES",
    "CONVERTED",
    "COOLDOWN_EXCHANGES",
    "FAILED",
    "PLANNED",
    "SKIPPED",
    "UNKNOWN",
    "ConversionContext",
    "ConversionLineOutcome",
    "ConversionLog",
    "ConversionOutcome",
    "ConversionPlan",
    "ConversionTotals",
    "ConvertLimit",
    "FindsConversion",
    "OutcomeTotals",
    "PlannedConversion",
    "QuotesConversion",
    "RfqConvert",
    "Route",
    "RouteChoice",
    "RouteOption",
    "check_cooldown",
    "choose_route",
    "execute_conversion",
    "fetch_convert_limits",
    "fetch_previews",
    "has_conversion_cooldown",
    "last_local_conversion_ms",
    "plan_conversion",
    "planned_conversion_outcomes",
    "reconcile_pending_conversions",
]

UNRESOLVED = "an earlier conversion of it is still unresolved: it is settled first"


def execute_conversion(
    plan: ConversionPlan,
    ctx: ConversionContext,
    *,
    settled: Sequence[ConversionLineOutcome] | None = None,
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
    unresolved = {line.asset for line in outcome.settled if line.status == UNKNOWN}
    ready = [c for c in plan.conversions if c.asset not in unresolved]
    blocked = [c for c in plan.conversions if c.asset in unresolved]
    outcome.lines.extend(not_sent(blocked, plan.target, SKIPPED, UNRESOLVED))
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
                not_sent([item], plan.target, SKIPPED, f"no Convert quote: {error}")
            )
            continue
        native.append(fallback)
        outcome.notes.append(
            f"{item.asset}: {error}; converted with the small-balance conversion instead"
        )
    run_native(ctx, plan.target, native, outcome, ClientIds(ctx.run_token))
    return outcome


def planned_conversion_outcomes(plan: ConversionPlan) -> list[ConversionLineOutcome]:
    """A dry run: what ``execute_conversion`` would do, as ``planned`` lines."""
    return [
        ConversionLineOutcome(
            asset=c.asset,
            route=c.route.value,
            amount=c.amount,
            status=PLANNED,
            target=c.target,
            received=c.received,
            fee=c.fee,
            fee_asset=c.target,
        )
        for c in plan.conversions
    ]
