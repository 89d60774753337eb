"""The checks a Binance spot order must pass, with the real codes and messages.

Kept apart from the order desk (``orders``) so the filter arithmetic can be read on its own:
each function is one rule of binance-api.md §3 (LOT_SIZE, NOTIONAL, MIN_NOTIONAL, precision,
market status, balance).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from dustsweep.sim.binance.wire import (
    INSUFFICIENT_BALANCE,
    ZERO,
    BinanceError,
    ceil_places,
    decimal_param,
    decimals_of,
    not_required,
    one_of,
)

if TYPE_CHECKING:
    from dustsweep.sim.binance.accounts import BinanceAccount
    from dustsweep.sim.binance.market import MarketBook


def filter_failure(name: str) -> BinanceError:
    return BinanceError(-1013, f"Filter failure: {name}")


def rejected(msg: str) -> BinanceError:
    return BinanceError(-2010, msg)


def amounts(
    params: Mapping[str, str], symbol: Mapping[str, Any]
) -> tuple[Decimal | None, Decimal | None]:
    """quantity xor quoteOrderQty, each in Binance's number format and within precision."""
    quantity = decimal_param(params, "quantity")
    quote_qty = decimal_param(params, "quoteOrderQty")
    if quantity is None and quote_qty is None:
        raise one_of("quantity", "quoteOrderQty")
    if quantity is not None and quote_qty is not None:
        raise not_required("quoteOrderQty")
    if quantity is not None and decimals_of(quantity) > int(symbol["baseAssetPrecision"]):
        raise BinanceError(-1111, "Parameter 'quantity' has too much precision.")
    if quote_qty is not None and decimals_of(quote_qty) > quote_precision(symbol):
        raise BinanceError(-1111, "Parameter 'quoteOrderQty' has too much precision.")
    if (quantity is not None and quantity <= 0) or (quote_qty is not None and quote_qty <= 0):
        raise BinanceError(-1013, "Invalid quantity.")
    return quantity, quote_qty


def check_market(symbol: Mapping[str, Any], *, by_quote: bool) -> None:
    if symbol.get("status") != "TRADING":
        raise rejected("Market is closed.")
    if "MARKET" not in (symbol.get("orderTypes") or ()):
        raise rejected("Market orders are not supported for this symbol.")
    if by_quote and symbol.get("quoteOrderQtyMarketAllowed") is False:
        raise rejected("Quote order qty market orders are not support for this symbol.")


def check_balance(
    account: BinanceAccount,
    symbol: Mapping[str, Any],
    side: str,
    quantity: Decimal,
    quote_qty: Decimal | None,
    price: Decimal | None,
) -> None:
    """-2010 when the free balance cannot pay: the base for a sell, the quote for a buy."""
    if side == "SELL":
        free, _ = account.wallet.get(str(symbol["baseAsset"]))
        need = quantity
    else:
        free, _ = account.wallet.get(str(symbol["quoteAsset"]))
        need = (
            quote_qty
            if quote_qty is not None
            else ceil_places(quantity * (price or ZERO), quote_precision(symbol))
        )
    if free < need:
        raise rejected(INSUFFICIENT_BALANCE)


def _dec(item: Mapping[str, Any], key: str) -> Decimal:
    return Decimal(str(item.get(key) or "0"))


def lot_ok(item: Mapping[str, Any], quantity: Decimal) -> bool:
    """LOT_SIZE / MARKET_LOT_SIZE; a zero value disables that part (binance-api.md §3.3)."""
    min_qty, max_qty, step = _dec(item, "minQty"), _dec(item, "maxQty"), _dec(item, "stepSize")
    if min_qty > 0 and quantity < min_qty:
        return False
    if max_qty > 0 and quantity > max_qty:
        return False
    return not (step > 0 and quantity % step != 0)


def notional_ok(item: Mapping[str, Any], notional: Decimal) -> bool:
    if item.get("applyMinToMarket") is True and notional < _dec(item, "minNotional"):
        return False
    max_notional = _dec(item, "maxNotional")
    return not (
        item.get("applyMaxToMarket") is True and max_notional > 0 and notional > max_notional
    )


def min_notional_ok(item: Mapping[str, Any], notional: Decimal) -> bool:
    """The legacy MIN_NOTIONAL filter, applied to MARKET orders only with applyToMarket."""
    return item.get("applyToMarket") is not True or notional >= _dec(item, "minNotional")


def floor_to_lot(market: MarketBook, symbol: str, quantity: Decimal) -> Decimal:
    """Down to a multiple of every non-zero step (LOT_SIZE and MARKET_LOT_SIZE)."""
    for kind in ("LOT_SIZE", "MARKET_LOT_SIZE"):
        step = _dec(market.filter(symbol, kind) or {}, "stepSize")
        if step > 0:
            quantity = (quantity / step).to_integral_value(rounding=ROUND_DOWN) * step
    return quantity


def quote_precision(symbol: Mapping[str, Any]) -> int:
    return int(symbol.get("quoteAssetPrecision", symbol.get("quotePrecision", 8)))
