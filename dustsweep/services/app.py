"""What the commands do between parsing and rendering: open accounts, fetch snapshots, classify.

Accounts are handled concurrently, and within an account the independent calls (balances,
prices, conversion eligibility, and the rules when the cache is cold) run concurrently too.
One account failing never hides the others: its error is kept beside them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from dustsweep.core.models import MarketRules, Snapshot
from dustsweep.errors import Banned, ClockSkew, DustsweepError, ExchangeError
from dustsweep.run.pool import run_concurrently

if TYPE_CHECKING:
    from dustsweep.config.schema import AccountConfig, Config
    from dustsweep.core.classify import AccountReport
    from dustsweep.exchanges.base import Credentials, Exchange
    from dustsweep.storage.state import ClockOffsets, RulesCache

T = TypeVar("T")
# Prices shared between accounts of one host; a later look (after a sale) reads them again.
PRICES_MAX_AGE_S = 15.0
logger = logging.getLogger(__name__)
Progress = Callable[[str, str], None]


def _no_progress(account: str, message: str) -> None:
    return None


@dataclass
class AccountScan:
    """One account's scan: the report, or the error that stopped it."""

    name: str
    exchange: str
    snapshot: Snapshot | None = None
    report: AccountReport | None = None
    error: DustsweepError | None = None


