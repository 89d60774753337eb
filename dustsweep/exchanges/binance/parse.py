"""Turn Binance spot JSON (account, exchangeInfo, ticker/price, orders, trades) into domain types.

Pure functions over already-decoded JSON: no SDK, no network. Every amount is a ``Decimal``
built from the exchange's own string. A body of the wrong shape raises ``ShapeError`` so the
adapter can report it as an unreadable answer (outcome unknown) instead of crashing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from dustsweep.core.lots import combine_steps
from dustsweep.core.models import Balance, MarketRules, OrderResult
from dustsweep.exchanges.amounts import BadAmount, amount

ZERO = Decimal(0)

_OPEN_STATUSES = {"NEW", "PARTIALLY_FILLED", "PENDING_NEW", "PENDING_CANCEL"}
_ENDED_STATUSES = {"EXPIRED", "CANCELED", "EXPIRED_IN_MATCH"}


class ShapeError(ValueError):
    """The JSON is not shaped like the endpoint's documented answer."""


def as_dict(body: object, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ShapeError(f"{what}: expected a JSON object, got {type(body).__name__}")
    return body


def as_list(body: object, what: str) -> list[Any]:
    if not isinstance(body, list):
        raise ShapeError(f"{what}: expected a JSON array, got {type(body).__name__}")
    return body


def dec(value: object, what: str = "amount") -> Decimal:
    """A finite Decimal from the exchange's string; missing or "" is 0 (``amounts.amount``)."""
    return amount(value, what)


def parse_balances(body: object) -> list[Balance]:
    """Non-zero balances of ``GET /api/v3/account``, LD* (Simple Earn) ones included."""
    balances = []
    for item in as_list(as_dict(body, "account").get("balances", []), "balances"):
        entry = as_dict(item, "balance")
        asset = str(entry.get("asset"))
        free = amount(entry.get("free"), f"{asset} free", required=True, negative_ok=False)
        locked = amount(entry.get("locked"), f"{asset} locked", required=True, negative_ok=False)
        if free or locked:
            balances.append(Balance(asset=asset, free=free, locked=locked))
    return balances


def weight_limit(body: Mapping[str, Any]) -> int | None:
    """The REQUEST_WEIGHT per 1 minute limit listed in exchangeInfo ``rateLimits``."""
    for limit in body.get("rateLimits") or []:
        if (
            isinstance(limit, dict)
            and limit.get("rateLimitType") == "REQUEST_WEIGHT"
            and limit.get("interval") == "MINUTE"
            and limit.get("intervalNum") == 1
        ):
            return int(limit.get("limit", 0)) or None
    return None


def parse_markets(body: object) -> list[MarketRules]:
    """Every symbol of ``GET /api/v3/exchangeInfo`` as MarketRules, halted ones included."""
    return [
        market_rules(as_dict(item, "symbol"))
        for item in as_list(as_dict(body, "exchangeInfo").get("symbols", []), "symbols")
    ]


def market_rules(symbol: Mapping[str, Any]) -> MarketRules:
    """Merge the filters a MARKET SELL must meet (see MarketRules for the rules)."""
    filters = {f.get("filterType"): f for f in symbol.get("filters") or [] if isinstance(f, dict)}
    lot = filters.get("LOT_SIZE", {})
    market_lot = filters.get("MARKET_LOT_SIZE", {})
    lot_step, mkt_step = dec(lot.get("stepSize")), dec(market_lot.get("stepSize"))
    lot_min, mkt_min = dec(lot.get("minQty")), dec(market_lot.get("minQty"))
    step = combine_steps(lot_step, mkt_step)
    max_qtys = [q for q in (dec(lot.get("maxQty")), dec(market_lot.get("maxQty"))) if q > 0]
    min_notional, min_notional_rule, max_notional = _notional(filters)
    return MarketRules(
        symbol=str(symbol.get("symbol")),
        base=str(symbol.get("baseAsset")),
        quote=str(symbol.get("quoteAsset")),
        trading=symbol.get("status") == "TRADING"
        and symbol.get("isSpotTradingAllowed") is not False,
        market_orders="MARKET" in (symbol.get("orderTypes") or ()),
        step=step,
        min_qty=max(lot_min, mkt_min),
        max_qty=min(max_qtys) if max_qtys else None,
        min_notional=min_notional,
        max_notional=max_notional,
        step_rule=_step_rule(step, lot_step, mkt_step),
        min_qty_rule="MARKET_LOT_SIZE minQty" if mkt_min > lot_min else "LOT_SIZE minQty",
        min_notional_rule=min_notional_rule,
    )


def _step_rule(step: Decimal, lot_step: Decimal, mkt_step: Decimal) -> str:
    """Name the filter whose step binds; both when the combined step is neither alone."""
    if mkt_step <= 0 or step == lot_step:
        return "LOT_SIZE stepSize"
    if step == mkt_step or lot_step <= 0:
        return "MARKET_LOT_SIZE stepSize"
    return "LOT_SIZE+MARKET_LOT_SIZE stepSize"


def _notional(filters: Mapping[Any, Any]) -> tuple[Decimal, str, Decimal | None]:
    """(min_notional, its rule name, max_notional) as applied to MARKET orders.

    NOTIONAL (2023+) applies to MARKET only with applyMinToMarket / applyMaxToMarket; the
    legacy MIN_NOTIONAL only with applyToMarket. Otherwise a MARKET order has no value check.
    """
    notional = filters.get("NOTIONAL") or {}
    legacy = filters.get("MIN_NOTIONAL") or {}
    max_notional = None
    if notional.get("applyMaxToMarket") is True:
        max_notional = dec(notional.get("maxNotional")) or None
    if notional.get("applyMinToMarket") is True:
        return dec(notional.get("minNotional")), "NOTIONAL minNotional", max_notional
    if legacy.get("applyToMarket") is True:
        return dec(legacy.get("minNotional")), "MIN_NOTIONAL", max_notional
    return ZERO, "minNotional", max_notional


def parse_prices(body: object) -> dict[str, Decimal]:
    """``GET /api/v3/ticker/price``: symbol -> last price; zero or unreadable prices left out."""
    prices: dict[str, Decimal] = {}
    for item in as_list(body, "ticker/price"):
        if not isinstance(item, dict) or "symbol" not in item:
            continue
        try:
            price = Decimal(str(item.get("price")))
        except InvalidOperation:
            continue
        if price.is_finite() and price > 0:
            prices[str(item["symbol"])] = price
    return prices


def order_status(status: str, executed: Decimal) -> str:
    """Binance order status -> OrderResult.status (EXPIRED with a fill = partially_filled)."""
    if status == "FILLED":
        return "filled"
    if status in _ENDED_STATUSES:
        return "partially_filled" if executed > 0 else "cancelled"
    if status == "REJECTED":
        return "rejected"
    return "new"  # NEW, PARTIALLY_FILLED, PENDING_*, or an ACK without a status


def fee_total(symbol: str, items: Iterable[Mapping[str, Any]]) -> tuple[Decimal, str | None]:
    """Sum ``commission`` over fills or trades, in one asset.

    A sell pays its fee in the quote asset, or in BNB with the BNB discount. When the fills of
    one order paid in several assets (BNB ran out mid-order) only one total fits OrderResult:
    the quote asset's (the asset the symbol ends with), else the first asset seen. The other
    assets' fees are then left out of the result.
    """
    totals: dict[str, Decimal] = {}
    for item in items:
        asset = item.get("commissionAsset")
        if not asset:
            continue
        commission = amount(item.get("commission"), "commission", negative_ok=False)
        totals[str(asset)] = totals.get(str(asset), ZERO) + commission
    if not totals:
        return ZERO, None
    quote = [a for a in totals if symbol.endswith(a) and a != symbol]
    asset = quote[0] if quote else next(iter(totals))
    return totals[asset], asset


def parse_order(body: object, symbol: str, client_id: str) -> OrderResult:
    """An order answer (POST /api/v3/order FULL/RESULT/ACK, or GET /api/v3/order)."""
    order = as_dict(body, "order")
    if order.get("orderId") is None:  # every order answer (ACK included) carries one
        raise ShapeError(f"no orderId in the order answer ({sorted(order)[:6]})")
    executed = _order_amount(order, "executedQty")
    quote_qty = dec(order.get("cummulativeQuoteQty"), "cummulativeQuoteQty")
    ordered = _order_amount(order, "origQty")
    if order.get("status") == "FILLED" and "origQty" in order and executed != ordered:
        shown = repr(order.get("executedQty"))
        raise BadAmount(f"executedQty = {shown} for a FILLED order of {format(ordered, 'f')}")
    if executed > 0 and quote_qty <= 0:
        # Only orders from before 2018 report -1; a fill of ours without proceeds is an answer
        # that cannot be read (recording it would book a sale that received nothing).
        shown = repr(order.get("cummulativeQuoteQty"))
        raise BadAmount(f"cummulativeQuoteQty = {shown} for {format(executed, 'f')} executed")
    fills = [f for f in order.get("fills") or [] if isinstance(f, dict)]
    fee, fee_asset = fee_total(symbol, fills)
    order_id = order.get("orderId")
    return OrderResult(
        symbol=str(order.get("symbol") or symbol),
        client_id=str(order.get("clientOrderId") or client_id),
        order_id=None if order_id is None else str(order_id),
        status=order_status(str(order.get("status") or ""), executed),
        filled_qty=executed,
        quote_qty=max(quote_qty, ZERO),  # orders from before 2018 report -1
        fee=fee,
        fee_asset=fee_asset,
    )


def _order_amount(order: Mapping[str, Any], field: str) -> Decimal:
    """An amount of an order answer: absent (an ACK) is 0; empty, negative or not a number is
    an unreadable answer."""
    if field not in order:
        return ZERO
    return amount(order.get(field), field, required=True, negative_ok=False)


def order_trades(body: object, order_id: str | None) -> list[dict[str, Any]]:
    """The trades of ``GET /api/v3/myTrades`` that belong to ``order_id``."""
    trades = [t for t in as_list(body, "myTrades") if isinstance(t, dict)]
    if order_id is None:
        return trades
    return [t for t in trades if str(t.get("orderId")) == order_id]


def ms(value: object) -> int | None:
    """An epoch-ms field (a number or a digit string); None when absent or not one."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    return None
