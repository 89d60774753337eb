"""The executor's inputs and outputs: what a caller hands over and what comes back.

Kept apart from the machinery so renderers and the CLI can import these types cheaply, and so
the order runner and the reconciler share them without importing each other.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from dustsweep.core.models import ZERO, MarketRules, Snapshot
from dustsweep.core.plan import PlannedOrder
from dustsweep.core.policy import Policy
from dustsweep.exchanges.base import Exchange
from dustsweep.run.ids import new_run_token
from dustsweep.storage.ledger import Ledger

# Outcome statuses. ``planned``: a dry run; ``unknown``: the ledger record stays pending and
# the next run settles it (reconcile_pending) before planning anything new.
PLANNED = "planned"
FILLED = "filled"
PARTIALLY_FILLED = "partially_filled"
REJECTED = "rejected"
SKIPPED = "skipped"
UNKNOWN = "unknown"
OUTCOME_STATUSES = frozenset({PLANNED, FILLED, PARTIALLY_FILLED, REJECTED, SKIPPED, UNKNOWN})

DEFAULT_CONCURRENCY = 4  # within Binance's 50 orders / 10 s and Bybit's 20 orders / s (spot)
DEFAULT_RECONCILE_WINDOW_S = 60.0  # Binance's -2013 lag has lasted up to a minute
DEFAULT_MAX_RATE_WAIT_S = 30.0  # a longer Retry-After means "not now": the order is skipped


@dataclass(kw_only=True)
class ExecutionContext:
    """Everything one account's sell run needs.

    ``refresh_rules`` fetches fresh market rules AND writes them back to the on-disk cache (the
    caller owns the cache); it is called at most once per run. ``sleep`` is every wait the
    executor makes (back-off, Retry-After), injectable so tests run fast. ``sell_quotes``
    limits re-plans to these quotes (``(to_asset,)`` for a ``--to`` run; None: the policy's).
    """

    exchange: Exchange
    ledger: Ledger
    run_id: int | None
    exchange_name: str
    account: str
    snapshot: Snapshot
    policy: Policy
    refresh_rules: Callable[[], Mapping[str, MarketRules]]
    concurrency: int = DEFAULT_CONCURRENCY
    sleep: Callable[[float], None] = time.sleep
    reconcile_window_s: float = DEFAULT_RECONCILE_WINDOW_S
    run_token: str = field(default_factory=new_run_token)
    sell_quotes: tuple[str, ...] | None = None
    never_sell: frozenset[str] = frozenset()
    max_rate_wait_s: float = DEFAULT_MAX_RATE_WAIT_S
    followup: bool = True
    # Checks orders planned during the run (follow-ups) the way the caller checked the plan
    # (e.g. Binance NOTIONAL at the average price): an order, a re-planned one, or why not.
    vet: Callable[[PlannedOrder], PlannedOrder | str] | None = None


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """What became of one planned order (or of one pending record, after reconciliation).

    ``qty`` is what was asked; ``filled_qty`` what the exchange executed; ``proceeds`` the gross
    quote received; ``fee`` is in ``fee_asset``; ``residual`` what stays of the asset after
    this order. ``error`` is plain words for anything not filled (or only in part).
    ``followup``: a sale of an intermediate quote the run itself received.
    """

    asset: str
    market: str
    qty: Decimal
    status: str
    client_order_id: str | None = None
    filled_qty: Decimal = ZERO
    proceeds: Decimal = ZERO
    fee: Decimal = ZERO
    fee_asset: str | None = None
    residual: Decimal = ZERO
    error: str | None = None
    quote_asset: str | None = None
    order_id: str | None = None
    followup: bool = False
    record_id: int | None = None

    @property
    def executed(self) -> bool:
        """Money moved: the exchange filled some or all of it."""
        return self.status in {FILLED, PARTIALLY_FILLED}

    @property
    def net_proceeds(self) -> Decimal:
        """Quote received after a fee charged in the quote asset."""
        if self.fee_asset is not None and self.fee_asset == self.quote_asset:
            return self.proceeds - self.fee
        return self.proceeds


@dataclass
class SellResult:
    """One account's sell run: every order's outcome (primary orders first, then follow-ups).

    ``clock_offset_ms`` is set when the run had to re-measure the clock: the caller saves it
    so the next run does not hit the same timestamp rejection. ``banned`` holds the ban
    message when the exchange banned the IP mid-run. ``notes`` are run-level remarks in
    plain words (e.g. why the follow-up sale did not happen).
    """

    outcomes: list[OrderOutcome] = field(default_factory=list)
    clock_offset_ms: int | None = None
    rules_refreshed: bool = False
    refreshed_rules: Mapping[str, MarketRules] | None = None
    banned: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def primary(self) -> list[OrderOutcome]:
        return [o for o in self.outcomes if not o.followup]

    @property
    def followups(self) -> list[OrderOutcome]:
        return [o for o in self.outcomes if o.followup]

    @property
    def failed(self) -> list[OrderOutcome]:
        """Orders that did not fully happen: rejected, skipped, unknown or partly filled."""
        return [o for o in self.outcomes if o.status not in {FILLED, PLANNED}]

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
