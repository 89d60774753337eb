"""The Bybit V5 dialect of the exchange simulator, served by ``SimServer``.

The real pybit client works against it unchanged::

    sim = BybitSim.from_scenario({"accounts": [{"name": "main", "api_key": "k",
                                                "api_secret": "s", "balances": {"XRP": "3"}}]})
    with SimServer(sim) as server:
        session = HTTP(api_key="k", api_secret="s", max_retries=1, retry_codes={-1})
        session.endpoint = server.url

Scenario section keys (all optional except ``accounts``): ``accounts`` (see
``accounts.ACCOUNT_KEYS``), ``symbols`` ({"XRPUSDT": {"lotSizeFilter": {...}}, "FOOUSDT":
{"remove": true}}), ``add_symbols`` (raw instruments), ``prices`` (bid1Price per symbol; ``""``
= empty bid side), ``drop_prices`` (listed symbols with no ticker), ``liquidity`` (max base qty
one market order fills, per symbol), ``conversion`` (``conversion_rules.CONVERSION_KEYS``),
``order_query_lag_ms``, ``rate_limits`` (true: answer 10006 past Bybit's per-second limits),
``announcements`` (``sim.bybit.announcements.announcement`` rows).

Every endpoint answers HTTP 200 with the V5 envelope; only an unknown path is an HTTP error
(404). Faults (HTTP errors, drops, lost responses, delays) come from ``SimServer.faults``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dustsweep.sim.bybit import announcements
from dustsweep.sim.bybit.accounts import SimAccount, coin_row, wallet_result
from dustsweep.sim.bybit.auth import RateLimiter, authenticate
from dustsweep.sim.bybit.conversion_rules import ConversionRules
from dustsweep.sim.bybit.convert import CoinExchange
from dustsweep.sim.bybit.market import BybitMarket
from dustsweep.sim.bybit.orders import BybitTrading
from dustsweep.sim.bybit.smallbalance import SmallBalanceConverter
from dustsweep.sim.bybit.wire import BybitError, IdMaker, envelope
from dustsweep.sim.core import Dialect, SimClock, SimRequest, SimResponse

SECTION_KEYS = frozenset(
    {
        "accounts",
        "symbols",
        "add_symbols",
        "prices",
        "drop_prices",
        "liquidity",
        "conversion",
        "order_query_lag_ms",
        "rate_limits",
        "announcements",
    }
)
_NOT_FOUND = b"<html><head><title>404 Not Found</title></head><body>404 Not Found</body></html>"


@dataclass
class Call:
    """One dispatched request: who sent it (None on public endpoints), its params, the time."""

    account: SimAccount | None
    params: dict[str, Any]
    now: int

    @property
    def who(self) -> SimAccount:
        assert self.account is not None, "private route without an account"
        return self.account


@dataclass(frozen=True)
class Route:
    """How one path is served: handler, auth, the key permission it needs, its UID limit."""

    method: str
    handler: Callable[[Call], Any]
    private: bool = True
    group: str | None = None  # permission group in query-api ("Spot", "Exchange")
    permission: str | None = None  # permission inside the group ("SpotTrade")
    write: bool = False  # refused to read-only keys
    limit: int = 50  # requests per second per UID (bybit-api.md §8.1)
    ok: str = "OK"  # retMsg on success; the asset endpoints say "ok"


def _price(value: Any) -> Decimal | None:
    """A scenario/test price: "" or None empties the bid side."""
    if value is None or value == "":
        return None
    return Decimal(str(value))


class BybitSim(Dialect):
    """Bybit V5 spot + UTA + conversion endpoints over simulated accounts. Thread-safe."""

    def __init__(
        self,
        accounts: list[SimAccount],
        *,
        market: BybitMarket | None = None,
        conversion: ConversionRules | None = None,
        clock: SimClock | None = None,
        order_query_lag_ms: int = 0,
        rate_limits: bool = False,
    ) -> None:
        self.clock = clock or SimClock()
        self.market = market or BybitMarket()
        self.rules = conversion or ConversionRules()
        self.ids = IdMaker()
        self.trading = BybitTrading(self.market, self.ids, order_query_lag_ms)
        self.small_balance = SmallBalanceConverter(self.market, self.rules, self.ids)
        self.coin_exchange = CoinExchange(self.market, self.rules, self.ids)
        self.limiter = RateLimiter(enforce=rate_limits)
        self._lock = threading.RLock()
        self._accounts: dict[str, SimAccount] = {}
        self._by_key: dict[str, SimAccount] = {}
        for account in accounts:
            if account.name in self._accounts or account.api_key in self._by_key:
                raise ValueError(f"bybit: duplicate account name or api_key ({account.name})")
            self._accounts[account.name] = account
            self._by_key[account.api_key] = account
        self.routes = self._routes()
        self.announcements: list[dict[str, Any]] = []

    @classmethod
    def from_scenario(cls, section: Mapping[str, Any], clock: SimClock | None = None) -> BybitSim:
        unknown = set(section) - SECTION_KEYS
        if unknown:
            raise ValueError(
                f"bybit: unknown keys {sorted(unknown)}; allowed {sorted(SECTION_KEYS)}"
            )
        market = BybitMarket()
        for raw in section.get("add_symbols") or []:
            market.add_symbol(raw)
        for symbol, overrides in dict(section.get("symbols") or {}).items():
            overrides = dict(overrides)
            if overrides.pop("remove", False):
                market.remove_symbol(symbol)
            elif overrides:
                market.set_symbol(symbol, overrides)
        for symbol, price in dict(section.get("prices") or {}).items():
            market.set_price(symbol, _price(price))
        for symbol in section.get("drop_prices") or []:
            market.drop_price(str(symbol))
        for symbol, qty in dict(section.get("liquidity") or {}).items():
            market.set_liquidity(symbol, Decimal(str(qty)))
        accounts = [
            SimAccount.from_scenario(entry, i) for i, entry in enumerate(section["accounts"])
        ]
        sim = cls(
            accounts,
            market=market,
            conversion=ConversionRules.from_scenario(section.get("conversion")),
            clock=clock,
            order_query_lag_ms=int(section.get("order_query_lag_ms", 0)),
            rate_limits=bool(section.get("rate_limits", False)),
        )
        sim.set_announcements(section.get("announcements") or [])
        return sim

    # ----- test hooks ------------------------------------------------------------------------

    @property
    def accounts(self) -> list[SimAccount]:
        return list(self._accounts.values())

    def account(self, name: str) -> SimAccount:
        return self._accounts[name]

    def set_announcements(self, rows: list[Mapping[str, Any]]) -> None:
        """The announcements feed (``announcements.announcement`` rows, ages from now)."""
        now = self.clock.now_ms()
        with self._lock:
            self.announcements = [announcements.announcement(r, now) for r in rows]

    def set_price(self, symbol: str, price: Decimal | str | None) -> None:
        """Move bid1Price (ask one tick above, last = bid); None or "" empties the bid side."""
        with self._lock:
            self.market.set_price(symbol, _price(price))

    def set_symbol(self, symbol: str, **raw_overrides: Any) -> None:
        """Change raw instrument fields: ``status="Closed"``, ``minOrderAmt="10"`` or
        ``lotSizeFilter={"minOrderAmt": "10"}``."""
        with self._lock:
            self.market.set_symbol(symbol, raw_overrides)

    def add_symbol(self, raw: Mapping[str, Any], price: Decimal | str | None = None) -> None:
        with self._lock:
            self.market.add_symbol(raw)
            if price is not None:
                self.market.set_price(str(raw["symbol"]), _price(price))

    def remove_symbol(self, symbol: str) -> None:
        """Delist: gone from instruments and tickers; its coin keeps a value for conversion."""
        with self._lock:
            self.market.remove_symbol(symbol)

    def drop_price(self, symbol: str) -> None:
        with self._lock:
            self.market.drop_price(symbol)

    def set_liquidity(self, symbol: str, qty: Decimal | str | None) -> None:
        """Cap what one market order fills (base qty): the rest is cancelled, as Bybit's
        PartiallyFilledCanceled. None lifts the cap."""
        with self._lock:
            self.market.set_liquidity(symbol, None if qty is None else Decimal(str(qty)))

    def set_balance(
        self,
        name: str,
        coin: str,
        wallet_balance: Decimal | str,
        *,
        locked: Decimal | str = "0",
        spot_borrow: Decimal | str = "0",
    ) -> None:
        """Set one coin in Bybit's own terms (walletBalance includes locked and borrowed)."""
        with self._lock:
            account = self._accounts[name]
            held = Decimal(str(locked))
            account.wallet.set(coin, Decimal(str(wallet_balance)) - held, held)
            account.spot_borrow[coin] = Decimal(str(spot_borrow))

    def set_order_query_lag(self, ms: int) -> None:
        with self._lock:
            self.trading.query_lag_ms = ms

    # ----- dispatch ---------------------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        route = self.routes.get(request.path)
        if route is None or route.method != request.method:
            return SimResponse(status=404, raw=_NOT_FOUND)
        with self._lock:
            now = self.clock.now_ms()
            headers: dict[str, str] = {}
            try:
                account = None
                if route.private:
                    account = authenticate(request, self._by_key, now)
                    headers = self.limiter.hit(account, request.path, route.limit, now)
                    if not account.can(route.group, route.permission, route.write):
                        raise BybitError(
                            10005, "Permission denied, please check your API key permissions."
                        )
                result = route.handler(Call(account, _params(request), now))
            except BybitError as exc:
                return envelope(
                    now, {}, code=exc.code, message=exc.message, headers=headers or exc.headers
                )
            return envelope(now, result, message=route.ok, headers=headers)

    def _routes(self) -> dict[str, Route]:
        t, sb, cx = self.trading, self.small_balance, self.coin_exchange

        def spot(method: str, handler: Callable[[Call], Any], limit: int) -> Route:
            return Route(
                method, handler, group="Spot", permission="SpotTrade", write=True, limit=limit
            )

        def conv(method: str, handler: Callable[[Call], Any], limit: int) -> Route:
            """Convert endpoints need the key's Exchange permission; POSTs need write."""
            return Route(
                method,
                handler,
                group="Exchange",
                permission="ExchangeHistory",
                write=method == "POST",
                limit=limit,
                ok="ok",
            )

        return {
            "/v5/market/time": Route("GET", self._server_time, private=False),
            "/v5/market/instruments-info": Route("GET", self._instruments, private=False),
            "/v5/market/tickers": Route("GET", self._tickers, private=False),
            "/v5/announcements/index": Route(
                "GET", lambda c: announcements.index(self.announcements, c.params), private=False
            ),
            "/v5/account/wallet-balance": Route("GET", self._wallet_balance),
            "/v5/account/info": Route("GET", lambda c: dict(c.who.account_info)),
            "/v5/account/fee-rate": Route("GET", lambda c: t.fee_rates(c.who, c.params), limit=5),
            "/v5/user/query-api": Route("GET", lambda c: dict(c.who.key_info), limit=10, ok=""),
            "/v5/order/create": spot("POST", lambda c: t.create(c.who, c.params, c.now), 20),
            "/v5/order/cancel": spot("POST", lambda c: t.cancel(c.who, c.params, c.now), 20),
            "/v5/order/realtime": Route("GET", lambda c: t.realtime(c.who, c.params, c.now)),
            "/v5/order/history": Route("GET", lambda c: t.history(c.who, c.params, c.now)),
            "/v5/execution/list": Route("GET", lambda c: t.executions(c.who, c.params, c.now)),
            "/v5/asset/covert/small-balance-list": conv(
                "GET", lambda c: sb.coin_list(c.who, c.params), 10
            ),
            "/v5/asset/covert/get-quote": conv(
                "POST", lambda c: sb.get_quote(c.who, c.params, c.now), 5
            ),
            "/v5/asset/covert/small-balance-execute": conv(
                "POST", lambda c: sb.execute(c.who, c.params, c.now), 5
            ),
            "/v5/asset/covert/small-balance-history": conv(
                "GET", lambda c: sb.history(c.who, c.params, c.now), 5
            ),
            "/v5/asset/exchange/query-coin-list": conv(
                "GET", lambda c: cx.coin_list(c.who, c.params), 30
            ),
            "/v5/asset/exchange/quote-apply": conv(
                "POST", lambda c: cx.quote_apply(c.who, c.params, c.now), 20
            ),
            "/v5/asset/exchange/convert-execute": conv(
                "POST", lambda c: cx.execute(c.who, c.params, c.now), 20
            ),
            "/v5/asset/exchange/convert-result-query": conv(
                "GET", lambda c: cx.result(c.who, c.params, c.now), 50
            ),
            "/v5/asset/exchange/query-convert-history": conv(
                "GET", lambda c: cx.history(c.who, c.params, c.now), 50
            ),
        }

    # ----- public and account endpoints ---------------------------------------------------------

    def _server_time(self, call: Call) -> dict[str, str]:
        return {"timeSecond": str(call.now // 1000), "timeNano": str(call.now * 1_000_000)}

    def _instruments(self, call: Call) -> dict[str, Any]:
        _require_spot(call.params)
        rows = self.market.listed_instruments(
            call.params.get("symbol") or None, call.params.get("status") or None
        )
        return {"category": "spot", "list": rows}

    def _tickers(self, call: Call) -> dict[str, Any]:
        _require_spot(call.params)
        symbol = call.params.get("symbol") or ""
        if not symbol:
            return {"category": "spot", "list": self.market.visible_tickers()}
        if self.market.instrument(symbol) is None:
            raise BybitError(10001, "Not supported symbols")
        ticker = self.market.ticker(symbol)
        return {"category": "spot", "list": [dict(ticker)] if ticker else []}

    def _wallet_balance(self, call: Call) -> dict[str, Any]:
        account = call.who
        if call.params.get("accountType") != "UNIFIED":
            raise BybitError(10001, "accountType only support UNIFIED.")
        wanted = [c for c in (call.params.get("coin") or "").split(",") if c]
        coins = wanted or [
            c
            for c in account.coins()
            if account.wallet_balance(c) != 0 or account.spot_borrow.get(c, 0) != 0
        ]
        usd = self.small_balance.usd
        return wallet_result([coin_row(account, c, usd(c)) for c in coins])


def _require_spot(params: Mapping[str, Any]) -> None:
    if params.get("category") != "spot":
        raise BybitError(10001, "params error: category only supports spot in the simulator")


def _params(request: SimRequest) -> dict[str, Any]:
    """GET: the query string; POST: the JSON body (parsed for reading only; the signature was
    already checked over the raw bytes)."""
    if request.method == "GET":
        return request.query_params()
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except ValueError as exc:
        raise BybitError(10001, "params error: request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise BybitError(10001, "params error: request body must be a JSON object")
    return body
