"""Translate Binance error answers into ``dustsweep.errors``. Imports no SDK.

The adapter hands over plain facts (HTTP status, Binance ``code``, ``msg``, headers) so this
module stays testable without python-binance. Each message is one line that names the account,
the host and what to check; it never carries the api key, the secret or a signature (the
caller's ``redact`` removes them, and request URLs, which hold signatures, are never quoted).

Whether an error means "nothing happened" or "outcome unknown" matters more than its text:
``ServerError`` and ``NetworkError`` tell the executor to reconcile before doing anything else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

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
from dustsweep.exchanges.headers import NOT_PROCESSED, retry_after_seconds, summarize_body

READ = "read"
ORDER = "order"
CONVERT = "convert"

# Codes whose outcome is unknown: the request may or may not have been executed.
_UNKNOWN_OUTCOME = {
    -1000: "unknown error",
    -1006: "unexpected response from the message bus",
    -1007: "backend timeout",
    -1008: "server busy",
}
_AUTH_HINTS = {
    -1002: "the key is not authorized for this endpoint (API management permissions)",
    -1022: "check the API secret (signature rejected)",
    -2014: "check the API key (format invalid)",
    -2015: "check the API key, its IP whitelist and its permissions",
}
_RATE_CODES = {-1003, -1015}
_ORDER_FILTER_CODES = {-1013, -1111, -1100}
_CONVERSION_KINDS = {
    -5001: "ineligible",
    -5003: "ineligible",
    -5004: "ineligible",
    -5005: "ineligible",
    -5002: "insufficient",
    -5006: "cooldown",
}
_SIGNATURE_RE = re.compile(r"signature=[^&\s]*", re.IGNORECASE)
_MAX_DETAIL = 200


@dataclass(frozen=True)
class CallContext:
    """Who is calling what: everything a message needs, nothing secret in ``repr``."""

    account: str
    host: str
    action: str  # e.g. "read balances (GET /api/v3/account)"
    kind: str = READ  # READ | ORDER | CONVERT: which rejection type a 4xx becomes
    redact: Callable[[str], str] = field(default=lambda text: text, repr=False)
    # A signed request of this account already succeeded in this run: the secret is right, so
    # a later -1022 is about how this one request was signed, not about the key.
    signed_ok: bool = False
    key_type: str = "HMAC"  # or "Ed25519" / "RSA": what a rejected signature points at

    def message(self, reason: str, hint: str) -> str:
        """One line: account, host, action, the exchange's reason and what to check."""
        text = f"binance account '{self.account}' at {self.host}: {self.action} failed: {reason}"
        if hint:
            text += f"; {hint}"
        return one_line(self.redact(text))


def one_line(text: str) -> str:
    """Collapse whitespace (HTML error pages) and drop anything that looks like a signature."""
    return _SIGNATURE_RE.sub("signature=<hidden>", " ".join(text.split()))


