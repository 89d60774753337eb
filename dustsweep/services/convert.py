"""The convert service: settle, check the cool-down, preview, plan, then (once confirmed) convert.

Same pattern as selling: each account is prepared concurrently, nothing moves before the
confirmation, and the executor (``dustsweep.convert.execute``) is the only code that converts.
Inside a cool-down the exchange's dust endpoint is not called at all.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

from dustsweep.errors import (
    ConfigError,
    ConversionRejected,
    CooldownActive,
    DustsweepError,
)
from dustsweep.run.outcome import Status
from dustsweep.run.pool import run_concurrently

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dustsweep.config.schema import AccountConfig
    from dustsweep.convert.plan import ConversionPlan
    from dustsweep.convert.types import ConversionContext, ConversionOutcome
    from dustsweep.core.classify import AccountReport
    from dustsweep.core.models import ConversionPreview, ConvertLimit, Snapshot
    from dustsweep.exchanges.base import Credentials
    from dustsweep.run.outcome import ActionOutcome
    from dustsweep.services.app import AccountHandle, App
    from dustsweep.services.runs import ProgressSink
    from dustsweep.storage.ledger import Ledger


@dataclass(frozen=True)
class ConvertOptions:
    """``--to`` (None: each account's ``convert_to``), ``--asset``, assets never converted and
    ``--max-value`` (the run's value cap, with ``max_value_per_run``: the lower one holds)."""

    target: str | None = None
    assets: frozenset[str] = frozenset()
    never: frozenset[str] = frozenset()
    max_value: Decimal | None = None


@dataclass
class AccountConvert:
    """One account's conversion from plan to outcome, or why there is none."""

    name: str
    exchange: str
    target: str | None = None
    handle: AccountHandle | None = None
    snapshot: Snapshot | None = None
    report: AccountReport | None = None
    plan: ConversionPlan | None = None
    settled: list[ActionOutcome] = field(default_factory=list)
    outcome: ConversionOutcome | None = None
    cooldown: CooldownActive | None = None
    note: str | None = None  # why nothing was planned (no target configured...)
    error: DustsweepError | None = None
    # What the plan is made from, fetched concurrently, planned afterwards in config order.
    previews: list[ConversionPreview] | None = None
    limits: dict[str, ConvertLimit] | None = None
    plan_assets: frozenset[str] = frozenset()
    # After a small-balance conversion on an exchange with a cool-down: when the next one is
    # possible (epoch ms), for the run's summary.
    next_conversion_ms: int | None = None

    @property
    def actions(self) -> int:
        return len(self.plan.conversions) if self.plan else 0

    def lines(self) -> list[ActionOutcome]:
        """What to show per asset: the outcome when it ran, else the plan as ``planned`` lines."""
        from dustsweep.convert.execute import planned_conversion_outcomes

        if self.plan is None:
            return []
        if self.outcome is not None:
            return self.outcome.lines
        return planned_conversion_outcomes(self.plan)


class ConvertRun:
    """Plans and executes one ``dustsweep convert`` (or the converting half of a sweep).

    ``ledger`` is always open (the cool-down reads the local history); ``live`` says whether
    this run may convert (and settle pending records).
    """

    # ``convert`` checks the cool-down before anything else and reports it even when nothing
    # would be eligible; a sweep first looks whether anything is to be converted at all.
    cooldown_first = True

    def __init__(self, app: App, ledger: Ledger, options: ConvertOptions, *, live: bool) -> None:
        self.app = app
        self.ledger = ledger
        self.options = options
        self.live = live
        self.run_id: int | None = None
        self.progress: ProgressSink | None = None  # a terminal's progress display, if any
        caps = [c for c in (options.max_value, app.config.max_value_per_run) if c is not None]
        self._run_cap: Decimal | None = min(caps) if caps else None
        self._cap_lock = threading.Lock()

    def context(self, handle: AccountHandle) -> ConversionContext:
        from dustsweep.convert.types import ConversionContext

        return ConversionContext(
            exchange=handle.exchange,
            ledger=self.ledger,
            run_id=self.run_id,
            exchange_name=handle.config.exchange,
            account=handle.config.name,
            cooldown_s=self.app.config.cooldown_seconds,
            sleep=time.sleep,
            reconcile_window_s=self.app.config.reconcile_window_s,
        )

    def prepare(
        self,
        resolved: Sequence[tuple[AccountConfig, Credentials]],
        handles: dict[str, AccountHandle] | None = None,
    ) -> list[AccountConvert]:
        """Prepare every account; ``handles`` reuses accounts a sweep already opened."""
        handles = handles or {}
        items = run_concurrently(
            [partial(self.prepare_one, a, c, handles.get(a.name)) for a, c in resolved]
        )
        for item in items:  # config order, so the run's value cap is spent deterministically
            if item.previews is not None:
                item.plan = self._plan(item)
        return items

    def prepare_one(
        self, account: AccountConfig, creds: Credentials, handle: AccountHandle | None = None
    ) -> AccountConvert:
        from dustsweep.convert.settle import reconcile_pending_conversions
        from dustsweep.core.classify import classify
        from dustsweep.services.names import conversion_skip_note

        item = AccountConvert(name=account.name, exchange=account.exchange)
        item.target = self.options.target or account.convert_to
        if item.target is None:
            item.note = "no conversion target: pass --to or set convert_to for this account"
            return item
        item.note = conversion_skip_note(account.exchange, item.target)
        if item.note is not None:
            return item
        try:
            item.handle = handle or self.app.open(account, creds)
            ctx = self.context(item.handle)
            if self.live:
                item.settled = reconcile_pending_conversions(ctx)
            if self.cooldown_first and not self._cooldown_checked(item, ctx):
                return item
            item.snapshot = self.app.snapshot(item.handle)
            item.report = classify(item.snapshot, self.app.config.policy())
            assets = self.assets_for(item.report)
            if assets is None or not self._anything_eligible(item, assets):
                item.note = "nothing to convert"
                return item
            if not self.cooldown_first and not self._cooldown_checked(item, ctx):
                return item
            self._fetch(item, assets)
        except CooldownActive as exc:
            item.cooldown = exc
        except ConversionRejected as exc:
            if exc.kind == "unsupported_target":
                item.error = ConfigError(str(exc))
            else:
                item.error = exc
        except DustsweepError as exc:
            item.error = exc
        return item

    def _cooldown_checked(self, item: AccountConvert, ctx: ConversionContext) -> bool:
        from dustsweep.convert.cooldown import check_cooldown

        assert item.handle is not None
        handle = item.handle
        try:
            self.app.with_clock_retry(
                handle,
                lambda: check_cooldown(
                    handle.exchange,
                    self.ledger,
                    handle.config.name,
                    self.app.config.cooldown_seconds,
                    ctx.server_now_ms(),
                ),
            )
        except CooldownActive as exc:
            item.cooldown = exc
            return False
        return True

    def _anything_eligible(self, item: AccountConvert, assets: frozenset[str]) -> bool:
        """Does the exchange's own eligibility list (from the snapshot) hold anything we may
        convert? Unknown eligibility counts as yes: the preview will tell."""
        assert item.report is not None and item.snapshot is not None
        listed = item.snapshot.convertible
        caps = item.handle.exchange.capabilities if item.handle else None
        scope = caps.eligibility_target if caps else None
        if listed is None or (scope is not None and scope != item.target):
            return True  # the snapshot's list says nothing about this target: the preview will
        policy = self.app.config.policy()
        excluded = {policy.quote, item.target, *policy.keep, *self.never_for(item.report)}
        candidates = set(assets) if assets else {a.asset for a in item.report.assets}
        return bool((candidates & listed) - excluded)

    def never_for(self, report: AccountReport) -> frozenset[str]:
        """Assets this account must not convert (a sweep adds what it is about to sell)."""
        return self.options.never

    def assets_for(self, report: AccountReport) -> frozenset[str] | None:
        """The assets this account may convert (empty: whatever the exchange lists; None:
        none at all). A sweep narrows it to its guards."""
        return self.options.assets

    def _fetch(self, item: AccountConvert, assets: frozenset[str]) -> None:
        """The exchange's previews and Convert limits the plan is made from."""
        from dustsweep.convert.caps import fetch_convert_limits, fetch_previews

        handle, target = item.handle, item.target
        assert handle is not None and target is not None
        item.previews = self.app.with_clock_retry(
            handle, lambda: fetch_previews(handle.exchange, target)
        )
        item.limits = self.app.with_clock_retry(
            handle, lambda: fetch_convert_limits(handle.exchange, target)
        )
        item.plan_assets = assets

    def value_caps(self) -> tuple[Decimal | None, Decimal | None]:
        """(what is left of the run's value cap, the per-asset cap) for the next plan."""
        return self._run_cap, self.app.config.max_value_per_asset

    def _plan(self, item: AccountConvert) -> ConversionPlan:
        """Plan one account within the caps and spend the run cap on what it plans."""
        from dustsweep.convert.plan import plan_conversion

        report, snapshot, target = item.report, item.snapshot, item.target
        assert report is not None and snapshot is not None and target is not None
        with self._cap_lock:
            run_cap, per_asset = self.value_caps()
            plan = plan_conversion(
                report,
                snapshot,
                item.previews,
                self.app.config.policy(),
                target=target,
                assets=item.plan_assets,
                never=self.never_for(report),
                convert_limits=item.limits,
                max_value=run_cap,
                max_value_per_asset=per_asset,
            )
            if self._run_cap is not None:
                spent = sum((c.value or Decimal(0) for c in plan.conversions), Decimal(0))
                self._run_cap = max(Decimal(0), self._run_cap - spent)
        return plan

    def execute(self, items: Sequence[AccountConvert]) -> None:
        busy = [i for i in items if i.actions]
        if self.progress is not None:
            for item in busy:
                self.progress.plan(item.name, "conversions", item.actions)
        run_concurrently([partial(self._execute_one, i) for i in busy])

    def _execute_one(self, item: AccountConvert) -> None:
        from dustsweep.convert.execute import execute_conversion

        assert item.handle is not None and item.plan is not None
        try:
            item.outcome = execute_conversion(
                item.plan, self.context(item.handle), settled=item.settled if self.live else None
            )
        except CooldownActive as exc:
            item.cooldown = exc
            return
        except DustsweepError as exc:
            item.error = exc
            return
        offset = item.outcome.clock_offset_ms
        if offset is not None:
            self.app.offsets.save(item.handle.config.exchange, item.handle.base_url, offset)
        outcome = item.outcome
        self._note_next_conversion(item)
        if self.progress is not None:
            done = sum(1 for line in outcome.lines if line.status == Status.CONVERTED)
            self.progress.advance(item.name, "conversions", done)
        refused = outcome.cooldown_until_ms is not None or outcome.cooldown_message is not None
        if item.cooldown is None and (refused or any(line.cooldown for line in outcome.lines)):
            item.cooldown = CooldownActive(
                outcome.cooldown_message
                or f"{item.name}: the exchange refuses another small-balance conversion for "
                "now (its cool-down; end time unknown)",
                until_ms=outcome.cooldown_until_ms,
            )

    def _note_next_conversion(self, item: AccountConvert) -> None:

        from dustsweep.convert.caps import has_conversion_cooldown

        assert item.handle is not None and item.outcome is not None
        native = any(
            line.status == Status.CONVERTED and line.route == "native"
            for line in item.outcome.lines
        )
        if native and has_conversion_cooldown(item.handle.exchange):
            cooldown_ms = self.app.config.cooldown_seconds * 1000
            item.next_conversion_ms = int(time.time() * 1000) + cooldown_ms

    def close(self, items: Sequence[AccountConvert]) -> None:
        for item in items:
            if item.handle is not None:
                item.handle.close()
