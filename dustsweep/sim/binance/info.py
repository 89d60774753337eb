"""Public market-data answers of the Binance dialect: exchangeInfo, ticker/price, bookTicker.

Kept apart from the rules themselves (``MarketBook``) because these functions are about the
request parameters Binance accepts (``symbol``, ``symbols`` as a JSON array, ``permissions``,
``symbolStatus``, ``showPermissionSets``) and the exact shapes it answers with.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dustsweep.sim.binance.wire import (
    INVALID_SYMBOL,
    UNLIMITED,
    BinanceError,
    bool_param,
    fixed,
    illegal_chars,
)

if TYPE_CHECKING:
    from dustsweep.sim.binance.market import MarketBook

STATUSES = frozenset({"TRADING", "END_OF_DAY", "HALT", "BREAK", "CANCEL_ONLY"})
DEFAULT_PERMISSIONS = frozenset({"SPOT", "MARGIN", "LEVERAGED"})
BOOK_DEPTH = "9000000.00000000"  # quantity shown at the best bid/ask when liquidity is unlimited


def _symbol_list(params: Mapping[str, str]) -> list[str] | None:
    """``symbol=X`` or ``symbols=["X","Y"]`` (not both), or None for every symbol."""
    single = params.get("symbol")
    many = params.get("symbols")
    if single and many:
        raise BinanceError(-1101, "Parameter 'symbol' and 'symbols' cannot be sent together.")
    if single:
        return [single]
    if many:
        try:
            names = json.loads(many)
        except ValueError as exc:
            raise illegal_chars("symbols", '["SYMBOL",...]') from exc
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise illegal_chars("symbols", '["SYMBOL",...]')
        return names
    return None


def _status_filter(params: Mapping[str, str]) -> str | None:
    status = params.get("symbolStatus") or None
    if status is not None and status not in STATUSES:
        raise BinanceError(-1122, "Invalid symbolStatus.")
    return status


def _permissions(params: Mapping[str, str]) -> frozenset[str]:
    raw = params.get("permissions")
    if not raw:
        return DEFAULT_PERMISSIONS
    if raw.startswith("["):
        try:
            return frozenset(str(p) for p in json.loads(raw))
        except ValueError as exc:
            raise illegal_chars("permissions", '["SPOT",...]') from exc
    return frozenset({raw})


def _symbol_permissions(raw: Mapping[str, Any]) -> set[str]:
    found = {str(p) for p in raw.get("permissions") or []}
    for group in raw.get("permissionSets") or []:
        found.update(str(p) for p in group)
    return found


def exchange_info(market: MarketBook, params: Mapping[str, str], now_ms: int) -> dict[str, Any]:
    """GET /api/v3/exchangeInfo with the current rules (overrides applied)."""
    names = _symbol_list(params)
    status = _status_filter(params)
    if names is not None and (status or params.get("permissions")):
        raise BinanceError(-1128, "Combination of optional parameters invalid.")
    if names is not None:
        symbols = []
        for name in names:
            raw = market.symbol(name)
            if raw is None:
                raise BinanceError(-1121, INVALID_SYMBOL)
            symbols.append(raw)
    else:
        wanted = _permissions(params)
        symbols = [
            raw
            for raw in market.symbols()
            if (status is None or raw.get("status") == status)
            and (not _symbol_permissions(raw) or _symbol_permissions(raw) & wanted)
        ]
    answer = [copy.deepcopy(raw) for raw in symbols]
    if not bool_param(params, "showPermissionSets", default=True):
        for raw in answer:
            if "permissionSets" in raw:
                raw["permissionSets"] = []
    return {
        "timezone": market.timezone,
        "serverTime": now_ms,
        "rateLimits": copy.deepcopy(market.rate_limits),
        "exchangeFilters": copy.deepcopy(market.exchange_filters),
        "symbols": answer,
    }


def _ticker_names(market: MarketBook, params: Mapping[str, str]) -> tuple[list[str], bool]:
    """The symbols asked for (all tickers when none) and whether one single object is wanted."""
    names = _symbol_list(params)
    if names is None:
        return [name for name, _ in market.ticker()], False
    for name in names:
        if market.symbol(name) is None and not market.has_ticker(name):
            raise BinanceError(-1121, INVALID_SYMBOL)
    return names, "symbol" in params


def ticker_price(market: MarketBook, params: Mapping[str, str]) -> Any:
    """GET /api/v3/ticker/price: a list (or one object for ``symbol``); unpriced are absent."""
    names, single = _ticker_names(market, params)
    prices = dict(market.ticker())
    status = _status_filter(params)
    rows = [
        {"symbol": name, "price": market.price_text(prices[name])}
        for name in names
        if name in prices and _status_ok(market, name, status)
    ]
    return _one_or_list(rows, single, status is not None)


def book_ticker(market: MarketBook, params: Mapping[str, str]) -> Any:
    """GET /api/v3/ticker/bookTicker: the ticker price on both sides (no spread simulated)."""
    names, single = _ticker_names(market, params)
    prices = dict(market.ticker())
    status = _status_filter(params)
    rows = []
    for name in names:
        if name not in prices or not _status_ok(market, name, status):
            continue
        depth = market.liquidity(name)
        qty = BOOK_DEPTH if depth == UNLIMITED else fixed(depth)
        price = market.price_text(prices[name])
        rows.append(
            {"symbol": name, "bidPrice": price, "bidQty": qty, "askPrice": price, "askQty": qty}
        )
    return _one_or_list(rows, single, status is not None)


def _status_ok(market: MarketBook, name: str, status: str | None) -> bool:
    raw = market.symbol(name)
    return status is None or (raw is not None and raw.get("status") == status)


def _one_or_list(rows: list[dict[str, Any]], single: bool, by_status: bool) -> Any:
    if not single:
        return rows
    if not rows:
        if by_status:
            raise BinanceError(
                -1220, "The symbol's status does not match the requested symbolStatus."
            )
        raise BinanceError(-1121, INVALID_SYMBOL)
    return rows[0]
