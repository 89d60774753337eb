"""The Binance dialect's route table: each endpoint's handler, security type and weight.

Handlers are thin: they pick the desk that owns the concern (``sim.market``, ``sim.orders``,
``sim.dust``, ``sim.convert``) and pass it the signed-in account and the parameters. The
dialect (``dialect.BinanceSim``) does the common work: routing, SIGNED checks, weight headers.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dustsweep.sim.binance.accounts import BinanceAccount
from dustsweep.sim.binance.info import book_ticker, exchange_info, ticker_price
from dustsweep.sim.binance.wire import (
    INVALID_SYMBOL,
    BinanceError,
    bool_param,
    fixed,
    list_param,
    plain,
    required,
)
from dustsweep.sim.core import SimRequest

if TYPE_CHECKING:
    from dustsweep.sim.binance.dialect import BinanceSim

PUBLIC, USER_DATA, TRADE = "NONE", "USER_DATA", "TRADE"


@dataclass(frozen=True)
class Call:
    """What a handler gets: the raw request, merged parameters, and the signed-in account."""

    request: SimRequest
    params: dict[str, str]
    account: BinanceAccount | None

    @property
    def user(self) -> BinanceAccount:
        assert self.account is not None, "route declared PUBLIC but needs an account"
        return self.account


Handler = Callable[["BinanceSim", Call], Any]


@dataclass(frozen=True)
class Route:
    """One endpoint: its handler, security type and request weight (binance-api.md)."""

    handler: Handler
    security: str
    weight: int
    weight_all: int | None = None  # weight when no ``symbol`` is given (ticker, openOrders)
    uid_weight: bool = False  # /sapi endpoints counted per account, not per IP
    places_orders: bool = False  # answers carry X-MBX-ORDER-COUNT-* headers
    needs_reading: bool = True  # apiRestrictions answers even a key without reading rights

    def weight_for(self, params: Mapping[str, str]) -> int:
        if self.weight_all is not None and not params.get("symbol"):
            return self.weight_all
        return self.weight


# ---- handlers: public market data --------------------------------------------------------------


def _ping(sim: BinanceSim, call: Call) -> Any:
    return {}


def _time(sim: BinanceSim, call: Call) -> Any:
    return {"serverTime": sim.clock.now_ms()}


def _exchange_info(sim: BinanceSim, call: Call) -> Any:
    return exchange_info(sim.market, call.params, sim.clock.now_ms())


def _ticker_price(sim: BinanceSim, call: Call) -> Any:
    return ticker_price(sim.market, call.params)


def _book_ticker(sim: BinanceSim, call: Call) -> Any:
    return book_ticker(sim.market, call.params)


def _avg_price(sim: BinanceSim, call: Call) -> Any:
    name = required(call.params, "symbol")
    if sim.market.symbol(name) is None:
        raise BinanceError(-1121, INVALID_SYMBOL)
    price = sim.market.avg_price(name) or Decimal(0)
    return {
        "mins": sim.market.avg_price_mins(name),
        "price": sim.market.price_text(price),
        "closeTime": sim.clock.now_ms(),
    }


# ---- handlers: account and orders --------------------------------------------------------------


def _account(sim: BinanceSim, call: Call) -> Any:
    omit = bool_param(call.params, "omitZeroBalances")
    return call.user.account_body(sim.clock.now_ms(), omit_zero=omit)


def _commission(sim: BinanceSim, call: Call) -> Any:
    name = required(call.params, "symbol")
    if sim.market.symbol(name) is None:
        raise BinanceError(-1121, INVALID_SYMBOL)
    rate, zero = fixed(call.user.fee_rate), fixed(Decimal(0))
    none = {"maker": zero, "taker": zero, "buyer": zero, "seller": zero}
    return {
        "symbol": name,
        "standardCommission": {"maker": rate, "taker": rate, "buyer": zero, "seller": zero},
        "specialCommission": dict(none),
        "taxCommission": dict(none),
        "discount": {
            "enabledForAccount": False,
            "enabledForSymbol": False,
            "discountAsset": "BNB",
            "discount": "0.25000000",
        },
    }


def _trade_fee(sim: BinanceSim, call: Call) -> Any:
    name = call.params.get("symbol") or None
    if name is not None and sim.market.symbol(name) is None:
        raise BinanceError(-1121, INVALID_SYMBOL)
    names = [name] if name else [str(s["symbol"]) for s in sim.market.symbols()]
    rate = plain(call.user.fee_rate)
    return [{"symbol": n, "makerCommission": rate, "takerCommission": rate} for n in names]


def _new_order(sim: BinanceSim, call: Call) -> Any:
    body, _ = sim.orders.place(call.user, call.params)
    return body


def _test_order(sim: BinanceSim, call: Call) -> Any:
    body, _ = sim.orders.place(call.user, call.params, test=True)
    return body


def _query_order(sim: BinanceSim, call: Call) -> Any:
    return sim.orders.query(call.user, call.params)


def _open_orders(sim: BinanceSim, call: Call) -> Any:
    return sim.orders.open_orders(call.user, call.params)


def _my_trades(sim: BinanceSim, call: Call) -> Any:
    return sim.orders.my_trades(call.user, call.params)


def _api_restrictions(sim: BinanceSim, call: Call) -> Any:
    return copy.deepcopy(call.user.restrictions)


def _delist_schedule(sim: BinanceSim, call: Call) -> Any:
    batches = sim.delist_schedule
    return [{"delistTime": b["delistTime"], "symbols": list(b["symbols"])} for b in batches]


def _bnb_burn(sim: BinanceSim, call: Call) -> Any:
    return {"spotBNBBurn": call.user.bnb_burn, "interestBNBBurn": False}


# ---- handlers: dust and Convert ----------------------------------------------------------------


def _dust_btc(sim: BinanceSim, call: Call) -> Any:
    return sim.dust.dust_btc(call.user)


def _dust(sim: BinanceSim, call: Call) -> Any:
    return sim.dust.dust(call.user, list_param(call.request, "asset"))


def _dribblet(sim: BinanceSim, call: Call) -> Any:
    return sim.dust.dribblet(call.user, call.params)


def _dust_convertible(sim: BinanceSim, call: Call) -> Any:
    return sim.dust.query_convertible(call.user, sim.dust.check_target(call.params))


def _dust_convert(sim: BinanceSim, call: Call) -> Any:
    target = sim.dust.check_target(call.params, default="BNB")
    assets = list_param(call.request, "asset")
    return sim.dust.convert(call.user, assets, target, call.params.get("clientId") or None)


def _convert_info(sim: BinanceSim, call: Call) -> Any:
    return sim.convert.exchange_info(call.params)


def _convert_assets(sim: BinanceSim, call: Call) -> Any:
    return sim.convert.asset_info()


def _get_quote(sim: BinanceSim, call: Call) -> Any:
    return sim.convert.get_quote(call.user, call.params)


def _accept_quote(sim: BinanceSim, call: Call) -> Any:
    return sim.convert.accept_quote(call.user, call.params)


def _convert_status(sim: BinanceSim, call: Call) -> Any:
    return sim.convert.order_status(call.user, call.params)


def _trade_flow(sim: BinanceSim, call: Call) -> Any:
    return sim.convert.trade_flow(call.user, call.params)


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/api/v3/ping"): Route(_ping, PUBLIC, 1),
    ("GET", "/api/v3/time"): Route(_time, PUBLIC, 1),
    ("GET", "/api/v3/exchangeInfo"): Route(_exchange_info, PUBLIC, 20),
    ("GET", "/api/v3/ticker/price"): Route(_ticker_price, PUBLIC, 2, weight_all=4),
    ("GET", "/api/v3/ticker/bookTicker"): Route(_book_ticker, PUBLIC, 2, weight_all=4),
    ("GET", "/api/v3/avgPrice"): Route(_avg_price, PUBLIC, 2),
    ("GET", "/api/v3/account"): Route(_account, USER_DATA, 20),
    ("GET", "/api/v3/account/commission"): Route(_commission, USER_DATA, 20),
    ("POST", "/api/v3/order"): Route(_new_order, TRADE, 1, places_orders=True),
    ("POST", "/api/v3/order/test"): Route(_test_order, TRADE, 1),
    ("GET", "/api/v3/order"): Route(_query_order, USER_DATA, 4),
    ("GET", "/api/v3/openOrders"): Route(_open_orders, USER_DATA, 6, weight_all=80),
    ("GET", "/api/v3/myTrades"): Route(_my_trades, USER_DATA, 20),
    ("GET", "/sapi/v1/account/apiRestrictions"): Route(
        _api_restrictions, USER_DATA, 1, needs_reading=False
    ),
    ("GET", "/sapi/v1/asset/tradeFee"): Route(_trade_fee, USER_DATA, 1),
    # public since 2026 (python-binance sends it unsigned); a signed request is accepted too
    ("GET", "/sapi/v1/spot/delist-schedule"): Route(_delist_schedule, PUBLIC, 100),
    ("GET", "/sapi/v1/bnbBurn"): Route(_bnb_burn, USER_DATA, 1),
    ("POST", "/sapi/v1/asset/dust-btc"): Route(_dust_btc, USER_DATA, 1),
    ("POST", "/sapi/v1/asset/dust"): Route(_dust, TRADE, 10, uid_weight=True),
    ("GET", "/sapi/v1/asset/dribblet"): Route(_dribblet, USER_DATA, 1),
    ("POST", "/sapi/v1/asset/dust-convert/query-convertible-assets"): Route(
        _dust_convertible, USER_DATA, 1
    ),
    ("POST", "/sapi/v1/asset/dust-convert/convert"): Route(
        _dust_convert, TRADE, 10, uid_weight=True
    ),
    ("GET", "/sapi/v1/convert/exchangeInfo"): Route(_convert_info, PUBLIC, 3000),
    ("GET", "/sapi/v1/convert/assetInfo"): Route(_convert_assets, USER_DATA, 100),
    ("POST", "/sapi/v1/convert/getQuote"): Route(_get_quote, TRADE, 200, uid_weight=True),
    ("POST", "/sapi/v1/convert/acceptQuote"): Route(_accept_quote, TRADE, 500, uid_weight=True),
    ("GET", "/sapi/v1/convert/orderStatus"): Route(
        _convert_status, USER_DATA, 100, uid_weight=True
    ),
    ("GET", "/sapi/v1/convert/tradeFlow"): Route(_trade_flow, USER_DATA, 3000, uid_weight=True),
}
