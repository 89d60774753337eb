"""The user's choices that the pure core applies: what counts as dust and where it may be sold.

A plain frozen dataclass (no pydantic) so the core stays import-light; ``config.py`` validates
the user's file and builds one of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

DEFAULT_SELL_QUOTES: tuple[str, ...] = ("USDT", "USDC", "FDUSD", "BTC", "BNB", "ETH")
DEFAULT_BRIDGES: tuple[str, ...] = ("USDT", "USDC", "BTC", "ETH", "BNB", "FDUSD")


@dataclass(frozen=True, slots=True)
class Policy:
    """What to value in, what is "small", what never to touch and which markets to sell on.

    ``notional_margin``: the value check uses ``min_notional × (1 + margin)`` because the
    exchange values a market order at a price the client cannot see exactly (Binance: the
    average price over ``avgPriceMins``; Bybit: the execution price). Selling just above the
    minimum by the last price would be rejected half of the time.

    ``sell_quotes`` is ordered: it breaks ties between markets that sell the same quantity.
    ``bridges`` are the assets tried, in order, to value a coin that has no market against
    ``quote`` (e.g. XYZ -> BTC -> USDT). ``fee_rate`` is only an estimate shown in plans.
    """

    quote: str = "USDT"
    dust_threshold: Decimal = Decimal("10")
    keep: frozenset[str] = field(default_factory=frozenset)
    sell_quotes: tuple[str, ...] = DEFAULT_SELL_QUOTES
    notional_margin: Decimal = Decimal("0.01")
    bridges: tuple[str, ...] = DEFAULT_BRIDGES
    fee_rate: Decimal = Decimal("0.001")

    def __post_init__(self) -> None:
        # Callers (config, tests) naturally pass lists; normalise so the type promise holds and
        # the policy stays hashable and immutable.
        object.__setattr__(self, "keep", frozenset(_upper(self.keep)))
        object.__setattr__(self, "sell_quotes", tuple(_upper(self.sell_quotes)))
        object.__setattr__(self, "bridges", tuple(_upper(self.bridges)))
        object.__setattr__(self, "quote", self.quote.upper())
        for name in ("dust_threshold", "notional_margin", "fee_rate"):
            value = Decimal(getattr(self, name))
            if not value.is_finite() or value < 0:
                raise ValueError(f"{name} must be a number >= 0 (got {value})")
            object.__setattr__(self, name, value)

    def in_scope(self, value: Decimal | None, *, named: bool, eligible: bool = False) -> bool:
        """May a balance worth ``value`` (in ``quote``; None: unknown) be moved at all?

        The one threshold guard every command applies (sell, convert, sweep), so that no route
        moves what the owner never called dust: a balance the user names (``--asset``) is in
        scope whatever it is worth; otherwise it must be worth at most ``dust_threshold``. A
        balance of unknown worth is in scope only when the exchange itself lists it as
        ``eligible`` for its small-balance conversion (selling passes False: it never knows).
        """
        if named:
            return True
        if value is None:
            return eligible
        return value <= self.dust_threshold

    @property
    def notional_factor(self) -> Decimal:
        """What a minimum order value is multiplied by before comparing: ``1 + margin``."""
        return 1 + self.notional_margin


def _upper(values: Iterable[str]) -> list[str]:
    return [v.upper() for v in values]
