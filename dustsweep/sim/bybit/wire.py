"""Wire-level helpers of the Bybit V5 dialect: the envelope, number text, ids, errors.

Bybit answers HTTP 200 with ``{"retCode", "retMsg", "result", "retExtInfo", "time"}`` even for
errors, and writes almost every number as a string. Keeping those rules in one place lets every
endpoint module raise ``BybitError`` and return plain dicts.
"""

from __future__ import annotations

import itertools
import re
import threading
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from dustsweep.sim.core import SimResponse

ZERO = Decimal(0)

# A plain decimal as Bybit accepts it in qty/price fields: no sign, no exponent.
_PLAIN_DECIMAL = re.compile(r"^\d+(\.\d+)?$")


class BybitError(Exception):
    """A non-zero retCode with its retMsg; the dispatcher turns it into the envelope."""

    def __init__(self, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message
        self.headers = headers or {}


def envelope(
    now_ms: int,
    result: Any,
    *,
    code: int = 0,
    message: str = "OK",
    headers: dict[str, str] | None = None,
) -> SimResponse:
    """The V5 envelope; HTTP 200 whatever ``code`` is (Bybit reports errors in the body)."""
    body = {
        "retCode": code,
        "retMsg": message,
        "result": result,
        "retExtInfo": {},
        "time": now_ms,
    }
    return SimResponse(status=200, body=body, headers=dict(headers or {}))


def num(value: Decimal) -> str:
    """Bybit's number text: plain notation, no trailing zeros ("0.5", "12", "0")."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """True when ``value`` is a whole number of ``step`` (a zero step allows anything)."""
    if step <= 0:
        return True
    return (value % step) == 0


def parse_amount(raw: Any, field: str) -> Decimal:
    """A qty/price as the client sent it. JSON numbers are read via their text, never float
    arithmetic; anything that is not a plain positive decimal is Bybit's 170130."""
    text = raw if isinstance(raw, str) else str(raw)
    if isinstance(raw, bool) or not _PLAIN_DECIMAL.match(text):
        raise BybitError(170130, f"Data sent for parameter '{field}' is not valid.")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise BybitError(170130, f"Data sent for parameter '{field}' is not valid.") from exc


def quantize_down(value: Decimal, places: int) -> Decimal:
    """Cut ``value`` to ``places`` decimals (conversion amounts are quoted to 18 decimals)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)


class IdMaker:
    """Unique numeric ids shaped like Bybit's (19-digit order ids, 28-digit quote ids).

    Ids mix the clock in so a demo restarted against the same ledger does not reuse one.
    """

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def _next(self) -> int:
        with self._lock:
            return next(self._counter)

    def order_id(self, now_ms: int) -> str:
        return str(now_ms * 1_000_000 + self._next() % 1_000_000)

    def quote_id(self, now_ms: int) -> str:
        return f"10100{now_ms:013d}{self._next():010d}"
