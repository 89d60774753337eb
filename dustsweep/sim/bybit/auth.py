"""Signed-request checks and per-UID rate limits of the Bybit V5 dialect.

The signature is an HMAC over the bytes exactly as received (raw query string for GET, raw body
for POST), never over a re-serialised form: a client that signs one string and sends another
must fail here as it would on Bybit (bybit-api.md §1.2, the sieblyio comma bug).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import deque
from collections.abc import Mapping

from dustsweep.sim.bybit.accounts import SimAccount
from dustsweep.sim.bybit.wire import BybitError
from dustsweep.sim.core import SimRequest

DEFAULT_RECV_WINDOW = 5000
FUTURE_TOLERANCE_MS = 1000  # Bybit rejects a timestamp 1 s or more ahead of its clock


def expected_signature(secret: str, prefix: str, payload: bytes) -> str:
    """hex(HMAC_SHA256(secret, timestamp + key + recvWindow + payload))."""
    return hmac.new(secret.encode(), prefix.encode() + payload, hashlib.sha256).hexdigest()


def authenticate(
    request: SimRequest, accounts_by_key: Mapping[str, SimAccount], now_ms: int
) -> SimAccount:
    """The account a signed request belongs to, or the BybitError Bybit would answer.

    Order of checks as Bybit reports them: key (10003), timestamp window (10002), signature
    (10004). ``now_ms`` is the simulator clock, so a skewed SimClock produces 10002.
    """
    key = request.header("X-BAPI-API-KEY") or ""
    account = accounts_by_key.get(key)
    if account is None:
        raise BybitError(10003, "API key is invalid.")
    timestamp_text = request.header("X-BAPI-TIMESTAMP") or ""
    window_text = request.header("X-BAPI-RECV-WINDOW")
    try:
        timestamp = int(timestamp_text)
        window = int(window_text) if window_text is not None else DEFAULT_RECV_WINDOW
    except ValueError as exc:
        raise BybitError(
            10001, "invalid request, please check your timestamp and recv_window param"
        ) from exc
    if not (now_ms - window <= timestamp < now_ms + FUTURE_TOLERANCE_MS):
        raise BybitError(
            10002,
            "invalid request, please check your server timestamp or recv_window param. "
            f"req_timestamp[{timestamp}],server_timestamp[{now_ms}],recv_window[{window}]",
        )
    payload = request.query.encode() if request.method == "GET" else request.body
    prefix = timestamp_text + key + (window_text if window_text is not None else "")
    wanted = expected_signature(account.api_secret, prefix, payload)
    sent = (request.header("X-BAPI-SIGN") or "").lower()
    if not hmac.compare_digest(wanted, sent):
        origin = prefix + payload.decode("utf-8", "replace")
        raise BybitError(10004, f"error sign! origin_string[{origin}]")
    return account


class RateLimiter:
    """Rolling 1-second per-UID, per-endpoint counters that feed Bybit's X-Bapi-Limit headers.

    Enforcement (retCode 10006 "Too many visits!") is off unless the scenario asks for it, so
    ordinary tests never depend on wall-clock timing.
    """

    def __init__(self, enforce: bool = False) -> None:
        self.enforce = enforce
        self._hits: dict[tuple[str, str], deque[int]] = {}

    def hit(self, account: SimAccount, path: str, limit: int, now_ms: int) -> dict[str, str]:
        window = self._hits.setdefault((account.api_key, path), deque())
        while window and window[0] <= now_ms - 1000:
            window.popleft()
        over = len(window) >= limit
        if not over:
            window.append(now_ms)
        remaining = max(0, limit - len(window))
        reset = window[0] + 1000 if window and remaining == 0 else now_ms
        headers = {
            "X-Bapi-Limit": str(limit),
            "X-Bapi-Limit-Status": str(remaining),
            "X-Bapi-Limit-Reset-Timestamp": str(reset),
        }
        if over and self.enforce:
            raise BybitError(10006, "Too many visits!", headers)
        return headers
