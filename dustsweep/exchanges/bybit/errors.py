"""Turn what Bybit (through pybit) reports into ``dustsweep.errors``. Imports no SDK.

pybit raises ``InvalidRequestError`` for a non-zero ``retCode`` and ``FailedRequestError`` for an
HTTP status other than 200 (or, with status 409, a body that is not JSON). ``bybit.wire`` catches
those and hands the numbers to the functions here, so the whole code table lives in one small,
SDK-free module that tests can read next to the reference docs.

Every message is one line: what happened, which account and host, and what to check. The
exchange's own ``retMsg`` is included only after ``scrub`` removed the api key and secret: a
10004 answer echoes ``origin_string[timestamp+apiKey+recvWindow+payload]``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from dustsweep.errors import (
    AuthError,
    Banned,
    ClockSkew,
    ConversionRejected,
    ExchangeError,
    NetworkError,
    OrderRejected,
    RateLimited,
    ServerError,
)
from dustsweep.exchanges.headers import NOT_PROCESSED, header, retry_after_seconds

# What the failing call was doing decides how an unknown retCode reads: a refused order
# executed nothing (OrderRejected), a refused conversion converted nothing.
READ = "read"
ORDER = "order"
CONVERSION = "conversion"

# Bybit's (and pybit's) fixed back-off when a limit answer carries no reset time.
DEFAULT_RATE_LIMIT_WAIT_S = 2.0

AUTH_HINTS: Mapping[int, str] = {
    10003: "the API key is not valid on this host (mainnet, testnet and demo keys are separate)",
    10004: "the signature was rejected: check the API secret",
    10005: "the key lacks a permission for this call (see `dustsweep doctor`)",
    10007: "user authentication failed: check the API key",
    10010: "the request IP is not in the key's IP whitelist",
}
CLOCK_CODES = frozenset({10002})
RATE_CODES = frozenset({10006})
SERVER_CODES = frozenset({10000, 10016, 790000})
# retCode 429 is "trading service high load": outcome unknown like a 5xx.
BUSY_CODES = frozenset({429})

ORDER_KINDS: Mapping[int, str] = {
    170136: "filter",  # quantity below minOrderQty
    170137: "filter",  # too many decimals for basePrecision
    170140: "filter",  # value below minOrderAmt
    170148: "filter",  # market amount decimals
    170124: "filter",  # amount too large
    170381: "filter",  # quantity too large (replaced 170135)
    170382: "filter",
    170157: "halted",  # pair not available for API trading
    170121: "halted",  # invalid symbol: pair missing or delisted
    170151: "halted",  # pair not open yet
    170159: "halted",  # no market orders in a new pair's first minutes
    170131: "insufficient",
    170141: "duplicate",
    110072: "duplicate",
}

CONVERSION_KINDS: Mapping[int, str] = {
    700008: "expired",  # price timeout: the quote expired
    32024: "expired",  # rate moved more than 0.5 % since the quote
    700009: "other",  # quote already used: reconcile from history
    700013: "ineligible",  # coin does not support convert
    700006: "ineligible",  # below the per-transaction minimum
    700007: "ineligible",  # above the per-transaction maximum
    700005: "insufficient",
    700021: "cooldown",  # another exchange order is still processing
}

# Answers that mean "this endpoint is not available to this key/host", not "something broke":
# 10005 permission, 10017 route not found, 10028/100028 account mode, 10032 demo trading.
UNAVAILABLE_CODES = frozenset({10005, 10017, 10028, 100028, 10032})
UNAVAILABLE_HTTP = frozenset({404})

_SIGN_ECHO = re.compile(r"origin_string\[[^\]]*\]?", re.IGNORECASE)


@dataclass(frozen=True)
class CallContext:
    """Who was calling what: everything a message needs, and the values it must never show."""

    account: str
    host: str
    action: str  # "read balances", "place order", ...
    purpose: str = READ  # READ | ORDER | CONVERSION
    secrets: tuple[str, ...] = ()

    def prefix(self) -> str:
        return f"bybit account '{self.account}' ({self.host}): {self.action} failed"


class Wire(Protocol):
    """The adapter's transport as the SDK-free helpers see it (``bybit.wire.BybitWire``)."""

    account: str
    host: str

    def call(
        self, method: str, action: str, *, purpose: str = READ, retry: bool = True, **params: Any
    ) -> Mapping[str, Any]:
        """Call the pybit method ``method``; the V5 envelope, or a dustsweep error."""
        ...

    def reading(self, action: str) -> AbstractContextManager[None]:
        """Report a malformed answer read inside the block as a ServerError."""
        ...

    def sleep(self, seconds: float) -> None: ...

    def server_now_ms(self) -> int: ...


def is_unavailable(exc: ExchangeError) -> bool:
    """The endpoint is not offered to this key or host (demo, permission, 404)."""
    return exc.code in UNAVAILABLE_CODES or exc.http_status in UNAVAILABLE_HTTP


