"""Bybit spot market data of the simulator: instruments, tickers, liquidity and coin values.

Starts from the bundled real snapshots (``sim/data/bybit-instruments.json`` = raw ``result.list`` of
instruments-info, ``sim/data/bybit-tickers.json`` = a raw tickers response) so every answer has the
real shape. Not thread-safe on its own: ``BybitSim`` holds its lock around every use.

Three ways a market can be unusable, as on the real exchange:
  * removed (delisted): absent from instruments-info and tickers; orders get 170157 (a symbol
    that never existed gets 170121). Its last price is kept as an index price so the coin can
    still be valued for small-balance conversion.
  * status not ``Trading`` (``set_symbol(s, status="Closed")``): absent from the default
    instruments-info answer (which lists ``Trading`` only); orders get 170157.
  * no ticker (``drop_prices``): listed, but absent from tickers; orders get 170157.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from importlib import resources
from typing import Any

from dustsweep.sim.bybit.wire import ZERO, num

STABLE_USD = frozenset({"USDT"})
_FILTER_KEYS = ("lotSizeFilter", "priceFilter", "riskParameters")


def _load(name: str) -> Any:
    text = resources.files("dustsweep.sim").joinpath("data", name).read_text("utf-8")
    return json.loads(text)


def _merge(target: dict[str, Any], overrides: Mapping[str, Any]) -> None:
    """Merge one level deep: a dict value updates the nested dict instead of replacing it."""
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            target[key].update(value)
        else:
            target[key] = copy.deepcopy(value)


class BybitMarket:
    """Instruments and tickers keyed by symbol, plus per-symbol liquidity caps."""

    def __init__(
        self,
        instruments: Iterable[Mapping[str, Any]] | None = None,
        tickers: Iterable[Mapping[str, Any]] | None = None,
    ) -> None:
        if instruments is None:
            instruments = _load("bybit-instruments.json")
        if tickers is None:
            tickers = _load("bybit-tickers.json")["result"]["list"]
        self.instruments: dict[str, dict[str, Any]] = {
            str(i["symbol"]): copy.deepcopy(dict(i)) for i in instruments
        }
        self.tickers: dict[str, dict[str, Any]] = {
            str(t["symbol"]): copy.deepcopy(dict(t)) for t in tickers
        }
        self.dropped: set[str] = set()
        self.removed: set[str] = set()
        self.liquidity: dict[str, Decimal] = {}
        # Base/quote of symbols seen so far, so a removed symbol's price still values its coin.
        self._pairs: dict[str, tuple[str, str]] = {
            s: (str(i["baseCoin"]), str(i["quoteCoin"])) for s, i in self.instruments.items()
        }

    # ----- changes (scenario and test hooks) -------------------------------------------------

    def add_symbol(self, raw: Mapping[str, Any]) -> None:
        symbol = str(raw["symbol"])
        self.instruments[symbol] = copy.deepcopy(dict(raw))
        self.removed.discard(symbol)
        self._pairs[symbol] = (str(raw["baseCoin"]), str(raw["quoteCoin"]))

    def set_symbol(self, symbol: str, overrides: Mapping[str, Any]) -> None:
        """Change raw fields. A key that is not top-level but lives in a filter object
        (``minOrderAmt=...``) is set inside that filter, so tests can write it flat."""
        instrument = self.instruments.get(symbol)
        if instrument is None:
            raise KeyError(f"unknown Bybit symbol {symbol!r}")
        for key, value in overrides.items():
            if key not in instrument:
                holder = next(
                    (instrument[f] for f in _FILTER_KEYS if key in instrument.get(f, {})), None
                )
                if holder is not None:
                    holder[key] = value
                    continue
            _merge(instrument, {key: value})

    def remove_symbol(self, symbol: str) -> None:
        if self.instruments.pop(symbol, None) is not None:
            self.removed.add(symbol)

    def drop_price(self, symbol: str) -> None:
        self.dropped.add(symbol)

    def set_liquidity(self, symbol: str, qty: Decimal | None) -> None:
        """Cap what one market order on ``symbol`` can fill (base qty); None lifts the cap."""
        if qty is None:
            self.liquidity.pop(symbol, None)
        else:
            self.liquidity[symbol] = qty

    def set_price(self, symbol: str, price: Decimal | None) -> None:
        """Set bid1Price; ask is one tick above, last equals the bid. ``None`` empties the bid
        side (rendered as ``""``, as Bybit does for a book with no bids)."""
        self.dropped.discard(symbol)
        ticker = self.tickers.get(symbol)
        if ticker is None:
            ticker = self._new_ticker(symbol)
            self.tickers[symbol] = ticker
        if price is None:
            ticker["bid1Price"] = ""
            ticker["bid1Size"] = ""
            return
        tick = self._tick(symbol, price)
        ticker["bid1Price"] = num(price)
        ticker["ask1Price"] = num(price + tick)
        ticker["lastPrice"] = num(price)
        if not ticker.get("bid1Size"):
            ticker["bid1Size"] = "1000000"
        base_quote = self._pairs.get(symbol)
        if "usdIndexPrice" in ticker and base_quote and base_quote[1] in ("USDT", "USDC"):
            ticker["usdIndexPrice"] = num(price)

    def _tick(self, symbol: str, price: Decimal) -> Decimal:
        instrument = self.instruments.get(symbol)
        if instrument is not None:
            return Decimal(str(instrument["priceFilter"]["tickSize"]))
        return price.scaleb(-4)

    def _new_ticker(self, symbol: str) -> dict[str, Any]:
        row: dict[str, Any] = {
            "symbol": symbol,
            "bid1Price": "",
            "bid1Size": "1000000",
            "ask1Price": "",
            "ask1Size": "1000000",
            "lastPrice": "",
            "prevPrice24h": "",
            "price24hPcnt": "0",
            "highPrice24h": "",
            "lowPrice24h": "",
            "turnover24h": "0",
            "volume24h": "0",
        }
        base_quote = self._pairs.get(symbol)
        if base_quote and base_quote[1] in ("USDT", "USDC"):
            row["usdIndexPrice"] = ""
        return row

    # ----- reads -----------------------------------------------------------------------------

    def instrument(self, symbol: str) -> dict[str, Any] | None:
        return self.instruments.get(symbol)

    def listed_instruments(self, symbol: str | None, status: str | None) -> list[dict[str, Any]]:
        """What instruments-info answers: ``Trading`` only unless another status is asked."""
        wanted = status or "Trading"
        rows = [i for s, i in self.instruments.items() if symbol in (None, s)]
        return [copy.deepcopy(i) for i in rows if i.get("status") == wanted]

    def ticker(self, symbol: str) -> dict[str, Any] | None:
        """The ticker a client can see: listed symbol, not dropped."""
        if symbol not in self.instruments or symbol in self.dropped:
            return None
        return self.tickers.get(symbol)

    def visible_tickers(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(t) for s, t in self.tickers.items() if self.ticker(s) is not None]

    def bid(self, symbol: str) -> Decimal | None:
        """Best bid, or None when the bid side is empty."""
        return _price(self.tickers.get(symbol), "bid1Price")

    def ask(self, symbol: str) -> Decimal | None:
        return _price(self.tickers.get(symbol), "ask1Price")

    def last(self, symbol: str) -> Decimal | None:
        return _price(self.tickers.get(symbol), "lastPrice")

    def usd_value(
        self, coin: str, overrides: Mapping[str, Decimal] | None = None
    ) -> Decimal | None:
        """USDT value of one unit of ``coin`` (the index Bybit values small balances with).

        USDT is 1; else the coin's USDT pair, then its USDC pair, then its BTC pair through
        BTCUSDT. Removed symbols still count (a delisted coin keeps a value); dropped ones do
        not (no ticker at all). ``overrides`` (scenario ``conversion.usd_prices``) win.
        """
        if overrides and coin in overrides:
            return overrides[coin]
        if coin in STABLE_USD:
            return Decimal(1)
        for quote in ("USDT", "USDC", "BTC"):
            price = self._mid_or_last(coin + quote)
            if price is None:
                continue
            quote_value = Decimal(1) if quote == "USDT" else self.usd_value(quote, overrides)
            if quote_value is not None:
                return price * quote_value
        if coin == "USDC":
            return Decimal(1)
        return None

    def _mid_or_last(self, symbol: str) -> Decimal | None:
        if symbol in self.dropped:
            return None
        ticker = self.tickers.get(symbol)
        price = _price(ticker, "bid1Price") or _price(ticker, "lastPrice")
        return price if price and price > ZERO else None


def _price(ticker: Mapping[str, Any] | None, key: str) -> Decimal | None:
    if ticker is None:
        return None
    text = str(ticker.get(key) or "")
    return Decimal(text) if text else None
