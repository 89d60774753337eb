"""The ``dustsweep doctor`` lines of a Bybit account: clock, key, balances, key permissions,
the small-balance conversion endpoint. Failures are reported as lines, never raised."""

from __future__ import annotations

from typing import Protocol

from dustsweep.core.models import Balance
from dustsweep.errors import AuthError, ExchangeError
from dustsweep.exchanges.bybit import parse
from dustsweep.exchanges.bybit.delist import BNB_FEES_NOTE
from dustsweep.exchanges.bybit.errors import Wire, is_unavailable

MAX_CLOCK_OFFSET_MS = 1000


class Probed(Protocol):
    """The adapter methods the checks call."""

    def sync_clock(self) -> int: ...

    def fetch_balances(self) -> list[Balance]: ...

    def fetch_convertible(self) -> frozenset[str] | None: ...


def check_access(exchange: Probed, wire: Wire) -> list[tuple[str, bool, str]]:
    """(name, ok, detail) lines for `dustsweep doctor`; failures are reported, not raised."""
    lines: list[tuple[str, bool, str]] = []
    try:
        offset = exchange.sync_clock()
        lines.append(
            (
                "clock",
                abs(offset) <= MAX_CLOCK_OFFSET_MS,
                f"offset {offset:+d} ms, applied to every signed request "
                f"(must be within ±{MAX_CLOCK_OFFSET_MS} ms)",
            )
        )
    except ExchangeError as exc:
        lines.append(("clock", False, str(exc)))
    try:
        exchange.fetch_balances()
        lines.append(("api key", True, "accepted (a signed read succeeded)"))
        lines.append(("read balances", True, "wallet-balance (UNIFIED) readable"))
    except AuthError as exc:
        lines.append(("api key", False, str(exc)))
        return lines
    except ExchangeError as exc:
        lines.append(("read balances", False, str(exc)))
    try:
        envelope = wire.call("get_api_key_information", "read API key information")
        with wire.reading("read API key information"):
            lines.extend(parse.key_checks(parse.result_of(envelope)))
    except ExchangeError as exc:
        detail = (
            "key information is not offered on this host (demo trading?): check the "
            "key's permissions on the website"
            if is_unavailable(exc)
            else str(exc)
        )
        lines.append(("key permissions", False, detail))
    try:
        reachable = exchange.fetch_convertible() is not None
        lines.append(
            (
                "conversion endpoint",
                reachable,
                "small-balance conversion reachable"
                if reachable
                else "small-balance conversion unavailable for this key or host (demo?)",
            )
        )
    except ExchangeError as exc:
        lines.append(("conversion endpoint", False, str(exc)))
    lines.append(("bnb_fees", True, BNB_FEES_NOTE))
    return lines
