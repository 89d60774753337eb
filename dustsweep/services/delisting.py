"""Delisting data for a snapshot: the schedule (or announcements) read once per exchange host
per run, cached a few hours in the state folder, attached to each account's snapshot.

A side read, like conversion eligibility: when it fails after the adapter's own retries the
delisting times are unknown (a warning says so) and nothing else of the account is lost; only
a ban stops the account, since nothing else could go on either. The exchange's capabilities
say which source it offers (``delist_schedule`` / ``delist_announcements``); neither: no read.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from dustsweep.core.delisting import (
    close_markets,
    closing_times,
    delist_times,
    due,
    warnings_for,
)
from dustsweep.core.models import Announcement, Snapshot
from dustsweep.errors import Banned, ExchangeError
from dustsweep.storage.public_cache import PublicCache

if TYPE_CHECKING:
    from dustsweep.services.app import AccountHandle, App

CACHE_KIND = "delist"
CACHE_TTL_S = 3 * 3600  # Binance announces delistings days ahead; 3 h stale is harmless


@dataclass(frozen=True)
class DelistData:
    """What one exchange host says: symbol -> scheduled close (ms), and announcements."""

    closing: dict[str, int]
    announcements: tuple[Announcement, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "closing": self.closing,
            "announcements": [[a.title, a.url, a.time_ms] for a in self.announcements],
        }

    @classmethod
    def from_json(cls, doc: Any) -> DelistData:
        closing = {str(s): int(t) for s, t in dict(doc["closing"]).items()}
        notes = tuple(Announcement(str(t), str(u), int(w)) for t, u, w in doc["announcements"])
        return cls(closing, notes)


class _HostMemo:
    """One read per (exchange, host) per run, even with several accounts on the host."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.locks: dict[tuple[str, str], threading.Lock] = {}
        self.data: dict[tuple[str, str], DelistData] = {}
        # a failed read is not repeated within the run (each try already had its retries)
        self.errors: dict[tuple[str, str], ExchangeError] = {}

    def lock_for(self, key: tuple[str, str]) -> threading.Lock:
        with self.lock:
            return self.locks.setdefault(key, threading.Lock())


_MEMOS: weakref.WeakKeyDictionary[App, _HostMemo] = weakref.WeakKeyDictionary()
_MEMOS_LOCK = threading.Lock()


def _memo(app: App) -> _HostMemo:
    with _MEMOS_LOCK:
        memo = _MEMOS.get(app)
        if memo is None:
            memo = _MEMOS[app] = _HostMemo()
        return memo


def fetch_delistings(app: App, handle: AccountHandle) -> DelistData | None:
    """The host's delisting data: this run's copy, the state folder's while fresh, or the
    exchange's. None when the exchange offers no delisting source. Raises ExchangeError."""
    caps = handle.exchange.capabilities
    if not (caps.delist_schedule or caps.delist_announcements):
        return None
    key = (handle.config.exchange, handle.base_url)
    memo = _memo(app)
    with memo.lock_for(key):
        if key in memo.data:
            return memo.data[key]
        if key in memo.errors:
            raise memo.errors[key]
        cache = PublicCache(app.state_dir)
        data = _cached(cache.load(CACHE_KIND, *key, CACHE_TTL_S))
        if data is None:
            app.progress(handle.config.name, "delisting schedule")
            try:
                data = read_source(handle)
            except ExchangeError as exc:
                memo.errors[key] = exc
                raise
            cache.save(CACHE_KIND, *key, data.to_json())
        memo.data[key] = data
        return data


def read_source(handle: AccountHandle) -> DelistData:
    """One read of what the exchange publishes (the function a per-host public-data cache
    can call)."""
    exchange, caps = handle.exchange, handle.exchange.capabilities
    closing = closing_times(exchange.fetch_delist_schedule()) if caps.delist_schedule else {}
    notes = exchange.fetch_delist_announcements() if caps.delist_announcements else []
    return DelistData(closing, tuple(notes))


def _cached(value: Any) -> DelistData | None:
    if value is None:
        return None
    try:
        return DelistData.from_json(value)
    except (KeyError, TypeError, ValueError):
        return None  # a corrupt cache: ask again


def attach(
    app: App, handle: AccountHandle, snapshot: Snapshot, pending: Future[DelistData | None]
) -> Snapshot:
    """``snapshot`` with the delisting data: markets past their close marked halted (never
    chosen for a sale after their time), the delisting time of each held asset, and the
    announcements. A failed read leaves the times unknown with a warning."""
    try:
        data = pending.result()
    except Banned:
        raise
    except ExchangeError as exc:
        note = f"delisting schedule unknown: {exc}"
        return replace(snapshot, warnings=(*snapshot.warnings, note))
    if data is None:
        return snapshot
    now_ms = server_now_ms(handle)
    held = [b.asset for b in snapshot.balances]
    quotes = app.config.policy().sell_quotes
    return replace(
        snapshot,
        markets=close_markets(snapshot.markets, data.closing, now_ms),
        closing=data.closing,
        delist_at=delist_times(snapshot.markets, data.closing, held, quotes),
        announcements=data.announcements,
    )


def server_now_ms(handle: AccountHandle) -> int:
    """The exchange's clock as this account measured it (the schedule is in its time)."""
    return int(time.time() * 1000) + int(handle.exchange.clock_offset_ms)


def urgent_assets(app: App, snapshot: Snapshot | None) -> frozenset[str]:
    """With ``sell_before_delist``: held assets whose delisting is still ahead and within
    ``delist_warn_hours``; sweep sells them whatever their size (keep and the caps apply)."""
    if snapshot is None or not app.config.sell_before_delist:
        return frozenset()
    now_ms = int(time.time() * 1000)
    return due(snapshot.delist_at, now_ms, app.config.delist_warn_hours)


def sweep_warnings(app: App, accounts: Sequence[tuple[str, Snapshot | None, Any]]) -> list[str]:
    """One line per held asset delisting within ``delist_warn_hours`` (or named in a recent
    delisting announcement), per (account name, snapshot, report): asset, amount, value, time
    and what to do. Sweep prints them to stderr even with --quiet: cron mails them."""
    config = app.config
    now_ms = int(time.time() * 1000)
    lines: list[str] = []
    for name, snapshot, report in accounts:
        if snapshot is None:
            continue
        values = {a.asset: a.value for a in report.assets} if report is not None else {}
        for warning in warnings_for(
            snapshot.balances,
            values,
            config.quote,
            snapshot.delist_at,
            snapshot.announcements,
            now_ms=now_ms,
            warn_hours=config.delist_warn_hours,
            sells=config.sell_before_delist,
        ):
            lines.append(f"warning: {warning.line(name, now_ms)}")
    return lines
