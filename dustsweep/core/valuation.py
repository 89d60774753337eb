"""What a balance is worth in the user's quote asset, from the exchange's own market prices.

Valuing is separate from selling: a coin may be worth something (priced through BTC) while no
market lets it be sold into an allowed quote. An asset without any usable price is worth
``None`` — never 0, which would hide it among the "worthless" instead of the "unknown".
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from dustsweep.core.models import MarketRules

_ONE = Decimal(1)


class Valuer:
    """Values any asset in ``quote``: directly, through the inverse market, or via one bridge.

    The (base, quote) -> price index is built once, so valuing hundreds of balances against
    thousands of markets costs a few dict look-ups each. Only trading markets with a positive
    price count: a halted market's last price (Binance keeps listing delisted pairs with the
    price they died at) would make up a value the account cannot get.
    """

    def __init__(
        self,
        markets: Mapping[str, MarketRules],
        prices: Mapping[str, Decimal],
        quote: str,
        bridges: Sequence[str] = (),
    ) -> None:
        self.quote = quote
        self.bridges = tuple(bridges)
        self._pairs: dict[tuple[str, str], Decimal] = {}
        for symbol, rules in markets.items():
            price = prices.get(symbol)
            if rules.trading and price is not None and price > 0:
                self._pairs[(rules.base, rules.quote)] = price
        self._cache: dict[str, Decimal | None] = {}

    def value(self, asset: str, amount: Decimal) -> Decimal | None:
        """``amount`` of ``asset`` in the quote asset, or None when no price reaches it."""
        price = self.price_in_quote(asset)
        return None if price is None else amount * price

    def price_in_quote(self, asset: str) -> Decimal | None:
        """The price of one ``asset`` in the quote asset (cached per asset)."""
        if asset not in self._cache:
            self._cache[asset] = self.rate(asset, self.quote)
        return self._cache[asset]

    def rate(self, source: str, target: str) -> Decimal | None:
        """How much ``target`` one ``source`` is worth: direct, inverse, then one bridge hop.

        Bridges are tried in order; each hop may use either direction of a market
        (XYZBTC then BTCUSDT, or BTCXYZ then USDTBTC).
        """
        if source == target:
            return _ONE
        direct = self._hop(source, target)
        if direct is not None:
            return direct
        for bridge in self.bridges:
            if bridge in (source, target):
                continue
            first = self._hop(source, bridge)
            if first is None:
                continue
            second = self._hop(bridge, target)
            if second is not None:
                return first * second
        return None

    def _hop(self, source: str, target: str) -> Decimal | None:
        price = self._pairs.get((source, target))
        if price is not None:
            return price
        inverse = self._pairs.get((target, source))
        return None if inverse is None else _ONE / inverse
