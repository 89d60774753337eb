"""Pure lot-size math. Quantities are floored to the step, never rounded up.

Every function takes and returns ``Decimal``; nothing here knows an exchange.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from math import lcm

ZERO = Decimal(0)


def floor_to_step(qty: Decimal, step: Decimal) -> Decimal:
    """The largest multiple of ``step`` that is <= ``qty`` (``qty`` itself when step is 0)."""
    if qty <= 0:
        return ZERO
    if step <= 0:
        return qty
    floored = (qty / step).to_integral_value(rounding=ROUND_DOWN) * step
    # Keep the step's exponent so the wire format has the step's decimals.
    return floored.quantize(step) if floored else ZERO


def combine_steps(*steps: Decimal) -> Decimal:
    """The smallest step that is a multiple of every non-zero step (zero means "no rule").

    Binance applies both LOT_SIZE and MARKET_LOT_SIZE to a market order, so its quantity must
    be a multiple of both steps: their least common multiple.
    """
    active = [s for s in steps if s > 0]
    if not active:
        return ZERO
    exponent = min(s.normalize().as_tuple().exponent for s in active)  # type: ignore[type-var]
    assert isinstance(exponent, int)
    scale = Decimal(10) ** exponent
    ints = [int(s / scale) for s in active]
    return (Decimal(lcm(*ints)) * scale).normalize()


def fmt(value: Decimal) -> str:
    """Plain decimal text for the wire and for JSON: never an exponent."""
    text = format(value, "f")
    return text
