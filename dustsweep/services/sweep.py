"""``dustsweep sweep``: the unattended job. Sell what can be sold, convert what the exchange
will convert, leave the rest with its reason, and say so in one summary.

It adds no second way of moving money: the selling half is ``SellRun`` and the converting half
``ConvertRun``, with the same planner, executors and history as ``sell`` and ``convert``. The
config guards apply to both halves: the dust threshold, ``keep``, ``only``,
``max_value_per_asset`` and ``max_value_per_run`` (shared by both halves), and an account's own
``convert_to`` asset is never sold (else every run would sell what the last one converted into).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from dustsweep.core.models import Verdict
from dustsweep.errors import DustsweepError
from dustsweep.run.exit import sweep_exit_code
from dustsweep.run.pool import run_concurrently
from dustsweep.services import delisting
from dustsweep.services.convert import AccountConvert, ConvertOptions, ConvertRun
from dustsweep.services.history_sync import sync_after_sweep
from dustsweep.services.sell import AccountSell, SellOptions, SellRun
from dustsweep.storage.records import run_outcome

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dustsweep.config.schema import AccountConfig
    from dustsweep.core.classify import AccountReport
    from dustsweep.exchanges.base import Credentials
    from dustsweep.services.app import App
    from dustsweep.services.runs import ProgressSink
    from dustsweep.storage.ledger import Ledger


class _SweepSellRun(SellRun):
    def _never_sell(self, sell: AccountSell) -> frozenset[str]:
        target = sell.handle.config.convert_to if sell.handle is not None else None
        return frozenset({target}) if target else frozenset()

    def _urgent(self, sell: AccountSell) -> frozenset[str]:
        return delisting.urgent_assets(self.app, sell.snapshot)


class _SweepConvertRun(ConvertRun):
    """Conversions limited by the same guards as the sales.

    ``sold`` is the value per (account, asset) the selling half moved (live) or plans to move
    (dry run): the per-asset cap covers both halves. In a dry run the assets about to be sold
    are not planned for conversion too (their residual is converted after the sale in a live
    run, once the exchange's preview can see it).
    """

    cooldown_first = False

    def __init__(
        self,
        app: App,
        ledger: Ledger,
        *,
        live: bool,
        cap: Decimal | None,
        sold: dict[tuple[str, str], Decimal],
        urgent: dict[str, frozenset[str]] | None = None,
    ) -> None:
        super().__init__(app, ledger, ConvertOptions(), live=live)
        self.urgent = urgent or {}  # per account: delisting assets converted whatever their size
        self._budget = cap  # what is left of max_value_per_run, shared by every account
        self._budget_lock = threading.Lock()
        self.sold = sold

    def value_caps(self) -> tuple[Decimal | None, Decimal | None]:
        """None: ``assets_for`` has already applied both caps, counting what was sold."""
        return None, None

    def never_for(self, report: AccountReport) -> frozenset[str]:
        if self.live:
            return frozenset()
        return frozenset(asset for account, asset in self.sold if account == report.account)

    def assets_for(self, report: AccountReport) -> frozenset[str] | None:
        """Small balances within the per-asset cap and the allow list, smallest first while the
        run's remaining value cap lasts; None when no asset qualifies. An unpriced asset the
        exchange itself would convert qualifies only when no value cap is set."""
        config = self.app.config
        only = frozenset(config.only)
        per_asset = config.max_value_per_asset
        capped = per_asset is not None or self._budget is not None
        kinds = {"sellable", "partial", "dust", "no_market"}
        urgent = self.urgent.get(report.account, frozenset())
        candidates = [
            a
            for a in report.assets
            if str(a.status.value) in kinds
            and (
                (a.small or a.asset in urgent)
                if a.value is not None
                else a.convertible is True and not capped
            )
            and not (only and a.asset not in only)
        ]
        chosen: set[str] = set()
        with self._budget_lock:
            for item in sorted(candidates, key=lambda a: (a.value or Decimal(0), a.asset)):
                value = (item.value or Decimal(0)) + self.sold.get((report.account, item.asset), 0)
                if per_asset is not None and value > per_asset:
                    continue
                if self._budget is not None and item.value is not None:
                    if item.value > self._budget:
                        continue
                    self._budget -= item.value
                chosen.add(item.asset)
        return frozenset(chosen) or None


@dataclass
class AccountSweep:
    """One account's sweep: its sale, its conversion, and what is left."""

    name: str
    exchange: str
    convert_to: str | None
    sell: AccountSell | None = None
    convert: AccountConvert | None = None
    left: list[dict[str, Any]] = field(default_factory=list)

    @property
    def error(self) -> DustsweepError | None:
        if self.sell is not None and self.sell.error is not None:
            return self.sell.error
        if self.convert is not None and self.convert.error is not None:
            return self.convert.error
        return None


@dataclass
class SweepResult:
    dry_run: bool
    accounts: list[AccountSweep]
    delist_warnings: list[str] = field(default_factory=list)  # stderr, even with --quiet

    @property
    def planned_actions(self) -> int:
        return sum(
            (a.sell.actions if a.sell else 0) + (a.convert.actions if a.convert else 0)
            for a in self.accounts
        )


class Sweep:
    """Runs both halves for every account. ``live`` False is a dry run: the ledger is then
    only read (the cool-down looks at past conversions)."""

    def __init__(
        self, app: App, ledger: Ledger, *, live: bool, progress: ProgressSink | None = None
    ) -> None:
        self.app = app
        self.ledger = ledger
        self.live = live
        self.progress = progress  # a terminal's progress display, if any

    def run(self, resolved: Sequence[tuple[AccountConfig, Credentials]]) -> SweepResult:
        config = self.app.config
        sells = _SweepSellRun(self.app, self.ledger, SellOptions(), live=self.live)
        sells.progress = self.progress
        sell_items = sells.prepare(resolved)
        warnings = delisting.sweep_warnings(
            self.app, [(s.name, s.snapshot, s.report) for s in sell_items]
        )
        urgent = {s.name: delisting.urgent_assets(self.app, s.snapshot) for s in sell_items}
        if self.live:
            sells.run_id = self.ledger.begin_run("sweep", dry_run=False)
            sells.execute(sell_items)
        sold = self._sold_values(sell_items)
        cap = None
        if config.max_value_per_run is not None:
            cap = max(Decimal(0), config.max_value_per_run - sum(sold.values(), Decimal(0)))
        converts = _SweepConvertRun(
            self.app, self.ledger, live=self.live, cap=cap, sold=sold, urgent=urgent
        )
        converts.run_id = sells.run_id
        converts.progress = self.progress
        handles = {s.name: s.handle for s in sell_items if s.handle is not None}
        accounts_ok = [(a, c) for a, c in resolved if not self._failed(a.name, sell_items)]
        convert_items = converts.prepare(accounts_ok, handles)
        if self.live:
            converts.execute(convert_items)
        result = SweepResult(dry_run=not self.live, accounts=[], delist_warnings=warnings)
        by_name_convert = {c.name: c for c in convert_items}
        for (account, _creds), sell_item in zip(resolved, sell_items, strict=True):
            result.accounts.append(
                AccountSweep(
                    name=account.name,
                    exchange=account.exchange,
                    convert_to=account.convert_to,
                    sell=sell_item,
                    convert=by_name_convert.get(account.name),
                )
            )
        self._what_is_left(result)
        if self.live and config.sync_history and sells.run_id is not None:
            first_sync = timedelta(days=config.first_sync_days)
            # An account that failed was reported once already; its sync would only fail again.
            healthy = {a.name for a in result.accounts if a.error is None}
            synced = {name: h for name, h in handles.items() if name in healthy}
            sync_after_sweep(self.ledger, synced, sells.run_id, first_sync)
        sells.close(sell_items)
        if sells.run_id is not None:
            self.ledger.end_run(sells.run_id, run_outcome(sweep_exit_code(result)))
        return result

    @staticmethod
    def _sold_values(sells: Sequence[AccountSell]) -> dict[tuple[str, str], Decimal]:
        """Value (in the quote) per (account, asset) the selling half planned, counted only
        for orders that executed in a live run."""
        values: dict[tuple[str, str], Decimal] = {}
        for sell in sells:
            if sell.plan is None:
                continue
            executed = None
            if sell.result is not None:
                executed = {o.asset for o in sell.result.primary if o.executed}
            for order in sell.plan.orders:
                if executed is not None and order.asset not in executed:
                    continue
                key = (sell.name, order.asset)
                values[key] = values.get(key, Decimal(0)) + (order.expected_value or Decimal(0))
        return values

    @staticmethod
    def _failed(name: str, sells: Sequence[AccountSell]) -> bool:
        """No conversion for an account whose selling half failed, or met a ban (its host
        refuses every request now; the ban was reported once, when the sales met it)."""
        return any(
            s.name == name
            and (
                (s.error is not None and s.plan is None)
                or (s.result is not None and s.result.banned is not None)
            )
            for s in sells
        )

    def _what_is_left(self, result: SweepResult) -> None:
        """Small balances that stay, with their reason: from a fresh look after a live run."""
        run_concurrently([partial(self._left_one, a) for a in result.accounts])

    def _left_one(self, sweep: AccountSweep) -> None:
        from dustsweep.core.classify import classify

        handle = sweep.sell.handle if sweep.sell else None
        if handle is None or sweep.error is not None:
            return
        report = sweep.sell.report if sweep.sell else None
        if self.live:
            try:
                report = classify(self.app.snapshot(handle), self.app.config.policy())
            except DustsweepError:
                return
        if report is None:
            return
        handled: set[str] = set()
        if not self.live:
            if sweep.sell is not None and sweep.sell.plan is not None:
                handled |= {o.asset for o in sweep.sell.plan.orders}
            if sweep.convert is not None and sweep.convert.plan is not None:
                handled |= {c.asset for c in sweep.convert.plan.conversions}
        for item in report.assets:
            status = str(item.status.value)
            if item.asset in handled or item.status in {Verdict.IGNORED, Verdict.SELLABLE}:
                continue
            if not item.small:
                continue
            sweep.left.append(
                {"asset": item.asset, "value": item.value, "status": status, "reason": item.reason}
            )


def nothing_to_report(result: SweepResult) -> bool:
    """``--quiet``: no error, nothing settled from an earlier run, nothing planned."""
    errors = any(a.error is not None for a in result.accounts)
    settled = any(
        (a.sell is not None and a.sell.reconciled) or (a.convert is not None and a.convert.settled)
        for a in result.accounts
    )
    return not errors and not settled and result.planned_actions == 0


def log_summary(result: SweepResult) -> None:
    """One log line per action, for the log file (the screen gets the tables)."""
    from dustsweep.logs import FILE_ONLY

    log = logging.getLogger("dustsweep.sweep")
    for account in result.accounts:
        if account.sell is not None and account.sell.result is not None:
            for o in account.sell.result.outcomes:
                log.info(
                    "%s: sell %s %s on %s: %s %s",
                    account.name,
                    o.qty,
                    o.asset,
                    o.market,
                    o.status,
                    o.error or "",
                )
        if account.convert is not None and account.convert.outcome is not None:
            for line in account.convert.outcome.lines:
                log.info(
                    "%s: convert %s %s to %s: %s %s",
                    account.name,
                    line.amount,
                    line.asset,
                    line.target,
                    line.status,
                    line.error or "",
                )
        if account.error is not None:
            log.error("%s: %s", account.name, account.error, extra=FILE_ONLY)  # cli: stderr


def sweep_all(app: App, live: bool = True) -> SweepResult:
    """A sweep of every configured account, as ``sweep`` (``live=False``: the plan) or
    ``sweep --yes`` runs it (the demo)."""
    from dustsweep.services.runs import money_moving_run

    with money_moving_run(app, live=live) as ledger:
        return Sweep(app, ledger, live=live).run(app.resolve([]))
