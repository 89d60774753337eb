"""Spot orders of the Binance dialect: the checks of POST /api/v3/order, fills, and queries.

The checks run in the order the real engine's answers suggest: parameters, symbol, number
format and precision, market status and order type, then each filter in the order the symbol
lists them, then the account's balance. Every rejection carries the real code and message
(binance-api.md §3, §6, §10), because the adapter decides what to do from those.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from dustsweep.sim.binance.accounts import BinanceAccount, SimFill, SimOrder
from dustsweep.sim.binance.market import MarketBook
from dustsweep.sim.binance.order_rules import (
    amounts,
    check_balance,
    check_market,
    filter_failure,
    floor_to_lot,
    lot_ok,
    min_notional_ok,
    notional_ok,
    quote_precision,
    rejected,
)
from dustsweep.sim.binance.wire import (
    INVALID_SYMBOL,
    NO_SUCH_ORDER,
    ZERO,
    BinanceError,
    ceil_places,
    floor_places,
    illegal_chars,
    int_param,
    not_required,
    one_of,
    required,
)
from dustsweep.sim.core import SimClock

CLIENT_ID_RE = re.compile(r"^[a-zA-Z0-9-_]{1,36}$")
ORDER_TYPES = frozenset(
    {
        "LIMIT",
        "MARKET",
        "STOP_LOSS",
        "STOP_LOSS_LIMIT",
        "TAKE_PROFIT",
        "TAKE_PROFIT_LIMIT",
        "LIMIT_MAKER",
    }
)
RESP_TYPES = frozenset({"ACK", "RESULT", "FULL"})
# Parameters a MARKET order must not carry (-1106).
NOT_FOR_MARKET = ("timeInForce", "price", "stopPrice", "icebergQty")


class OrderDesk:
    """Places and answers orders for every account; the dialect holds the lock around it."""

    def __init__(self, market: MarketBook, clock: SimClock) -> None:
        self.market = market
        self.clock = clock
        self.order_query_lag_ms = 0
        self._next_order_id: dict[str, int] = {}
        self._next_trade_id: dict[str, int] = {}

    # ---- POST /api/v3/order and /api/v3/order/test ---------------------------------------

    def place(
        self, account: BinanceAccount, params: Mapping[str, str], *, test: bool = False
    ) -> tuple[dict[str, Any], SimOrder | None]:
        """Validate and execute a MARKET order; ``test`` validates only (order/test)."""
        symbol, side = self._check_params(params)
        resp_type = params.get("newOrderRespType") or "FULL"
        client_id = params.get("newClientOrderId") or _generated_client_id()
        if not CLIENT_ID_RE.match(client_id):
            raise illegal_chars("newClientOrderId", "^[a-zA-Z0-9-_]{1,36}$")
        quantity, quote_qty = amounts(params, symbol)
        check_market(symbol, by_quote=quote_qty is not None)
        price = self.market.price(str(symbol["symbol"]))
        if quote_qty is not None:
            quantity = self._quantity_for_quote(symbol, quote_qty, price)
        assert quantity is not None
        self._check_filters(symbol, quantity)
        if any(o.client_order_id == client_id for o in account.open_orders()):
            raise rejected("Duplicate order sent.")
        if test:
            return {}, None
        order = self._execute(account, symbol, side, quantity, quote_qty, price, client_id)
        return order.body(resp_type), order

    def _check_params(self, params: Mapping[str, str]) -> tuple[dict[str, Any], str]:
        """Mandatory parameters, enums, the symbol, and what a MARKET order may not carry."""
        symbol_name = required(params, "symbol")
        side = required(params, "side")
        order_type = required(params, "type")
        if side not in ("BUY", "SELL"):
            raise BinanceError(-1117, "Invalid side.")
        if order_type not in ORDER_TYPES:
            raise BinanceError(-1116, "Invalid orderType.")
        symbol = self.market.symbol(symbol_name)
        if symbol is None:
            raise BinanceError(-1121, INVALID_SYMBOL)
        if order_type != "MARKET":
            raise BinanceError(-1000, "The simulator accepts MARKET orders only.")
        for name in NOT_FOR_MARKET:
            if params.get(name):
                raise not_required(name)
        if params.get("newOrderRespType", "FULL") not in RESP_TYPES:
            raise illegal_chars("newOrderRespType", "ACK, RESULT, FULL")
        return symbol, side

    def _quantity_for_quote(
        self, symbol: Mapping[str, Any], quote_qty: Decimal, price: Decimal | None
    ) -> Decimal:
        """The engine turns quoteOrderQty into a LOT_SIZE-valid quantity (binance-api.md §3.3)."""
        if price is None:
            raise rejected("Order book liquidity is less than `LOT_SIZE` filter minimum quantity.")
        quantity = floor_to_lot(self.market, str(symbol["symbol"]), quote_qty / price)
        return floor_places(quantity, int(symbol["baseAssetPrecision"]))

    def _check_filters(self, symbol: Mapping[str, Any], quantity: Decimal) -> None:
        """Each quantity/notional filter that applies to MARKET orders, in the symbol's order.

        Notional is judged at the average price, not the last one (binance-api.md §3.3).
        """
        avg = self.market.avg_price(str(symbol["symbol"])) or ZERO
        notional = quantity * avg
        for item in symbol.get("filters") or []:
            kind = str(item.get("filterType"))
            if kind in ("LOT_SIZE", "MARKET_LOT_SIZE") and not lot_ok(item, quantity):
                raise filter_failure(kind)
            if kind == "NOTIONAL" and not notional_ok(item, notional):
                raise filter_failure(kind)
            if kind == "MIN_NOTIONAL" and not min_notional_ok(item, notional):
                raise filter_failure(kind)

    def _execute(
        self,
        account: BinanceAccount,
        symbol: Mapping[str, Any],
        side: str,
        quantity: Decimal,
        quote_qty: Decimal | None,
        price: Decimal | None,
        client_id: str,
    ) -> SimOrder:
        """Fill at the ticker price (up to the symbol's liquidity) and move balances exactly."""
        name = str(symbol["symbol"])
        now = self.clock.now_ms()
        fill_qty = ZERO
        if price is not None:
            fill_qty = floor_to_lot(self.market, name, min(quantity, self.market.liquidity(name)))
        order = SimOrder(
            symbol=name,
            order_id=0,
            client_order_id=client_id,
            side=side,
            type="MARKET",
            orig_qty=quantity,
            executed_qty=ZERO,
            cumm_quote_qty=ZERO,
            orig_quote_qty=quote_qty or ZERO,
            status="EXPIRED",
            time_ms=now,
            base_precision=int(symbol["baseAssetPrecision"]),
            quote_precision=quote_precision(symbol),
            stp_mode=str(symbol.get("defaultSelfTradePreventionMode", "NONE")),
        )
        with account.wallet.lock:
            check_balance(account, symbol, side, quantity, quote_qty, price)
            order.order_id = self._order_id(name)
            if fill_qty > 0 and price is not None:
                fill = self._fill(account, symbol, side, fill_qty, price, now)
                order.fills.append(fill)
                order.executed_qty = fill_qty
                order.cumm_quote_qty = fill.quote_qty
                order.status = "FILLED" if fill_qty == quantity else "EXPIRED"
        account.orders.append(order)
        account.update_ms = now
        return order

    def _fill(
        self,
        account: BinanceAccount,
        symbol: Mapping[str, Any],
        side: str,
        qty: Decimal,
        price: Decimal,
        now: int,
    ) -> SimFill:
        """Move the balances of one fill.

        A sell pays its commission in the quote asset, a buy in the base asset (that is how
        dust is born). Proceeds are rounded down, costs and commissions up, to the asset's
        precision: the exchange never rounds in the customer's favour.
        """
        base, quote = str(symbol["baseAsset"]), str(symbol["quoteAsset"])
        wallet = account.wallet
        trade_id = self._trade_id(str(symbol["symbol"]))
        if side == "SELL":
            proceeds = floor_places(qty * price, quote_precision(symbol))
            commission = ceil_places(
                proceeds * account.fee_rate, int(symbol.get("quoteCommissionPrecision", 8))
            )
            wallet.debit(base, qty)
            wallet.credit(quote, proceeds - commission)
            return SimFill(trade_id, price, qty, proceeds, commission, quote, now)
        cost = ceil_places(qty * price, quote_precision(symbol))
        commission = ceil_places(
            qty * account.fee_rate, int(symbol.get("baseCommissionPrecision", 8))
        )
        wallet.debit(quote, cost)
        wallet.credit(base, qty - commission)
        return SimFill(trade_id, price, qty, cost, commission, base, now)

    # ---- open orders (a test hook: a resting LIMIT order that holds part of a balance) -----

    def open_limit_order(
        self,
        account: BinanceAccount,
        symbol_name: str,
        side: str,
        quantity: Decimal,
        price: Decimal,
        client_id: str | None = None,
    ) -> SimOrder:
        """A NEW LIMIT order: its amount moves from free to locked until ``cancel``."""
        symbol = self.market.symbol(symbol_name)
        if symbol is None:
            raise KeyError(f"unknown Binance symbol {symbol_name!r}")
        held_asset = str(symbol["baseAsset"] if side == "SELL" else symbol["quoteAsset"])
        held = quantity if side == "SELL" else ceil_places(quantity * price, 8)
        now = self.clock.now_ms()
        with account.wallet.lock:
            free, locked = account.wallet.get(held_asset)
            if free < held:
                raise ValueError(f"{account.name}: {held_asset} free {free} < {held}")
            account.wallet.set(held_asset, free - held, locked + held)
        order = SimOrder(
            symbol=symbol_name,
            order_id=self._order_id(symbol_name),
            client_order_id=client_id or _generated_client_id(),
            side=side,
            type="LIMIT",
            orig_qty=quantity,
            executed_qty=ZERO,
            cumm_quote_qty=ZERO,
            orig_quote_qty=ZERO,
            status="NEW",
            time_ms=now,
            base_precision=int(symbol["baseAssetPrecision"]),
            quote_precision=quote_precision(symbol),
            price=price,
            locked_asset=held_asset,
            locked_amount=held,
        )
        account.orders.append(order)
        return order

    def cancel(self, account: BinanceAccount, order: SimOrder) -> None:
        """Cancel an open order and release what it held."""
        if not order.is_open:
            return
        with account.wallet.lock:
            if order.locked_asset is not None:
                free, locked = account.wallet.get(order.locked_asset)
                account.wallet.set(
                    order.locked_asset, free + order.locked_amount, locked - order.locked_amount
                )
            order.status = "CANCELED"

    # ---- GET /api/v3/order, /api/v3/myTrades, /api/v3/openOrders -----------------------------

    def query(self, account: BinanceAccount, params: Mapping[str, str]) -> dict[str, Any]:
        """One order by orderId or origClientOrderId; -2013 while the lag hides a new order."""
        symbol_name = required(params, "symbol")
        if self.market.symbol(symbol_name) is None:
            raise BinanceError(-1121, INVALID_SYMBOL)
        order_id = int_param(params, "orderId")
        client_id = params.get("origClientOrderId") or None
        if order_id is None and client_id is None:
            raise one_of("origClientOrderId", "orderId")
        found: SimOrder | None = None
        for order in reversed(account.orders):  # a reused client id names the newest order
            if order.symbol != symbol_name:
                continue
            if order_id is not None and order.order_id != order_id:
                continue
            if client_id is not None and order.client_order_id != client_id:
                continue
            found = order
            break
        if found is None or self.clock.now_ms() - found.time_ms < self.order_query_lag_ms:
            raise BinanceError(-2013, NO_SUCH_ORDER)
        return found.query_body()

    def my_trades(self, account: BinanceAccount, params: Mapping[str, str]) -> list[dict[str, Any]]:
        symbol_name = required(params, "symbol")
        if self.market.symbol(symbol_name) is None:
            raise BinanceError(-1121, INVALID_SYMBOL)
        order_id = int_param(params, "orderId")
        from_id = int_param(params, "fromId")
        start = int_param(params, "startTime")
        end = int_param(params, "endTime")
        limit = int_param(params, "limit") or 500
        if not 1 <= limit <= 1000:
            raise BinanceError(
                -1100, "Illegal characters found in parameter 'limit'; legal range is '1 - 1000'."
            )
        trades = [
            t
            for t in account.trades(symbol_name)
            if (order_id is None or t["orderId"] == order_id)
            and (from_id is None or t["id"] >= from_id)
            and (start is None or t["time"] >= start)
            and (end is None or t["time"] <= end)
        ]
        return trades[:limit]

    def open_orders(self, account: BinanceAccount, params: Mapping[str, str]) -> list[Any]:
        symbol_name = params.get("symbol") or None
        if symbol_name is not None and self.market.symbol(symbol_name) is None:
            raise BinanceError(-1121, INVALID_SYMBOL)
        return [o.query_body() for o in account.open_orders(symbol_name)]

    def _order_id(self, symbol: str) -> int:
        self._next_order_id[symbol] = self._next_order_id.get(symbol, 5012344) + 1
        return self._next_order_id[symbol]

    def _trade_id(self, symbol: str) -> int:
        self._next_trade_id[symbol] = self._next_trade_id.get(symbol, 91234566) + 1
        return self._next_trade_id[symbol]


def _generated_client_id() -> str:
    """What Binance generates when no newClientOrderId is sent: 22 random alphanumerics."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(22))
