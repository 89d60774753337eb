"""Delisting: when each held asset stops being sellable, and what to tell the owner. Pure.

Whatever is left in a market after it is delisted is truly stuck, so this is the one case where
acting early beats waiting for the balance to become dust. An asset is *delisting* at time T
when every market it could be sold into (``sell_quotes``) is scheduled to close by T: one open
market is enough to sell later. A market past its scheduled close is treated as halted, so it
is never chosen for a sale after its time.

Exchanges without a schedule publish announcements: a held coin named as a word in a recent
delisting announcement's title gets a warning with the link, never a sale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal

from dustsweep.core.lots import plain
from dustsweep.core.models import Announcement, Balance, MarketRules

HOUR_MS = 3_600_000
CENT = Decimal("0.01")
# announcements older than this are history, not a warning
ANNOUNCEMENT_MAX_AGE_MS = 30 * 24 * HOUR_MS


def closing_times(schedule: Iterable[tuple[int, Sequence[str]]]) -> dict[str, int]:
    """Symbol -> its (earliest) scheduled close from ``(delist_ms, symbols)`` batches."""
    closing: dict[str, int] = {}
    for when, symbols in schedule:
        for symbol in symbols:
            closing[symbol] = min(when, closing.get(symbol, when))
    return closing


def delist_times(
    markets: Mapping[str, MarketRules],
    closing: Mapping[str, int],
    assets: Iterable[str],
    sell_quotes: Sequence[str],
) -> dict[str, int]:
    """Asset -> the time its last market into ``sell_quotes`` closes, for assets whose every
    such market is scheduled to close. Markets already halted (and not on the schedule) are no
    way out, so they do not keep an asset "listed"; an asset with no market at all is absent
    (it is stuck already, not delisting)."""
    by_base: dict[str, list[MarketRules]] = {}
    for rules in markets.values():
        if rules.quote in sell_quotes:
            by_base.setdefault(rules.base, []).append(rules)
    times: dict[str, int] = {}
    for asset in assets:
        routes = [r for r in by_base.get(asset, []) if r.trading or r.symbol in closing]
        if routes and all(r.symbol in closing for r in routes):
            times[asset] = max(closing[r.symbol] for r in routes)
    return times


def close_markets(
    markets: Mapping[str, MarketRules], closing: Mapping[str, int], now_ms: int
) -> dict[str, MarketRules]:
    """``markets`` with every market past its scheduled close marked not trading."""
    closed = {s for s, when in closing.items() if when <= now_ms and s in markets}
    if not closed:
        return dict(markets)
    return {s: replace(r, trading=False) if s in closed else r for s, r in markets.items()}


def mentioned(asset: str, announcements: Iterable[Announcement]) -> Announcement | None:
    """The newest announcement whose title names ``asset`` as a whole word ("ETH" is not
    named by "ETHFI"), and not as the quote of a pair ("USDT" in "KAVA/USDT"), or None."""
    word = re.compile(rf"(?<![A-Za-z0-9/]){re.escape(asset)}(?![A-Za-z0-9])")
    found = [a for a in announcements if word.search(a.title)]
    return max(found, key=lambda a: a.time_ms) if found else None


def announced(
    assets: Iterable[str], announcements: Sequence[Announcement], now_ms: int
) -> list[tuple[str, Announcement]]:
    """(asset, announcement) for each of ``assets`` named in a recent announcement's title."""
    recent = [a for a in announcements if now_ms - a.time_ms <= ANNOUNCEMENT_MAX_AGE_MS]
    found = []
    for asset in assets:
        hit = mentioned(asset, recent)
        if hit is not None:
            found.append((asset, hit))
    return found


def in_hours(delist_ms: int, now_ms: int) -> str:
    """ "delisted in 23 h" (rounded down, at least "in < 1 h"), or "delisted" once past."""
    left = delist_ms - now_ms
    if left <= 0:
        return "delisted"
    hours = left // HOUR_MS
    return f"delisted in {hours} h" if hours else "delisted in < 1 h"


def iso_utc(ms: int) -> str:
    """ISO-8601 UTC, second precision: ``2026-12-07T04:00:00Z``."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class DelistWarning:
    """One held asset about to become stuck: what, how much, worth, when, what to do."""

    asset: str
    amount: Decimal
    value: Decimal | None
    quote: str
    at_ms: int | None  # scheduled time; None: named in an announcement only
    advice: str
    url: str | None = None

    def line(self, account: str, now_ms: int) -> str:
        worth = (
            f"{plain(self.value.quantize(CENT))} {self.quote}" if self.value is not None else "?"
        )
        when = (
            f"{in_hours(self.at_ms, now_ms)} ({iso_utc(self.at_ms)})"
            if self.at_ms is not None
            else "named in a delisting announcement"
        )
        link = f" {self.url}" if self.url else ""
        return (
            f"{account}: {self.asset} {plain(self.amount)} (worth {worth}) {when}: "
            f"{self.advice}{link}"
        )


def due(delist_at: Mapping[str, int], now_ms: int, warn_hours: Decimal) -> frozenset[str]:
    """Assets delisting in the future, within ``warn_hours``: the ones to act on now."""
    horizon = now_ms + int(warn_hours * HOUR_MS)
    return frozenset(a for a, when in delist_at.items() if now_ms < when <= horizon)


def warnings_for(
    balances: Iterable[Balance],
    values: Mapping[str, Decimal | None],
    quote: str,
    delist_at: Mapping[str, int],
    announcements: Sequence[Announcement],
    *,
    now_ms: int,
    warn_hours: Decimal,
    sells: bool,
) -> list[DelistWarning]:
    """A warning per held asset delisting within ``warn_hours`` (scheduled, or, without a
    schedule, named in an announcement of the last 30 days). ``sells``: sell_before_delist is
    on (the advice then says the sweep sells it)."""
    soon = due(delist_at, now_ms, warn_hours)
    recent = [a for a in announcements if now_ms - a.time_ms <= ANNOUNCEMENT_MAX_AGE_MS]
    found: list[DelistWarning] = []
    for balance in sorted(balances, key=lambda b: b.asset):
        if balance.total <= 0 or balance.asset == quote:
            continue
        value = values.get(balance.asset)
        if balance.asset in soon:
            advice = (
                "sweep sells it before then (sell_before_delist)"
                if sells
                else "sell or convert it before then, or set sell_before_delist = true"
            )
            found.append(
                DelistWarning(
                    balance.asset,
                    balance.total,
                    value,
                    quote,
                    delist_at[balance.asset],
                    advice,
                )
            )
            continue
        if balance.asset in delist_at:
            continue  # scheduled, but later (or past): the schedule is the better source
        hit = mentioned(balance.asset, recent)
        if hit is not None:
            advice = f"read '{hit.title}' and sell or convert it yourself if it applies"
            found.append(
                DelistWarning(balance.asset, balance.total, value, quote, None, advice, hit.url)
            )
    return found
