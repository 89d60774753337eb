"""Wire-level pieces of the Binance dialect: its error shape, parameter parsing, number text.

Binance answers every failure as ``{"code": <negative int>, "msg": "..."}`` with a 4xx status,
and writes every amount as a string with a fixed number of decimals. Keeping those rules in one
place is what makes the simulator's answers look like the real exchange's byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_DOWN, ROUND_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from dustsweep.sim.core import SimRequest, SimResponse

ZERO = Decimal(0)
ONE = Decimal(1)
# Liquidity large enough to fill any order: market sells fill completely unless limited.
UNLIMITED = Decimal("1e30")

# Binance's own regex for DECIMAL parameters (binance-api.md §1.1).
DECIMAL_RE = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
DECIMAL_RANGE = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
INT_RE = re.compile(r"^-?[0-9]{1,20}$")

# Messages used by more than one endpoint family (binance-api.md §10).
INVALID_SYMBOL = "Invalid symbol."
INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
NO_SUCH_ORDER = "Order does not exist."
INVALID_KEY = "Invalid API-key, IP, or permissions for action."

# Parameters that may legitimately repeat (``asset=ADA&asset=XRP`` on the dust endpoints).
REPEATABLE = frozenset({"asset"})


class BinanceError(Exception):
    """A rejection in Binance's shape; handlers raise it, the router turns it into a response."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status

    def response(self) -> SimResponse:
        return SimResponse(self.status, {"code": self.code, "msg": self.msg})


def mandatory(name: str) -> BinanceError:
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def one_of(first: str, second: str) -> BinanceError:
    return BinanceError(
        -1102, f"Param '{first}' or '{second}' must be sent, but both were empty/null!"
    )


def not_required(name: str) -> BinanceError:
    return BinanceError(-1106, f"Parameter '{name}' sent when not required.")


def illegal_chars(name: str, legal: str) -> BinanceError:
    return BinanceError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'."
    )


def request_params(request: SimRequest) -> dict[str, str]:
    """Query and form body merged; on a clash the query string wins (as on Binance).

    A name repeated inside one part is -1101, except the list parameters that Binance accepts
    in repeated form.
    """
    merged: dict[str, str] = {}
    for part in (request.body.decode("utf-8", "replace"), request.query):
        seen: set[str] = set()
        for key, value in parse_qsl(part, keep_blank_values=True):
            if key in seen and key not in REPEATABLE:
                raise BinanceError(-1101, "Duplicate values for a parameter detected.")
            seen.add(key)
            merged[key] = value
    return merged


def list_param(request: SimRequest, name: str) -> list[str]:
    """All values of a list parameter, sent repeated (``asset=A&asset=B``) or comma-joined.

    python-binance sends ``asset=ADA%2CXRP`` (one comma-joined value); ccxt repeats the key.
    Both forms reach the same list, without duplicates, in the order given.
    """
    values: list[str] = []
    for part in (request.query, request.body.decode("utf-8", "replace")):
        for key, value in parse_qsl(part, keep_blank_values=True):
            if key == name:
                values.extend(v.strip() for v in value.split(","))
    return list(dict.fromkeys(v for v in values if v))


def required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if value == "":
        raise mandatory(name)
    return value


def decimal_param(params: Mapping[str, str], name: str) -> Decimal | None:
    """A DECIMAL parameter checked against Binance's regex, or None when absent."""
    text = params.get(name)
    if text is None or text == "":
        return None
    if not DECIMAL_RE.match(text):
        raise illegal_chars(name, DECIMAL_RANGE)
    return Decimal(text)


def int_param(params: Mapping[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None or text == "":
        return None
    if not INT_RE.match(text):
        raise illegal_chars(name, "^[0-9]{1,20}$")
    return int(text)


def bool_param(params: Mapping[str, str], name: str, default: bool = False) -> bool:
    text = params.get(name)
    if text is None or text == "":
        return default
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise illegal_chars(name, "^(true|false)$")
    return lowered == "true"


def to_decimal(value: Any, what: str = "amount") -> Decimal:
    """A Decimal from a scenario value (string or int; a float is refused: it is not exact)."""
    if isinstance(value, float):
        raise ValueError(f"{what}: write {value!r} as a string, floats are not exact")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{what}: {value!r} is not a number") from exc


def decimals_of(value: Decimal) -> int:
    """Digits after the point, trailing zeros ignored (``1.500`` has 1)."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def quantum(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


def floor_places(value: Decimal, places: int = 8) -> Decimal:
    return value.quantize(quantum(places), rounding=ROUND_DOWN)


def ceil_places(value: Decimal, places: int = 8) -> Decimal:
    return value.quantize(quantum(places), rounding=ROUND_UP)


def fixed(value: Decimal, places: int = 8) -> str:
    """Binance's fixed-decimals text: ``fixed(Decimal("1.5"))`` is ``"1.50000000"``."""
    return format(floor_places(value, places), "f")


def plain(value: Decimal) -> str:
    """Shortest plain text, never an exponent (the wallet endpoints write ``"6.21"``)."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def round_sig(value: Decimal, digits: int, *, up: bool) -> Decimal:
    """``value`` rounded to ``digits`` significant digits, up or down (Convert pair limits)."""
    if value <= 0:
        return ZERO
    exponent = value.adjusted() - digits + 1
    step = Decimal(1).scaleb(exponent)
    return value.quantize(step, rounding=ROUND_UP if up else ROUND_DOWN)