def short(text: str) -> str:
    """An exchange-supplied detail, cut so an HTML page cannot flood the terminal."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_DETAIL else flat[: _MAX_DETAIL - 3] + "..."


def order_rejection_kind(code: int | None, msg: str) -> str:
    """Why the engine refused an order. -2010 covers several causes, so read its message."""
    if code in _ORDER_FILTER_CODES:
        return "filter"
    if code == -1121:
        return "halted"  # "Invalid symbol.": the symbol is gone
    if code == -2010:
        low = msg.lower()
        if "insufficient balance" in low:
            return "insufficient"
        if "market is closed" in low:
            return "halted"
        if "duplicate order" in low:
            return "duplicate"
    return "other"


def conversion_rejection_kind(code: int | None, msg: str) -> str:
    """Map the wallet -5xxx codes (and an expired Convert quote) to ConversionRejected kinds."""
    if code in _CONVERSION_KINDS:
        return _CONVERSION_KINDS[code]
    if "expire" in msg.lower():
        return "expired"
    return "other"


_REFUSED = NOT_PROCESSED | {403}  # 403 without a code: the firewall (WAF) refused it


def from_api_error(
    ctx: CallContext,
    *,
    status: int,
    code: int | None,
    msg: str,
    headers: Mapping[str, str],
) -> ExchangeError:
    """The dustsweep error for a non-2xx answer. Order of checks = order of severity."""
    detail = short(summarize_body(msg)) if msg else f"HTTP {status}"
    reason = f"{detail} (code {code}, HTTP {status})" if code else f"{detail} (HTTP {status})"
    wait = retry_after_seconds(headers)
    if status == 418:
        hint = f"the IP is banned for {wait:g} s; stop and wait" if wait else "the IP is banned"
        return Banned(ctx.message(reason, hint), retry_after=wait, code=code, http_status=status)
    if status == 429 or code in _RATE_CODES:
        hint = f"rate limited; wait {wait:g} s" if wait is not None else "rate limited; slow down"
        return RateLimited(
            ctx.message(reason, hint), retry_after=wait, code=code, http_status=status
        )
    # A 5xx, a code that says so, or a status without a code that does not prove the request
    # was refused (a 408, a proxy's page): it may have run.
    if status >= 500 or code in _UNKNOWN_OUTCOME or (not code and status not in _REFUSED):
        hint = "the exchange failed; the outcome is unknown, check before retrying"
        return ServerError(ctx.message(reason, hint), code=code, http_status=status)
    if code == -1021:
        hint = "the local clock is off; sync the clock (dustsweep doctor) and check NTP"
        return ClockSkew(ctx.message(reason, hint), code=code, http_status=status)
    if code == -1022 and ctx.signed_ok:
        hint = (
            f"the exchange rejected the signature of this request ({ctx.action}) after "
            "accepting earlier signed requests of this run: a signing problem of this request, "
            "not the key/secret; please report it"
        )
        return AuthError(ctx.message(reason, hint), code=code, http_status=status)
    if code == -1022 and ctx.key_type != "HMAC":
        hint = (
            f"check that the {ctx.key_type} public key registered for this API key matches "
            "api_private_key_file (signature rejected)"
        )
        return AuthError(ctx.message(reason, hint), code=code, http_status=status)
    if code in _AUTH_HINTS or status == 401:
        hint = _AUTH_HINTS.get(code or 0, "check the API key and secret")
        return AuthError(ctx.message(reason, hint), code=code, http_status=status)
    if status == 404:
        hint = "endpoint not available here (the spot testnet has no /sapi); check base_url"
        return ExchangeError(ctx.message(reason, hint), code=code, http_status=status)
    if ctx.kind == ORDER and code:
        kind = order_rejection_kind(code, msg)
        return OrderRejected(
            ctx.message(reason, f"order rejected ({kind}); nothing was executed"),
            kind=kind,
            code=code,
            http_status=status,
        )
    if ctx.kind == CONVERT and code:
        kind = conversion_rejection_kind(code, msg)
        return ConversionRejected(
            ctx.message(reason, f"conversion rejected ({kind})"),
            kind=kind,
            code=code,
            http_status=status,
        )
    if status == 403:
        hint = "blocked by the exchange's firewall (WAF); check the request and your IP"
        return ExchangeError(ctx.message(reason, hint), code=code, http_status=status)
    return ExchangeError(ctx.message(reason, ""), code=code, http_status=status)


def bad_body(ctx: CallContext, detail: str) -> ServerError:
    """A 2xx whose body is not what the endpoint returns: for an order the outcome is unknown."""
    return ServerError(
        ctx.message(f"unreadable answer: {short(detail)}", "the outcome is unknown"),
        http_status=200,
    )


def network_failure(
    ctx: CallContext, *, timed_out: bool, timeout_s: float, outcome_unknown: bool
) -> NetworkError:
    """No usable answer. The request URL (which holds the signature) is never quoted."""
    if timed_out:
        reason = f"no answer within {timeout_s:g} s (timeout)"
    else:
        reason = "connection failed or was dropped"
    hint = "check the network and base_url"
    if outcome_unknown:
        hint += "; the outcome is unknown, check before retrying"
    return NetworkError(ctx.message(reason, hint))


def unavailable(err: ExchangeError) -> bool:
    """The endpoint does not exist here (404: testnet) or the key may not use it."""
    return err.http_status == 404 or err.code == -1002 or isinstance(err, AuthError)
