"""The Binance dialect's market: symbol rules (raw exchangeInfo objects) and prices.

Rules and prices start as the bundled real snapshots (``sim/data``) so every answer has the
real exchange's shape; scenarios and tests then override single fields (a status, one filter
value, a price). Values are kept as the exchange's raw JSON objects, because that is what
``GET /api/v3/exchangeInfo`` must return, and read through small accessors when the simulator
itself needs a rule.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from importlib import resources
from typing import Any

from dustsweep.sim.binance.wire import ONE, UNLIMITED, fixed, to_decimal

# Valuation (dust to BTC/BNB, Convert ratios) crosses through USDT when no direct pair exists.
BRIDGE_ASSET = "USDT"


def _load_json(name: str) -> Any:
    return json.loads(resources.files("dustsweep.sim").joinpath("data", name).read_text("utf-8"))


class MarketBook:
    """Symbols (raw objects, in exchange order) with their ticker prices and average prices.

    Not thread-safe by itself: the dialect serialises access with its own lock.
    """

    def __init__(self, exchange_info: Mapping[str, Any], tickers: Iterable[Mapping[str, Any]]):
        self.timezone = str(exchange_info.get("timezone", "UTC"))
        self.rate_limits: list[Any] = copy.deepcopy(list(exchange_info.get("rateLimits", [])))
        self.exchange_filters: list[Any] = copy.deepcopy(
            list(exchange_info.get("exchangeFilters", []))
        )
        self._symbols: dict[str, dict[str, Any]] = {
            str(s["symbol"]): copy.deepcopy(dict(s)) for s in exchange_info.get("symbols", [])
        }
        self._prices: dict[str, Decimal] = {
            str(t["symbol"]): Decimal(str(t["price"])) for t in tickers
        }
        self._avg_prices: dict[str, Decimal] = {}  # explicit; otherwise the ticker price
        self._liquidity: dict[str, Decimal] = {}  # max base quantity one market order can fill

    @classmethod
    def bundled(cls) -> MarketBook:
        """The trimmed real snapshots shipped in ``dustsweep/sim/data``."""
        return cls(_load_json("binance-exchangeInfo.json"), _load_json("binance-ticker-price.json"))

    # ---- rules -------------------------------------------------------------------------------

    def symbol(self, name: str) -> dict[str, Any] | None:
        return self._symbols.get(name)

    def symbols(self) -> list[dict[str, Any]]:
        return list(self._symbols.values())

    def add_symbol(self, raw: Mapping[str, Any]) -> None:
        """Add (or replace) a full raw symbol object, in the exchange's own shape."""
        if "symbol" not in raw or "filters" not in raw:
            raise ValueError("add_symbols: a raw exchangeInfo symbol needs 'symbol' and 'filters'")
        self._symbols[str(raw["symbol"])] = copy.deepcopy(dict(raw))

    def remove_symbol(self, name: str) -> None:
        """Delist: the symbol leaves exchangeInfo and its ticker goes with it."""
        self._symbols.pop(name, None)
        self._prices.pop(name, None)
        self._avg_prices.pop(name, None)

    def set_symbol(self, name: str, overrides: Mapping[str, Any]) -> None:
        """Override raw fields of a symbol.

        ``filters`` is either a full list (replaces all) or a mapping filterType -> fields
        merged into that filter (created if missing; ``None`` for the whole filter removes it,
        ``None`` for a field removes the field). Any other key replaces the raw field
        (``None`` removes it).
        """
        raw = self._symbols.get(name)
        if raw is None:
            raise KeyError(f"unknown Binance symbol {name!r}")
        for key, value in overrides.items():
            if key == "filters" and isinstance(value, Mapping):
                _merge_filters(raw, value)
            elif value is None:
                raw.pop(key, None)
            else:
                raw[key] = copy.deepcopy(value)

    def filter(self, name: str, filter_type: str) -> dict[str, Any] | None:
        raw = self._symbols.get(name)
        for item in (raw or {}).get("filters", []):
            if item.get("filterType") == filter_type:
                return dict(item)
        return None

    # ---- prices ------------------------------------------------------------------------------

    def set_price(self, name: str, price: Any) -> None:
        self._prices[name] = to_decimal(price, f"price of {name}")

    def set_avg_price(self, name: str, price: Any | None) -> None:
        """Pin the average price (NOTIONAL checks); ``None`` makes it follow the ticker again."""
        if price is None:
            self._avg_prices.pop(name, None)
        else:
            self._avg_prices[name] = to_decimal(price, f"average price of {name}")

    def drop_price(self, name: str) -> None:
        """A listed symbol with no ticker at all (it disappears from ``ticker/price``)."""
        self._prices.pop(name, None)
        self._avg_prices.pop(name, None)

    def set_liquidity(self, name: str, quantity: Any | None) -> None:
        """Limit what one market order can fill (base quantity); ``None`` lifts the limit."""
        if quantity is None:
            self._liquidity.pop(name, None)
        else:
            self._liquidity[name] = to_decimal(quantity, f"liquidity of {name}")

    def liquidity(self, name: str) -> Decimal:
        return self._liquidity.get(name, UNLIMITED)

    def price(self, name: str) -> Decimal | None:
        """The ticker price, or None when there is none or it is zero (long-delisted)."""
        price = self._prices.get(name)
        return price if price is not None and price > 0 else None

    def avg_price(self, name: str) -> Decimal | None:
        """The price NOTIONAL filters judge a MARKET order by (binance-api.md §3.3)."""
        return self._avg_prices.get(name) or self.price(name)

    def ticker(self) -> list[tuple[str, Decimal]]:
        """Every ticker entry as the exchange lists it (zero prices of dead symbols included)."""
        return list(self._prices.items())

    def has_ticker(self, name: str) -> bool:
        return name in self._prices

    # ---- valuation ---------------------------------------------------------------------------

    def rate(self, from_asset: str, to_asset: str) -> Decimal | None:
        """How many ``to_asset`` one ``from_asset`` is worth: a direct pair, its inverse, or
        through USDT. None when no priced path exists."""
        if from_asset == to_asset:
            return ONE
        direct = self._leg(from_asset, to_asset)
        if direct is not None:
            return direct
        if BRIDGE_ASSET in (from_asset, to_asset):
            return None
        first = self._leg(from_asset, BRIDGE_ASSET)
        second = self._leg(BRIDGE_ASSET, to_asset)
        if first is None or second is None:
            return None
        return first * second

    def _leg(self, from_asset: str, to_asset: str) -> Decimal | None:
        """One pair, preferring a TRADING symbol's price over a stale one of a halted symbol."""
        found: list[tuple[bool, Decimal]] = []
        for name, invert in ((from_asset + to_asset, False), (to_asset + from_asset, True)):
            raw = self._symbols.get(name)
            price = self.price(name)
            if raw is None or price is None:
                continue
            if raw.get("baseAsset") != (to_asset if invert else from_asset):
                continue
            found.append((raw.get("status") == "TRADING", ONE / price if invert else price))
        if not found:
            return None
        found.sort(key=lambda item: not item[0])
        return found[0][1]

    # ---- answers -----------------------------------------------------------------------------

    def price_text(self, price: Decimal) -> str:
        return fixed(price, 8) if price == price.quantize(Decimal("1e-8")) else format(price, "f")

    def avg_price_mins(self, name: str) -> int:
        for filter_type in ("NOTIONAL", "MIN_NOTIONAL", "PERCENT_PRICE_BY_SIDE"):
            found = self.filter(name, filter_type)
            if found and "avgPriceMins" in found:
                return int(found["avgPriceMins"])
        return 5

    def assets(self) -> set[str]:
        """Every base and quote asset of a listed symbol."""
        assets: set[str] = set()
        for raw in self._symbols.values():
            assets.add(str(raw.get("baseAsset")))
            assets.add(str(raw.get("quoteAsset")))
        return assets


def _merge_filters(raw: dict[str, Any], changes: Mapping[str, Any]) -> None:
    filters: list[dict[str, Any]] = raw.setdefault("filters", [])
    for filter_type, fields in changes.items():
        index = next((i for i, f in enumerate(filters) if f.get("filterType") == filter_type), None)
        if fields is None:
            if index is not None:
                filters.pop(index)
            continue
        if index is None:
            filters.append({"filterType": filter_type})
            index = len(filters) - 1
        for key, value in dict(fields).items():
            if value is None:
                filters[index].pop(key, None)
            else:
                filters[index][key] = value
