"""The one checked parser for amounts an exchange sends. Imports no SDK.

``Decimal("NaN")`` and ``Decimal("Infinity")`` parse without complaint and only blow up later,
deep in a comparison (``InvalidOperation``, exit 1). Every amount is therefore checked here, at
the adapter boundary, and a bad one raises ``BadAmount`` (a ``ValueError``) naming the field and
the value; each adapter turns that into a one-line ``ServerError`` naming the account (exit 3).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

ZERO = Decimal(0)
_MAX_SHOWN = 40


class BadAmount(ValueError):
    """An amount that is not a finite number (or empty / negative where that cannot be)."""


def amount(
    value: object, field: str, *, required: bool = False, negative_ok: bool = True
) -> Decimal:
    """A finite Decimal from the exchange's text. Missing or "" is 0 unless ``required``."""
    if value is None or value == "":
        if required:
            raise BadAmount(f"{field} is empty")
        return ZERO
    if isinstance(value, bool):
        raise BadAmount(f"{field} = {value!r} is not a number")
    try:
        result = Decimal(value) if isinstance(value, str | int) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise BadAmount(f"{field} = {_shown(value)} is not a number") from None
    if not result.is_finite():
        raise BadAmount(f"{field} = {_shown(value)} is not a finite number")
    if result < 0 and not negative_ok:
        raise BadAmount(f"{field} = {_shown(value)} is negative")
    return result


def _shown(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "...")
