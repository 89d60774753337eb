"""One simulated Binance spot account: its key, permissions, wallet, orders, trades and logs.

Tests read the exchange-side result through these objects (``account.wallet``,
``account.orders``, ``account.trades``, ``account.dribblets``, ``account.convert_orders``)
rather than trusting what a client printed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dustsweep.sim.binance.wire import fixed, to_decimal
from dustsweep.sim.core import Wallet

if TYPE_CHECKING:
    from dustsweep.sim.binance.convert import ConvertOrder

ACCOUNT_KEYS = frozenset(
    {
        "name",
        "api_key",
        "api_secret",
        "public_key",
        "balances",
        "permissions",
        "fee_rate",
        "convert_access",
        "bnb_burn",
    }
)
DEFAULT_FEE_RATE = Decimal("0.001")
OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED"})

# GET /sapi/v1/account/apiRestrictions for a key made for a dust sweeper (binance-api.md §9.1).
DEFAULT_RESTRICTIONS: dict[str, Any] = {
    "ipRestrict": False,
    "createTime": 1623840271000,
    "enableReading": True,
    "enableSpotAndMarginTrading": True,
    "enableWithdrawals": False,
    "enableInternalTransfer": False,
    "permitsUniversalTransfer": False,
    "enableMargin": False,
    "enableFutures": False,
    "enableVanillaOptions": False,
    "enablePortfolioMarginTrading": False,
    "enableFixApiTrade": False,
    "enableFixReadOnly": True,
}


@dataclass
class SimFill:
    """One trade of an order, in the numbers the account was really charged."""

    trade_id: int
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time_ms: int


@dataclass
class SimOrder:
    """An order as the exchange keeps it. Market orders are FILLED (or EXPIRED when the book
    ran out) the moment they are accepted; NEW orders only come from the ``open_order`` hook."""

    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    orig_qty: Decimal
    executed_qty: Decimal
    cumm_quote_qty: Decimal
    orig_quote_qty: Decimal
    status: str
    time_ms: int
    base_precision: int
    quote_precision: int
    price: Decimal = Decimal(0)
    time_in_force: str = "GTC"
    stp_mode: str = "NONE"
    fills: list[SimFill] = field(default_factory=list)
    locked_asset: str | None = None  # what an open order holds, released on fill or cancel
    locked_amount: Decimal = Decimal(0)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def body(self, resp_type: str = "FULL") -> dict[str, Any]:
        """The POST /api/v3/order answer for ``newOrderRespType``."""
        body: dict[str, Any] = {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "transactTime": self.time_ms,
        }
        if resp_type == "ACK":
            return body
        body.update(self._state())
        body["workingTime"] = self.time_ms
        body["selfTradePreventionMode"] = self.stp_mode
        if resp_type == "FULL":
            body["fills"] = [self._fill_body(f) for f in self.fills]
        return body

    def query_body(self) -> dict[str, Any]:
        """The GET /api/v3/order answer."""
        body: dict[str, Any] = {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
        }
        body.update(self._state())
        body.update(
            {
                "stopPrice": fixed(Decimal(0)),
                "icebergQty": fixed(Decimal(0)),
                "time": self.time_ms,
                "updateTime": self.time_ms,
                "isWorking": True,
                "workingTime": self.time_ms,
                "selfTradePreventionMode": self.stp_mode,
            }
        )
        return body

    def _state(self) -> dict[str, Any]:
        return {
            "price": fixed(self.price),
            "origQty": fixed(self.orig_qty, self.base_precision),
            "executedQty": fixed(self.executed_qty, self.base_precision),
            "origQuoteOrderQty": fixed(self.orig_quote_qty, self.quote_precision),
            "cummulativeQuoteQty": fixed(self.cumm_quote_qty, self.quote_precision),
            "status": self.status,
            "timeInForce": self.time_in_force,
            "type": self.type,
            "side": self.side,
        }

    def _fill_body(self, fill: SimFill) -> dict[str, Any]:
        return {
            "price": fixed(fill.price),
            "qty": fixed(fill.qty, self.base_precision),
            "commission": fixed(fill.commission),
            "commissionAsset": fill.commission_asset,
            "tradeId": fill.trade_id,
        }

    def trade_bodies(self) -> list[dict[str, Any]]:
        """This order's fills in the GET /api/v3/myTrades shape."""
        return [
            {
                "symbol": self.symbol,
                "id": fill.trade_id,
                "orderId": self.order_id,
                "orderListId": -1,
                "price": fixed(fill.price),
                "qty": fixed(fill.qty, self.base_precision),
                "quoteQty": fixed(fill.quote_qty, self.quote_precision),
                "commission": fixed(fill.commission),
                "commissionAsset": fill.commission_asset,
                "time": fill.time_ms,
                "isBuyer": self.side == "BUY",
                "isMaker": False,
                "isBestMatch": True,
            }
            for fill in self.fills
        ]


