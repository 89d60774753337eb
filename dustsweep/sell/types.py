"""The executor's inputs and outputs: what a caller hands over and what comes back.

Kept apart from the machinery so renderers and the CLI can import these types cheaply, and so
the order runner and the reconciler share them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dustsweep.core.models import ZERO, MarketRules, Snapshot
from dustsweep.run.context import RunContext
from dustsweep.run.outcome import ActionOutcome, Status

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from decimal import Decimal

    from dustsweep.core.plan import PlannedOrder
    from dustsweep.core.policy import Policy

DEFAULT_CONCURRENCY = 4  # well within the order limits the adapters declare (order_pacing)
DEFAULT_MAX_RATE_WAIT_S = 30.0  # a longer Retry-After means "not now": the order is skipped


@dataclass(kw_only=True)
class ExecutionContext(RunContext):
    """Everything one account's sell run needs.

    ``refresh_rules`` fetches fresh market rules AND writes them back to the on-disk cache (the
    caller owns the cache); it is called at most once per run. ``sleep`` is every wait the
    executor makes (back-off, Retry-After), injectable so tests run fast. ``sell_quotes``
    limits re-plans to these quotes (``(to_asset,)`` for a ``--to`` run; None: the policy's).
    """

    snapshot: Snapshot
    policy: Policy
    refresh_rules: Callable[[], Mapping[str, MarketRules]]
    concurrency: int = DEFAULT_CONCURRENCY
    sell_quotes: tuple[str, ...] | None = None
    never_sell: frozenset[str] = frozenset()
    max_rate_wait_s: float = DEFAULT_MAX_RATE_WAIT_S
    followup: bool = True
    # Checks orders planned during the run (follow-ups) the way the caller checked the plan
    # (e.g. Binance NOTIONAL at the average price): an order, a re-planned one, or why not.
    vet: Callable[[PlannedOrder], PlannedOrder | str] | None = None


@dataclass
class SellResult:
    """One account's sell run: every order's outcome (primary orders first, then follow-ups).

    ``clock_offset_ms`` is set when the run had to re-measure the clock: the caller saves it
    so the next run does not hit the same timestamp rejection. ``banned`` holds the ban
    message when the exchange banned the IP mid-run. ``notes`` are run-level remarks in
    plain words (e.g. why the follow-up sale did not happen).
    """

    outcomes: list[ActionOutcome] = field(default_factory=list)
    clock_offset_ms: int | None = None
    rules_refreshed: bool = False
    refreshed_rules: Mapping[str, MarketRules] | None = None
    banned: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def primary(self) -> list[ActionOutcome]:
        return [o for o in self.outcomes if not o.followup]

    @property
    def followups(self) -> list[ActionOutcome]:
        return [o for o in self.outcomes if o.followup]

    @property
    def failed(self) -> list[ActionOutcome]:
        """Orders that did not fully happen: rejected, skipped, unknown or partly filled."""
        return [o for o in self.outcomes if o.status not in {Status.FILLED, Status.PLANNED}]

    @property
    def complete(self) -> bool:
        return not self.failed and self.banned is None

    def received(self) -> dict[str, Decimal]:
        """Net quote received per asset over every executed order."""
        totals: dict[str, Decimal] = {}
        for outcome in self.outcomes:
            if outcome.executed and outcome.quote_asset is not None:
                totals[outcome.quote_asset] = (
                    totals.get(outcome.quote_asset, ZERO) + outcome.net_proceeds
                )
        return totals