def scrub(text: object, secrets: tuple[str, ...] = ()) -> str:
    """One line, no key/secret/signature echo, bounded length."""
    line = " ".join(str(text).split())
    line = _SIGN_ECHO.sub("origin_string[…]", line)
    for secret in secrets:
        if secret:
            line = line.replace(secret, "***")
    return line if len(line) <= 200 else line[:197] + "..."


def retry_after_s(headers: Mapping[str, str] | None, server_now_ms: int) -> float | None:
    """Seconds to wait: ``Retry-After`` if given, else ``X-Bapi-Limit-Reset-Timestamp``."""
    retry_after = retry_after_seconds(headers)
    if retry_after is not None:
        return retry_after
    reset = header(headers, "X-Bapi-Limit-Reset-Timestamp")
    if reset is not None:
        try:
            return max(0.0, (int(reset) - server_now_ms) / 1000)
        except ValueError:
            return None
    return None


def from_ret_code(
    ctx: CallContext,
    code: int,
    message: object,
    headers: Mapping[str, str] | None,
    server_now_ms: int,
) -> ExchangeError:
    """A non-zero retCode as the matching dustsweep error."""
    said = scrub(message, ctx.secrets)
    base = f"{ctx.prefix()}: Bybit {code} {said!r}"
    if code in AUTH_HINTS:
        return AuthError(f"{base}; {AUTH_HINTS[code]}", code=code)
    if code in CLOCK_CODES:
        return ClockSkew(
            f"{base}; the local clock is outside the receive window: check the system clock "
            "(NTP) and re-measure the offset to Bybit's time",
            code=code,
        )
    if code in RATE_CODES:
        wait = retry_after_s(headers, server_now_ms)
        return RateLimited(
            f"{base}; request rate limit reached, slow down",
            retry_after=DEFAULT_RATE_LIMIT_WAIT_S if wait is None else wait,
            code=code,
        )
    if code in SERVER_CODES or code in BUSY_CODES:
        return ServerError(
            f"{base}; server error or overload: the outcome is unknown, check before retrying",
            code=code,
        )
    if ctx.purpose == ORDER:
        kind = ORDER_KINDS.get(code, "other")
        return OrderRejected(f"{base}; the order was refused ({kind})", kind=kind, code=code)
    if ctx.purpose == CONVERSION:
        kind = CONVERSION_KINDS.get(code, "other")
        return ConversionRejected(
            f"{base}; the conversion was refused ({kind})", kind=kind, code=code
        )
    return ExchangeError(base, code=code)


def from_http_status(
    ctx: CallContext,
    status: int,
    headers: Mapping[str, str] | None,
    server_now_ms: int,
    *,
    undecodable: bool = False,
) -> ExchangeError:
    """An HTTP-level failure (pybit ``FailedRequestError``) as the matching dustsweep error."""
    base = f"{ctx.prefix()}: HTTP {status}"
    if undecodable:
        return ServerError(
            f"{ctx.prefix()}: the answer was not valid JSON; the outcome is unknown, "
            "check before retrying",
            http_status=status,
        )
    if status == 403:
        return Banned(
            f"{base}: the IP is blocked (rate limit breached, or a US/mainland-China IP); "
            "stop and wait at least 10 minutes",
            retry_after=retry_after_s(headers, server_now_ms) or 600.0,
            http_status=status,
        )
    if status == 429:
        wait = retry_after_s(headers, server_now_ms)
        return RateLimited(
            f"{base}: too many requests, slow down",
            retry_after=DEFAULT_RATE_LIMIT_WAIT_S if wait is None else wait,
            http_status=status,
        )
    if status >= 500:
        return ServerError(
            f"{base}: server error; the outcome is unknown, check before retrying",
            http_status=status,
        )
    if status == 401:
        return AuthError(
            f"{base}: authentication headers rejected; check the API key and secret",
            http_status=status,
        )
    if status == 404:
        return ExchangeError(f"{base}: endpoint not found; check the base URL", http_status=status)
    if status in NOT_PROCESSED:
        return ExchangeError(f"{base}: the request was refused", http_status=status)
    return ServerError(
        f"{base}: unexpected answer; the outcome is unknown, check before retrying",
        http_status=status,
    )


def from_network(ctx: CallContext, exc: BaseException, timeout_s: float) -> NetworkError:
    """No answer at all: refused, dropped or timed out. For an order the outcome is unknown."""
    name = type(exc).__name__
    text = str(exc).lower()
    if "timeout" in name.lower() or "timed out" in text:
        what = f"no answer within {timeout_s:g} s (timeout)"
    elif "refused" in text:
        what = "connection refused"
    else:
        what = f"connection failed or dropped ({name})"
    return NetworkError(
        f"{ctx.prefix()}: {what}; check the network and that {ctx.host} is reachable"
        + (
            "; the order may still have executed, reconcile before resending"
            if ctx.purpose == ORDER
            else ""
        )
    )


def from_bad_payload(ctx: CallContext, exc: BaseException) -> ServerError:
    """A 200 answer whose shape we cannot read: treat it like an undecodable body."""
    return ServerError(
        f"{ctx.prefix()}: unexpected answer shape ({type(exc).__name__}: "
        f"{scrub(exc, ctx.secrets)}); the outcome is unknown"
    )