@dataclass
class BinanceAccount:
    """A scenario account. ``orders`` is every order in acceptance order (the trade list is
    derived from their fills: ``trades()``)."""

    name: str
    api_key: str
    api_secret: str
    wallet: Wallet
    uid: int
    public_key: str | None = None  # PEM of an Ed25519/RSA key: verifies instead of api_secret
    fee_rate: Decimal = DEFAULT_FEE_RATE
    restrictions: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_RESTRICTIONS))
    convert_access: bool = True
    bnb_burn: bool = False  # GET /sapi/v1/bnbBurn spotBNBBurn: fees paid in BNB (default off)
    orders: list[SimOrder] = field(default_factory=list)
    dribblets: list[dict[str, Any]] = field(default_factory=list)  # newest last
    dust_convert_results: dict[str, dict[str, Any]] = field(default_factory=dict)  # by clientId
    last_dust_ms: int | None = None
    convert_orders: list[ConvertOrder] = field(default_factory=list)
    update_ms: int = 0

    @classmethod
    def from_scenario(cls, raw: Mapping[str, Any], index: int) -> BinanceAccount:
        unknown = set(raw) - ACCOUNT_KEYS
        if unknown:
            raise ValueError(f"binance account: unknown keys {sorted(unknown)}")
        needs_secret = not raw.get("public_key")  # an Ed25519/RSA account has no secret
        for key in ("name", "api_key", "api_secret") if needs_secret else ("name", "api_key"):
            if not raw.get(key):
                raise ValueError(f"binance account #{index + 1}: {key!r} is required")
        restrictions = dict(DEFAULT_RESTRICTIONS)
        restrictions.update(copy.deepcopy(dict(raw.get("permissions") or {})))
        return cls(
            name=str(raw["name"]),
            api_key=str(raw["api_key"]),
            api_secret=str(raw.get("api_secret") or ""),
            wallet=Wallet(_balances(raw.get("balances") or {})),
            uid=354937868 + index,
            public_key=str(raw["public_key"]) if raw.get("public_key") else None,
            fee_rate=to_decimal(raw.get("fee_rate", DEFAULT_FEE_RATE), "fee_rate"),
            restrictions=restrictions,
            convert_access=bool(raw.get("convert_access", True)),
            bnb_burn=bool(raw.get("bnb_burn", False)),
        )

    @property
    def can_read(self) -> bool:
        return bool(self.restrictions.get("enableReading", True))

    def can_trade(self, now_ms: int) -> bool:
        """Spot trading (orders and dust transfers) needs this key permission, unexpired."""
        if not self.restrictions.get("enableSpotAndMarginTrading", False):
            return False
        expiry = self.restrictions.get("tradingAuthorityExpirationTime")
        return expiry is None or now_ms < int(expiry)

    def trades(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """Every trade of this account (GET /api/v3/myTrades shape), oldest first."""
        found: list[dict[str, Any]] = []
        for order in self.orders:
            if symbol is None or order.symbol == symbol:
                found.extend(order.trade_bodies())
        return sorted(found, key=lambda t: (t["symbol"], t["id"]))

    def open_orders(self, symbol: str | None = None) -> list[SimOrder]:
        return [o for o in self.orders if o.is_open and (symbol is None or o.symbol == symbol)]

    def account_body(self, now_ms: int, *, omit_zero: bool) -> dict[str, Any]:
        """GET /api/v3/account, balances with 8 decimals as the exchange writes them."""
        rate = fixed(self.fee_rate)
        bps = int(self.fee_rate * 10000)
        balances = []
        for asset in self.wallet.assets():
            free, locked = self.wallet.get(asset)
            if omit_zero and free == 0 and locked == 0:
                continue
            balances.append({"asset": asset, "free": fixed(free), "locked": fixed(locked)})
        return {
            "makerCommission": bps,
            "takerCommission": bps,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": rate,
                "taker": rate,
                "buyer": fixed(Decimal(0)),
                "seller": fixed(Decimal(0)),
            },
            "canTrade": self.can_trade(now_ms),
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": self.update_ms,
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": self.uid,
        }


def _balances(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Scenario balances checked for exactness (a float would lose the amount's digits)."""
    checked: dict[str, Any] = {}
    for asset, value in raw.items():
        if isinstance(value, Mapping):
            unknown = set(value) - {"free", "locked"}
            if unknown:
                raise ValueError(f"binance balance {asset}: unknown keys {sorted(unknown)}")
            checked[asset] = {
                k: str(to_decimal(v, f"balance {asset}.{k}")) for k, v in value.items()
            }
        else:
            checked[asset] = str(to_decimal(value, f"balance {asset}"))
    return checked
