"""Pure lot-size math. Quantities are floored to the step, never rounded up.

Every function takes and returns ``Decimal``; nothing here knows an exchange.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext
from enum import StrEnum
from math import lcm
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dustsweep.core.models import MarketRules

ZERO = Decimal(0)


def floor_to_step(qty: Decimal, step: Decimal) -> Decimal:
    """The largest multiple of ``step`` that is <= ``qty`` (``qty`` itself when step is 0)."""
    if qty <= 0:
        return ZERO
    if step <= 0:
        return qty
    exponent = _exponent(step)
    with localcontext() as ctx:
        # Enough digits for the exact result: plain ``qty / step`` rounds at 28 digits and
        # can round UP (a quantity above the balance) or overflow ``quantize`` on long
        # balances (Bybit reports up to 18 decimals).
        ctx.prec = max(ctx.prec, qty.adjusted() - exponent + 3)
        floored = (qty // step) * step
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
    exponent = min(_exponent(s.normalize()) for s in active)
    scale = Decimal(10) ** exponent
    ints = [int(s / scale) for s in active]
    return (Decimal(lcm(*ints)) * scale).normalize()


def _exponent(value: Decimal) -> int:
    """The exponent of a finite Decimal (``as_tuple`` types it loosely for NaN/Infinity)."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"not a finite number: {value}")
    return exponent


def fmt(value: Decimal) -> str:
    """Plain decimal text for the wire and for JSON: never an exponent."""
    text = format(value, "f")
    return text


def plain(value: Decimal) -> str:
    """Decimal text for people: no exponent and no trailing zeros ("5", not "5.00000000")."""
    return fmt(value.normalize()) if value else "0"


class Blocker(StrEnum):
    """The rule that stops (part of) a balance from being market-sold on one symbol."""

    STEP = "step"  # less than one quantity step
    MIN_QTY = "min_qty"  # below the minimum quantity
    MIN_NOTIONAL = "min_notional"  # below the minimum order value (with the safety margin)


@dataclass(frozen=True, slots=True)
class SellSize:
    """How much of a free balance one market can take in one MARKET SELL.

    ``qty`` is what may be sent (0 when nothing can). ``floored`` is the free amount after the
    step and the maxima, before the minimum checks, so a reason can quote it. ``blocker`` says
    which minimum refused it; ``capped`` says a maximum cut it (the rest stays).
    """

    qty: Decimal
    floored: Decimal
    blocker: Blocker | None = None
    capped: bool = False


def required_notional(min_notional: Decimal, margin: Decimal) -> Decimal:
    """The value an order must reach by the price the client sees: ``min × (1 + margin)``."""
    return exact_product(min_notional, 1 + margin)


def exact_product(a: Decimal, b: Decimal) -> Decimal:
    """``a × b`` without rounding: comparisons against a minimum must not be off by a digit."""
    with localcontext() as ctx:
        ctx.prec = len(a.as_tuple().digits) + len(b.as_tuple().digits) + 1
        return a * b


def size_market_sell(
    free: Decimal, rules: MarketRules, price: Decimal, margin: Decimal
) -> SellSize:
    """The largest quantity of ``free`` that ``rules`` accept for a MARKET SELL, or 0.

    The quantity is floored to the step, capped by ``max_qty`` (and by ``max_notional`` with
    the margin the other way round), and must then reach ``min_qty`` and
    ``min_notional × (1 + margin)`` at ``price`` (per base, in the market's quote). Whatever is
    returned is a multiple of the step, never above ``free``, and meets every minimum.
    """
    if price <= 0:
        raise ValueError(f"{rules.symbol}: a market sell needs a positive price (got {price})")
    qty = floor_to_step(free, rules.step)
    capped = False
    if rules.max_qty is not None and rules.max_qty > 0 and qty > rules.max_qty:
        qty, capped = floor_to_step(rules.max_qty, rules.step), True
    if rules.max_notional is not None and rules.max_notional > 0:
        with localcontext() as ctx:
            ctx.rounding = ROUND_FLOOR  # a ceiling computed inexactly must err low
            most = rules.max_notional / exact_product(price, 1 + margin)
        ceiling = floor_to_step(most, rules.step)
        if qty > ceiling:
            qty, capped = ceiling, True
    if qty <= 0:
        blocker = Blocker.MIN_QTY if free < rules.min_qty else Blocker.STEP
        return SellSize(ZERO, ZERO, blocker, capped)
    if qty < rules.min_qty:
        return SellSize(ZERO, qty, Blocker.MIN_QTY, capped)
    notional = exact_product(qty, price)
    if rules.min_notional > 0 and notional < required_notional(rules.min_notional, margin):
        return SellSize(ZERO, qty, Blocker.MIN_NOTIONAL, capped)
    return SellSize(qty, qty, None, capped)
