"""Spot trading of the Bybit dialect: order create/cancel, order and fill queries, fee rates.

Market orders fill at once against the ticker (a sell at bid1Price, a buy at ask1Price), so the
create answer is only an ack ({orderId, orderLinkId}) and the fill must be read back, exactly the
round trip a real client pays. The fee is charged in the quote coin on a sell and in the base
coin on a buy, which is how a market buy leaves dust behind (bybit-api.md §5.6).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from dustsweep.core.lots import floor_to_step
from dustsweep.sim.bybit.accounts import SimAccount
from dustsweep.sim.bybit.market import BybitMarket
from dustsweep.sim.bybit.order_model import BybitOrder, Execution
from dustsweep.sim.bybit.wire import (
    ZERO,
    BybitError,
    IdMaker,
    is_multiple,
    num,
    parse_amount,
)

_LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
_TIME_IN_FORCE = frozenset({"GTC", "IOC", "FOK", "PostOnly"})


def _param_error(what: str) -> BybitError:
    return BybitError(10001, f"params error: {what}")


def _page(
    rows: list[Any], params: Mapping[str, str], default: int, most: int
) -> tuple[list[Any], str]:
    """One page of ``rows`` by ``limit`` and an opaque ``cursor`` (here: the offset)."""
    try:
        limit = int(params.get("limit") or default)
        offset = int(params.get("cursor") or 0)
    except ValueError as exc:
        raise _param_error("limit or cursor invalid") from exc
    if not 1 <= limit <= most or offset < 0:
        raise _param_error(f"limit must be 1-{most}")
    chunk = rows[offset : offset + limit]
    more = offset + limit < len(rows)
    return chunk, (str(offset + limit) if more else "")


class BybitTrading:
    """Order matching and order queries over the market and the accounts."""

    def __init__(self, market: BybitMarket, ids: IdMaker, query_lag_ms: int = 0) -> None:
        self.market = market
        self.ids = ids
        self.query_lag_ms = query_lag_ms
        self._seq = 48810229

    # ----- POST /v5/order/create --------------------------------------------------------------

    def create(self, account: SimAccount, params: Mapping[str, Any], now: int) -> dict[str, str]:
        side, order_type, link_id = _order_params(params)
        symbol = str(params["symbol"])
        instrument = self.market.instrument(symbol)
        if instrument is None and symbol not in self.market.removed:
            raise BybitError(170121, "Invalid symbol.")
        if (
            instrument is None
            or instrument.get("status") != "Trading"
            or self.market.ticker(symbol) is None
        ):
            # A listed pair without a ticker is treated like a suspended one (pitfalls.md).
            raise BybitError(170157, "The trading pair is not available for api trading.")
        if link_id and link_id in account.link_ids:
            raise BybitError(170141, "Duplicate clientOrderId")
        qty = parse_amount(params["qty"], "qty")
        order = BybitOrder(
            order_id=self.ids.order_id(now),
            link_id=link_id,
            symbol=symbol,
            side=side,
            order_type=order_type,
            qty=str(params["qty"]),
            market_unit="",
            price="0",
            time_in_force="IOC",
            created_ms=now,
            updated_ms=now,
            base_price=self.market.tickers[symbol].get("lastPrice", ""),
        )
        if order_type == "Market":
            self._market_order(account, order, instrument, params, qty, now)
        else:
            self._limit_order(account, order, instrument, params, qty, now)
        if link_id:
            account.link_ids.add(link_id)
        account.orders.append(order)
        return {"orderId": order.order_id, "orderLinkId": order.link_id}

    def _market_order(
        self,
        account: SimAccount,
        order: BybitOrder,
        instrument: Mapping[str, Any],
        params: Mapping[str, Any],
        qty: Decimal,
        now: int,
    ) -> None:
        lot = _lot(instrument)
        default_unit = "baseCoin" if order.side == "Sell" else "quoteCoin"
        unit = str(params.get("marketUnit") or default_unit)
        if unit not in ("baseCoin", "quoteCoin"):
            raise _param_error("marketUnit invalid")
        order.market_unit = unit
        book = self.market.bid if order.side == "Sell" else self.market.ask
        price = book(order.symbol) or self.market.last(order.symbol) or ZERO
        if unit == "baseCoin":
            self._check_base_qty(qty, lot, price)
            base_qty = qty
        else:
            if not is_multiple(qty, lot["quotePrecision"]):
                raise BybitError(170148, "Market order amount decimal too long.")
            if qty < lot["minOrderAmt"]:
                raise BybitError(170140, "Order value exceeded lower limit.")
            base_qty = floor_to_step(qty / price, lot["basePrecision"]) if price else ZERO
        base, quote = str(instrument["baseCoin"]), str(instrument["quoteCoin"])
        if order.side == "Sell" and base_qty > account.available(base):
            raise BybitError(170131, "Insufficient balance.")
        if order.side == "Buy":
            cost = qty if unit == "quoteCoin" else base_qty * price
            if cost > account.available(quote):
                raise BybitError(170131, "Insufficient balance.")
        fill_price = book(order.symbol)
        self._take(account, order, instrument, base_qty, fill_price, now)

    def _check_base_qty(self, qty: Decimal, lot: Mapping[str, Decimal], price: Decimal) -> None:
        """Base-unit quantity rules, in the order Bybit reports them."""
        if not is_multiple(qty, lot["basePrecision"]):
            raise BybitError(170137, "Order quantity has too many decimals.")
        if qty < lot["minOrderQty"]:
            raise BybitError(170136, "Order quantity exceeded lower limit.")
        if lot["maxQty"] and qty > lot["maxQty"]:
            raise BybitError(170381, "Order quantity exceeded upper limit.")
        if qty * price < lot["minOrderAmt"]:
            raise BybitError(170140, "Order value exceeded lower limit.")

    def _limit_order(
        self,
        account: SimAccount,
        order: BybitOrder,
        instrument: Mapping[str, Any],
        params: Mapping[str, Any],
        qty: Decimal,
        now: int,
    ) -> None:
        """A Limit order: taker fill when it crosses the book, else it rests and locks funds."""
        if params.get("price") in (None, ""):
            raise _param_error("price is required for Limit orders")
        price = parse_amount(params["price"], "price")
        tick = Decimal(str(instrument["priceFilter"]["tickSize"]))
        if price <= 0 or not is_multiple(price, tick):
            raise BybitError(170134, "Order price has too many decimals.")
        tif = str(params.get("timeInForce") or "GTC")
        if tif not in _TIME_IN_FORCE:
            raise _param_error("timeInForce invalid")
        lot = _lot(instrument)
        self._check_base_qty(qty, lot, price)
        order.price, order.time_in_force = str(params["price"]), tif
        base, quote = str(instrument["baseCoin"]), str(instrument["quoteCoin"])
        lock_coin, lock_amount = (base, qty) if order.side == "Sell" else (quote, qty * price)
        if lock_amount > account.available(lock_coin):
            raise BybitError(170131, "Insufficient balance.")
        bid, ask = self.market.bid(order.symbol), self.market.ask(order.symbol)
        crosses = (order.side == "Sell" and bid is not None and bid >= price) or (
            order.side == "Buy" and ask is not None and ask <= price
        )
        if crosses and tif == "PostOnly":
            order.status, order.reject_reason = "Cancelled", "EC_PostOnlyWillTakeLiquidity"
        elif crosses:
            self._take(account, order, instrument, qty, bid if order.side == "Sell" else ask, now)
        elif tif in ("IOC", "FOK"):
            order.status, order.reject_reason = "Cancelled", "EC_NoImmediateQtyToFill"
        else:
            with account.wallet.lock:
                free, locked = account.wallet.get(lock_coin)
                account.wallet.set(lock_coin, free - lock_amount, locked + lock_amount)
            order.locked_coin, order.locked_amount = lock_coin, lock_amount
            order.leaves_qty, order.leaves_value = qty, qty * price

    def _take(
        self,
        account: SimAccount,
        order: BybitOrder,
        instrument: Mapping[str, Any],
        base_qty: Decimal,
        price: Decimal | None,
        now: int,
    ) -> None:
        """Fill up to ``base_qty`` at ``price`` (capped by the liquidity hook) as a taker."""
        cap = self.market.liquidity.get(order.symbol)
        step = Decimal(str(instrument["lotSizeFilter"]["basePrecision"]))
        fill = base_qty if cap is None else floor_to_step(min(base_qty, cap), step)
        if price is None or price <= 0:
            fill = ZERO
        base, quote = str(instrument["baseCoin"]), str(instrument["quoteCoin"])
        if fill > 0:
            assert price is not None
            value = fill * price
            with account.wallet.lock:
                if order.side == "Sell":
                    fee, fee_coin = value * account.fee_rate, quote
                    account.wallet.debit(base, fill)
                    account.wallet.credit(quote, value - fee)
                else:
                    fee, fee_coin = fill * account.fee_rate, base
                    account.wallet.debit(quote, value)
                    account.wallet.credit(base, fill - fee)
            self._seq += 1
            execution = Execution(
                exec_id=self.ids.order_id(now),
                order=order,
                price=price,
                qty=fill,
                value=value,
                fee=fee,
                fee_coin=fee_coin,
                fee_rate=account.fee_rate,
                time_ms=now,
                seq=self._seq,
            )
            account.executions.append(execution)
            order.cum_exec_qty, order.cum_exec_value = fill, value
            order.fee, order.fee_coin = fee, fee_coin
        if fill > 0 and fill == base_qty:
            order.status = "Filled"
        elif fill > 0:
            order.status, order.reject_reason = "PartiallyFilledCanceled", "EC_CancelForNoFullFill"
        else:
            order.status, order.reject_reason = "Cancelled", "EC_NoImmediateQtyToFill"
        order.updated_ms = now

    # ----- POST /v5/order/cancel --------------------------------------------------------------

    def cancel(self, account: SimAccount, params: Mapping[str, Any], now: int) -> dict[str, str]:
        if params.get("category") != "spot":
            raise _param_error("category only supports spot in the simulator")
        order_id, link_id = str(params.get("orderId") or ""), str(params.get("orderLinkId") or "")
        if not order_id and not link_id:
            raise _param_error("orderId or orderLinkId is required")
        match = [o for o in account.orders if _same_order(o, order_id, link_id) and o.is_open]
        if not match:
            raise BybitError(170213, "Order does not exist.")
        order = match[0]
        with account.wallet.lock:
            free, locked = account.wallet.get(order.locked_coin)
            account.wallet.set(
                order.locked_coin, free + order.locked_amount, locked - order.locked_amount
            )
        order.locked_amount = ZERO
        order.status, order.reject_reason = "Cancelled", "EC_PerCancelRequest"
        order.updated_ms = now
        return {"orderId": order.order_id, "orderLinkId": order.link_id}

    # ----- queries ----------------------------------------------------------------------------

    def _visible(
        self, account: SimAccount, params: Mapping[str, str], now: int
    ) -> list[BybitOrder]:
        """Orders matching the common filters, newest first, minus those still 'in the
        replica lag' (order_query_lag_ms): Bybit's queries can trail its matching engine."""
        if params.get("category") != "spot":
            raise _param_error("category only supports spot in the simulator")
        order_id, link_id = params.get("orderId") or "", params.get("orderLinkId") or ""
        symbol = params.get("symbol") or ""
        rows = [
            o
            for o in account.orders
            if now - o.created_ms >= self.query_lag_ms
            and (not symbol or o.symbol == symbol)
            and _same_order(o, order_id, link_id)
        ]
        return sorted(rows, key=lambda o: o.created_ms, reverse=True)

    def realtime(self, account: SimAccount, params: Mapping[str, str], now: int) -> dict[str, Any]:
        """Open orders; recent closed ones too when asked by id or with openOnly != 0."""
        rows = self._visible(account, params, now)
        by_id = bool(params.get("orderId") or params.get("orderLinkId"))
        if not by_id and (params.get("openOnly") or "0") == "0":
            rows = [o for o in rows if o.is_open]
        else:
            closed = [o for o in rows if not o.is_open][:500]
            rows = [o for o in rows if o.is_open or o in closed]
        chunk, cursor = _page(rows, params, 20, 50)
        return {"category": "spot", "nextPageCursor": cursor, "list": [o.to_json() for o in chunk]}

    def history(self, account: SimAccount, params: Mapping[str, str], now: int) -> dict[str, Any]:
        rows = self._visible(account, params, now)
        status = params.get("orderStatus")
        if status:
            rows = [o for o in rows if o.status == status]
        chunk, cursor = _page(rows, params, 20, 50)
        return {"category": "spot", "nextPageCursor": cursor, "list": [o.to_json() for o in chunk]}

    def executions(
        self, account: SimAccount, params: Mapping[str, str], now: int
    ) -> dict[str, Any]:
        visible = {o.order_id for o in self._visible(account, params, now)}
        rows = [e for e in account.executions if e.order.order_id in visible]
        rows.sort(key=lambda e: (e.time_ms, e.seq), reverse=True)
        chunk, cursor = _page(rows, params, 50, 100)
        return {"category": "spot", "nextPageCursor": cursor, "list": [e.to_json() for e in chunk]}

    def fee_rates(self, account: SimAccount, params: Mapping[str, str]) -> dict[str, Any]:
        if params.get("category") != "spot":
            raise _param_error("category only supports spot in the simulator")
        symbol = params.get("symbol") or ""
        if symbol and self.market.instrument(symbol) is None:
            raise _param_error("symbol invalid")
        symbols = [symbol] if symbol else sorted(self.market.instruments)
        rate = num(account.fee_rate)
        return {
            "category": "spot",
            "list": [{"symbol": s, "takerFeeRate": rate, "makerFeeRate": rate} for s in symbols],
        }


def _order_params(params: Mapping[str, Any]) -> tuple[str, str, str]:
    """Side, order type and orderLinkId after the plain parameter checks (10001)."""
    if params.get("category") != "spot":
        raise _param_error("category only supports spot in the simulator")
    for required in ("symbol", "side", "orderType", "qty"):
        if params.get(required) in (None, ""):
            raise _param_error(f"{required} is required")
    side, order_type = str(params["side"]), str(params["orderType"])
    if side not in ("Buy", "Sell"):
        raise _param_error("side invalid")
    if order_type not in ("Market", "Limit"):
        raise _param_error("orderType invalid")
    link_id = str(params.get("orderLinkId") or "")
    if link_id and not _LINK_ID.match(link_id):
        raise _param_error("orderLinkId must be at most 36 characters of [A-Za-z0-9_-]")
    if str(params.get("isLeverage", 0)) not in ("0", ""):
        raise _param_error("isLeverage must be 0: the simulator does not lend")
    return side, order_type, link_id


def _same_order(order: BybitOrder, order_id: str, link_id: str) -> bool:
    """Bybit: when both ids are given, orderId wins."""
    if order_id:
        return order.order_id == order_id
    if link_id:
        return order.link_id == link_id
    return True


def _lot(instrument: Mapping[str, Any]) -> dict[str, Decimal]:
    raw = instrument["lotSizeFilter"]
    max_qty = raw.get("maxMarketOrderQty") or raw.get("maxOrderQty") or "0"
    return {
        "basePrecision": Decimal(str(raw["basePrecision"])),
        "quotePrecision": Decimal(str(raw["quotePrecision"])),
        "minOrderQty": Decimal(str(raw.get("minOrderQty") or "0")),
        "minOrderAmt": Decimal(str(raw.get("minOrderAmt") or "0")),
        "maxQty": Decimal(str(max_qty)),
    }
