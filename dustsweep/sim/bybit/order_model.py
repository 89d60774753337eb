"""The order and fill records of the Bybit dialect, rendered in V5's field shapes (§5.3, §5.4).

Kept apart from the matching logic so the records tests inspect (``account.orders``,
``account.executions``) read as plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dustsweep.sim.bybit.wire import ZERO, num

OPEN_STATUSES = frozenset({"New", "PartiallyFilled", "Untriggered"})


@dataclass
class BybitOrder:
    """One spot order as the exchange keeps it. Amounts are Decimal; ``qty`` is the text sent."""

    order_id: str
    link_id: str
    symbol: str
    side: str  # Buy | Sell
    order_type: str  # Market | Limit
    qty: str
    market_unit: str  # baseCoin | quoteCoin ("" for Limit)
    price: str
    time_in_force: str
    created_ms: int
    updated_ms: int
    base_price: str = ""
    status: str = "New"
    reject_reason: str = "EC_NoError"
    cum_exec_qty: Decimal = ZERO
    cum_exec_value: Decimal = ZERO
    fee: Decimal = ZERO
    fee_coin: str = ""
    leaves_qty: Decimal = ZERO
    leaves_value: Decimal = ZERO
    locked_coin: str = ""
    locked_amount: Decimal = ZERO

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def avg_price(self) -> Decimal:
        return self.cum_exec_value / self.cum_exec_qty if self.cum_exec_qty else ZERO

    def to_json(self) -> dict[str, Any]:
        avg = self.avg_price
        return {
            "orderId": self.order_id,
            "orderLinkId": self.link_id,
            "blockTradeId": "",
            "symbol": self.symbol,
            "price": self.price,
            "qty": self.qty,
            "side": self.side,
            "isLeverage": "0",
            "positionIdx": 0,
            "orderStatus": self.status,
            "cancelType": "UNKNOWN",
            "rejectReason": self.reject_reason,
            "avgPrice": num(avg) if avg else "",
            "leavesQty": num(self.leaves_qty),
            "leavesValue": num(self.leaves_value),
            "cumExecQty": num(self.cum_exec_qty),
            "cumExecValue": num(self.cum_exec_value),
            "cumExecFee": num(self.fee),
            "cumFeeDetail": {self.fee_coin: num(self.fee)} if self.fee else {},
            "timeInForce": self.time_in_force,
            "orderType": self.order_type,
            "stopOrderType": "",
            "orderIv": "",
            "triggerPrice": "0",
            "takeProfit": "0",
            "stopLoss": "0",
            "tpTriggerBy": "",
            "slTriggerBy": "",
            "triggerDirection": 0,
            "triggerBy": "",
            "lastPriceOnCreated": self.base_price,
            "basePrice": self.base_price,
            "reduceOnly": False,
            "closeOnTrigger": False,
            "smpType": "None",
            "smpGroup": 0,
            "smpOrderId": "",
            "tpslMode": "",
            "tpLimitPrice": "",
            "slLimitPrice": "",
            "placeType": "",
            "marketUnit": self.market_unit,
            "slippageToleranceType": "UNKNOWN",
            "slippageTolerance": "0",
            "extraFees": "",
            "createdTime": str(self.created_ms),
            "updatedTime": str(self.updated_ms),
        }


@dataclass
class Execution:
    """One fill of an order, with the fee in ``fee_coin`` (quote on a sell, base on a buy)."""

    exec_id: str
    order: BybitOrder = field(repr=False)
    price: Decimal
    qty: Decimal
    value: Decimal
    fee: Decimal
    fee_coin: str
    fee_rate: Decimal
    time_ms: int
    seq: int

    def to_json(self) -> dict[str, Any]:
        order = self.order
        return {
            "symbol": order.symbol,
            "orderId": order.order_id,
            "orderLinkId": order.link_id,
            "side": order.side,
            "orderPrice": order.price,
            "orderQty": order.qty,
            "leavesQty": num(order.leaves_qty),
            "createType": "CreateByUser",
            "orderType": order.order_type,
            "stopOrderType": "",
            "execFee": num(self.fee),
            "execFeeV2": "",
            "feeCurrency": self.fee_coin,
            "execId": self.exec_id,
            "execPrice": num(self.price),
            "execQty": num(self.qty),
            "execType": "Trade",
            "execValue": num(self.value),
            "execTime": str(self.time_ms),
            "isMaker": False,
            "feeRate": num(self.fee_rate),
            "tradeIv": "",
            "markIv": "",
            "markPrice": "",
            "indexPrice": "",
            "underlyingPrice": "",
            "blockTradeId": "",
            "closedSize": "",
            "seq": self.seq,
            "extraFees": "",
        }
