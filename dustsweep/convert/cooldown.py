"""The small-balance conversion cool-down: refuse early, with the time it ends.

Binance allows one small-balance conversion per period (6 h by its current FAQ; the -5006 text
still says 24 h, so the period is the user's ``cooldown_hours``). Asking anyway costs a
rejected request and says nothing about when to come back, so the last conversion is looked up
first: the exchange's own log (``last_conversion_ms``: Binance's dribblet log, which also holds
conversions made on the website) and the local history, whichever is later (the exchange's log
can lag, and a conversion recorded here must count even if it cannot be read back).

Whether an exchange has a cool-down at all is a capability (``converter_caps``), not a name
check, so the caller can pass ``applies`` explicitly or let the adapter say.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dustsweep.convert.caps import has_conversion_cooldown
from dustsweep.core.routes import Route
from dustsweep.errors import CooldownActive, ExchangeError
from dustsweep.storage.records import RecordStatus

if TYPE_CHECKING:
    from dustsweep.exchanges.base import Exchange
    from dustsweep.storage.ledger import Ledger


def iso_ms(ms: int) -> str:
    """``2026-11-25T09:00:01Z``: milliseconds rounded UP to the second, so the time shown is
    never before the moment the conversion becomes possible."""
    seconds = math.ceil(ms / 1000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_ms(stamp: str) -> int:
    """A ledger timestamp (ISO-8601 UTC) in epoch milliseconds."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return int(moment.timestamp() * 1000)


def last_local_conversion_ms(ledger: Ledger, exchange: str, account: str) -> int | None:
    """When the local history last recorded a ``converted`` small-balance conversion for this
    account (Convert-quote trades have no cool-down and do not count)."""
    stamps = [
        record_ms(r.time)
        for r in ledger.records(account=account, kind="conversion", exchange=exchange)
        if r.status == RecordStatus.CONVERTED and r.market != Route.CONVERT
    ]
    return max(stamps) if stamps else None


def check_cooldown(
    exchange: Exchange,
    ledger: Ledger,
    account: str,
    cooldown_s: int,
    now_ms: int,
    *,
    applies: bool | None = None,
) -> None:
    """Raise ``CooldownActive`` while the last conversion is less than ``cooldown_s`` old.

    ``now_ms`` is the exchange's time (local time + the adapter's clock offset): the log's
    times are the exchange's. ``applies`` overrides the capability (None: ask the adapter,
    ``converter_caps.has_conversion_cooldown``); without a cool-down nothing is read.
    """
    if applies is None:
        applies = has_conversion_cooldown(exchange)
    if not applies or cooldown_s <= 0:
        return
    dated: list[tuple[int, str]] = []
    remote = exchange.last_conversion_ms()
    if remote is not None:
        dated.append((remote, "exchange log"))
    local = last_local_conversion_ms(ledger, exchange.name, account)
    if local is not None:
        dated.append((local, "local history"))
    if not dated:
        return
    last, source = max(dated)
    until = last + cooldown_s * 1000
    if now_ms < until:
        raise CooldownActive(
            f"{exchange.name} account '{account}': small-balance conversion is in its "
            f"cool-down until {iso_ms(until)} (last conversion {iso_ms(last)}, per the "
            f"{source}; one every {_hours(cooldown_s)})",
            until_ms=until,
        )


def cooldown_after_refusal(
    exchange: Exchange,
    ledger: Ledger,
    account: str,
    cooldown_s: int,
    error: ExchangeError,
) -> CooldownActive:
    """The exchange refused because of its cool-down (Binance -5006): say until when, if the
    last conversion can be dated; the lookup is best effort, the refusal stands either way.
    An exchange without a cool-down (Bybit 700021: another conversion is still processing)
    gets no invented end time."""
    if not has_conversion_cooldown(exchange):
        return CooldownActive(
            f"{exchange.name} account '{account}': the exchange refuses another small-balance "
            f"conversion for now (try again later): {error}",
            until_ms=None,
        )
    try:
        remote = exchange.last_conversion_ms()
    except ExchangeError:
        remote = None
    local = last_local_conversion_ms(ledger, exchange.name, account)
    stamps = [ms for ms in (remote, local) if ms is not None]
    until = max(stamps) + cooldown_s * 1000 if stamps and cooldown_s > 0 else None
    when = f"until {iso_ms(until)}" if until is not None else "for now (end time unknown)"
    return CooldownActive(
        f"{exchange.name} account '{account}': the exchange refuses another small-balance "
        f"conversion {when}: {error}",
        until_ms=until,
    )


def _hours(seconds: int) -> str:
    hours = seconds / 3600
    return f"{hours:g} h" if hours >= 1 else f"{seconds} s"