@dataclass
class AccountHandle:
    """An opened account: its config, adapter and where its state lives."""

    config: AccountConfig
    credentials: Credentials
    exchange: Exchange
    base_url: str
    rules: dict[str, MarketRules] = field(default_factory=dict)
    _pool: ThreadPoolExecutor | None = None

    @property
    def pool(self) -> ThreadPoolExecutor:
        """The account's reading threads, kept for the whole run: the adapters hold one SDK
        client (and its HTTP session) per thread, so new threads would mean new connections."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix=self.config.name)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self.exchange.close()


class App:
    """The state a command works with: config, state folder, caches."""

    def __init__(
        self,
        config: Config,
        config_path: Path,
        env: Mapping[str, str],
        state_dir: Path,
        progress: Progress | None = None,
        *,
        quiet: bool = False,
        verbose: bool = False,
    ) -> None:
        from dustsweep.storage.state import ClockOffsets, RulesCache

        self.config = config
        self.config_path = config_path
        self.env = env
        self.state_dir = state_dir
        self.progress = progress or _no_progress
        self.quiet = quiet
        self.verbose = verbose
        self.rules_cache: RulesCache = RulesCache(state_dir)
        self.offsets: ClockOffsets = ClockOffsets(state_dir)
        from dustsweep.services.public_data import PublicData

        self.public = PublicData()  # rules and prices: once per exchange host per run
        from dustsweep.exchanges.bans import REGISTRY

        REGISTRY.attach(state_dir)  # bans earlier runs saw: no request before they end

    # -- accounts -------------------------------------------------------------------------------

    def resolve(self, names: Sequence[str]) -> list[tuple[AccountConfig, Credentials]]:
        """Select accounts and resolve every secret first: bad input fails before any request."""
        from dustsweep.config.secrets import credentials, select_accounts
        from dustsweep.logs import configure_logging

        chosen = select_accounts(self.config, list(names))
        resolved = [(acc, credentials(acc, self.config_path, self.env)) for acc in chosen]
        secrets = [s for _, c in resolved for s in (c.api_key, c.api_secret)]
        configure_logging(
            log_file=self.config.log_file, quiet=self.quiet, verbose=self.verbose, secrets=secrets
        )
        return resolved

    def open(self, account: AccountConfig, creds: Credentials) -> AccountHandle:
        from dustsweep.exchanges import open_exchange

        exchange = open_exchange(account.exchange, creds)
        base_url = creds.base_url or ""
        logger.debug(
            "%s: %s account at %s", account.name, account.exchange, base_url or "default host"
        )
        offset = self.offsets.load(account.exchange, base_url)
        if offset:
            exchange.set_clock_offset(offset)
        return AccountHandle(account, creds, exchange, base_url)

    def with_clock_retry(self, handle: AccountHandle, call: Callable[[], T]) -> T:
        """Run a signed call; on a timestamp rejection measure the offset, save it, retry once."""
        try:
            return call()
        except ClockSkew:
            offset = handle.exchange.sync_clock()
            self.offsets.save(handle.config.exchange, handle.base_url, offset)
            return call()

    # -- snapshots ------------------------------------------------------------------------------

    def markets(self, handle: AccountHandle, refresh: bool) -> dict[str, MarketRules]:
        """Rules from the on-disk cache while fresh, else from the exchange (and cached);
        read and decoded once per exchange host per run, whatever the number of accounts."""
        exchange, host = handle.config.exchange, handle.base_url
        handle.rules = self.public.get(
            "rules", exchange, host, partial(self._load_markets, handle, refresh)
        )
        return handle.rules

    def _load_markets(self, handle: AccountHandle, refresh: bool) -> dict[str, MarketRules]:
        ttl_s = self.config.rules_ttl_hours * 3600
        exchange, host = handle.config.exchange, handle.base_url
        cached = None if refresh else self.rules_cache.load(exchange, host, ttl_s)
        if cached is None:
            self.progress(handle.config.name, "market rules")
            cached = handle.exchange.fetch_markets()
            self._save_rules(exchange, host, cached)
            logger.debug("%s: %d market rules from the exchange", exchange, len(cached))
        else:
            logger.debug("%s: %d market rules from the cache", exchange, len(cached))
        return {rule.symbol: rule for rule in cached}

    def _save_rules(self, exchange: str, host: str, rules: list[MarketRules]) -> None:
        """Write the rules cache beside the run: a cold scan does not wait for the disk."""
        from dustsweep.services.public_data import WRITES

        def save() -> None:
            try:
                self.rules_cache.save(exchange, host, rules)
            except OSError as exc:  # a cache: the run goes on with the fresh rules
                logger.warning(
                    "market rules not cached: cannot write %s (%s)",
                    self.rules_cache.path(exchange, host),
                    exc.strerror or exc,
                )

        WRITES.start(f"save-rules-{exchange}", save)

    def host_rules(
        self, account: AccountConfig, creds: Credentials, *, refresh: bool = False
    ) -> dict[str, MarketRules]:
        """The rules of an account's host without keeping it open (the name checks of
        services.names): the disk cache when fresh, else the exchange's, shared with the run."""
        exchange, host = account.exchange, creds.base_url or ""

        def load() -> dict[str, MarketRules]:
            if not refresh:
                cached = self.rules_cache.load(exchange, host, self.config.rules_ttl_seconds)
                if cached is not None:
                    logger.debug("%s: %d market rules from the cache", exchange, len(cached))
                    return {rule.symbol: rule for rule in cached}
            handle = self.open(account, creds)
            try:
                return self._load_markets(handle, refresh)
            finally:
                handle.close()

        if refresh:
            rules = load()
            self.public.put("rules", exchange, host, rules)
            return rules
        return self.public.get("rules", exchange, host, load)

    def refresh_markets(self, handle: AccountHandle) -> dict[str, MarketRules]:
        """Rules straight from the exchange, written back to the shared cache and shared with
        the run's other accounts on this host."""
        handle.rules = self._load_markets(handle, refresh=True)
        self.public.put("rules", handle.config.exchange, handle.base_url, handle.rules)
        return handle.rules

    def prices(self, handle: AccountHandle) -> dict[str, Decimal]:
        """The host's price ticker, shared by its accounts while younger than PRICES_MAX_AGE_S."""
        return self.public.get(
            "prices",
            handle.config.exchange,
            handle.base_url,
            handle.exchange.fetch_prices,
            max_age_s=PRICES_MAX_AGE_S,
        )

    def snapshot(self, handle: AccountHandle, refresh: bool = False) -> Snapshot:
        """Balances, rules, prices and conversion eligibility of one account, fetched at once.

        Eligibility is a side read: when it fails (after the adapter's own retries) it becomes
        unknown (``convertible=None``, "?" in the table, null in JSON) with a warning."""
        from dustsweep.services import delisting

        name = handle.config.name
        exchange = handle.exchange
        self.progress(name, "balances, prices, conversion eligibility")
        pool = handle.pool
        balances_f = pool.submit(self.with_clock_retry, handle, exchange.fetch_balances)
        prices_f = pool.submit(self.prices, handle)
        convertible_f = pool.submit(self.with_clock_retry, handle, exchange.fetch_convertible)
        markets_f = pool.submit(self.markets, handle, refresh)
        delist_f = pool.submit(delisting.fetch_delistings, self, handle)  # a side read
        balances = balances_f.result()
        prices = prices_f.result()
        markets = markets_f.result()
        warnings: tuple[str, ...] = ()
        try:
            convertible = convertible_f.result()
        except Banned:
            raise  # the host is banned: nothing else of this account can go on either
        except ExchangeError as exc:
            # A side read: eligibility feeds only the "convertible" column, so its failure
            # makes that column unknown, never costs the account its sales.
            convertible = None
            warnings = (f"conversion eligibility unknown: {exc}",)
        from dustsweep.services.startup import imports_done

        imports_done()  # the SDKs are in: freeze start-up's objects, collect as usual again
        if convertible is None and not warnings:
            warnings = (f"{handle.config.exchange} did not say which assets it would convert",)
        logger.debug("%s: %d balances, %d prices", name, len(balances), len(prices))
        snapshot = Snapshot(
            exchange=handle.config.exchange,
            account=name,
            balances=tuple(b for b in balances if b.free > 0 or b.locked > 0),
            markets=markets,
            prices=prices,
            convertible=convertible,
            warnings=warnings,
        )
        return delisting.attach(self, handle, snapshot, delist_f)

    def scan_one(self, account: AccountConfig, creds: Credentials, refresh: bool) -> AccountScan:
        from dustsweep.core.classify import classify

        result = AccountScan(name=account.name, exchange=account.exchange)
        handle: AccountHandle | None = None
        try:
            handle = self.open(account, creds)
            result.snapshot = self.snapshot(handle, refresh)
            result.report = classify(result.snapshot, self.config.policy())
        except DustsweepError as exc:
            result.error = exc
        finally:
            if handle is not None:
                handle.close()
        self.progress(account.name, "done")
        return result

    def scan(
        self,
        names: Sequence[str],
        refresh: bool = False,
        resolved: Sequence[tuple[AccountConfig, Credentials]] | None = None,
    ) -> list[AccountScan]:
        """Scan the chosen accounts concurrently, in config order (``resolved``: already
        selected and checked by the caller)."""
        resolved = self.resolve(names) if resolved is None else resolved
        jobs = [partial(self.scan_one, acc, cred, refresh) for acc, cred in resolved]
        scans = run_concurrently(jobs)
        from dustsweep.services.public_data import WRITES

        WRITES.drain()  # the rules cache is on disk before the command returns
        return scans
