"""The Binance dialect of the simulator: every endpoint dustsweep uses, answered like Binance.

The real python-binance client works against it (``client.API_URL = f"{url}/api"``,
``client.MARGIN_API_URL = f"{url}/sapi"``, ``ping=False``); like Binance since 2026-01-15 it
accepts only signatures over the bytes as sent, which python-binance's own signing fails for
values that need encoding (``auth``). An account signs with ``api_secret``, or with an
Ed25519/RSA key whose PEM public half is the account's ``public_key``.

Requests are routed by method and path (the table in ``routes``, with each endpoint's security
and request weight) to small desks: ``MarketBook`` (rules, prices), ``OrderDesk`` (spot
orders), ``DustDesk`` (small balances: dust->BNB, dust-convert) and ``ConvertDesk`` (Binance
Convert). This module owns what is common to all of them: SIGNED checks, weight headers, and
the hooks tests and the demo use to inspect and change the exchange.

Scenario section keys (all optional except ``accounts``): accounts, symbols, add_symbols,
prices, avg_prices, drop_prices, liquidity, conversion, convert_pairs, order_query_lag_ms,
weight_limit, delist_schedule (``[{"delistTime": ms, "symbols": [...]}]``, or ``delistInHours``
instead of ``delistTime``: relative to the simulator's clock). Unknown keys are refused so a
typo does not silently change nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from dustsweep.sim.binance.accounts import BinanceAccount, SimOrder
from dustsweep.sim.binance.auth import account_for_key, check_signature, check_timestamp
from dustsweep.sim.binance.convert import ConvertDesk
from dustsweep.sim.binance.market import MarketBook
from dustsweep.sim.binance.orders import OrderDesk
from dustsweep.sim.binance.routes import PUBLIC, ROUTES, TRADE, Call, Route
from dustsweep.sim.binance.smallbalance import DustDesk, DustRules
from dustsweep.sim.binance.wire import (
    INVALID_KEY,
    BinanceError,
    request_params,
    to_decimal,
)
from dustsweep.sim.core import Dialect, SimClock, SimRequest, SimResponse

SimAccount = BinanceAccount  # the name the simulator contract uses

SCENARIO_KEYS = frozenset(
    {"accounts", "symbols", "add_symbols", "prices", "avg_prices", "drop_prices", "liquidity",
     "conversion", "convert_pairs", "order_query_lag_ms", "weight_limit", "delist_schedule"}
)  # fmt: skip
MINUTE_MS = 60_000


class BinanceSim(Dialect):
    """Binance spot as dustsweep sees it. Thread-safe: one lock around every request."""

    def __init__(
        self,
        market: MarketBook,
        accounts: list[BinanceAccount],
        *,
        clock: SimClock | None = None,
        dust_rules: DustRules | None = None,
        convert_pairs: list[Mapping[str, Any]] | None = None,
        weight_limit: int | None = None,
    ) -> None:
        self.clock = clock or SimClock()
        self.market = market
        self._lock = threading.RLock()
        self._accounts = {a.name: a for a in accounts}
        self._by_key: dict[str, BinanceAccount] = {}
        for account in accounts:
            if account.api_key in self._by_key:
                raise ValueError(f"binance: two accounts share the api_key of {account.name!r}")
            self._by_key[account.api_key] = account
        rules = dust_rules or DustRules()
        self.orders = OrderDesk(market, self.clock)
        self.dust = DustDesk(market, self.clock, rules)
        self.convert = ConvertDesk(market, self.clock, convert_pairs, rules.ineligible)
        self.weight_limit = weight_limit
        self._api_weight = (0, 0)  # (minute, used) for X-MBX-USED-WEIGHT-1M
        self._sapi_weight: dict[str, tuple[int, int]] = {}
        self.delist_schedule: list[dict[str, Any]] = []  # GET /sapi/v1/spot/delist-schedule

    @classmethod
    def from_scenario(cls, section: Mapping[str, Any], clock: SimClock | None = None) -> BinanceSim:
        """Build from a scenario section (see the module docstring for its keys)."""
        unknown = set(section) - SCENARIO_KEYS
        if unknown:
            raise ValueError(f"binance scenario: unknown keys {sorted(unknown)}")
        market = MarketBook.bundled()
        for raw in section.get("add_symbols") or []:
            market.add_symbol(raw)
        for name, overrides in (section.get("symbols") or {}).items():
            if market.symbol(name) is None:
                raise ValueError(f"binance scenario: symbols.{name} is not a listed symbol")
            if overrides.get("remove"):
                market.remove_symbol(name)
            else:
                market.set_symbol(name, overrides)
        for name, price in (section.get("prices") or {}).items():
            market.set_price(name, price)
        for name, price in (section.get("avg_prices") or {}).items():
            market.set_avg_price(name, price)
        for name in section.get("drop_prices") or []:
            market.drop_price(name)
        for name, quantity in (section.get("liquidity") or {}).items():
            market.set_liquidity(name, quantity)
        raw_accounts = section.get("accounts") or []
        if not raw_accounts:
            raise ValueError("binance scenario: at least one account is required")
        sim = cls(
            market,
            [BinanceAccount.from_scenario(raw, i) for i, raw in enumerate(raw_accounts)],
            clock=clock,
            dust_rules=DustRules.from_scenario(section.get("conversion") or {}),
            convert_pairs=section.get("convert_pairs"),
            weight_limit=section.get("weight_limit"),
        )
        sim.order_query_lag_ms = int(section.get("order_query_lag_ms", 0))
        sim.set_delist_schedule(section.get("delist_schedule") or [])
        return sim

    # ---- test hooks --------------------------------------------------------------------------

    def account(self, name: str) -> BinanceAccount:
        return self._accounts[name]

    @property
    def accounts(self) -> list[BinanceAccount]:
        return list(self._accounts.values())

    @property
    def order_query_lag_ms(self) -> int:
        return self.orders.order_query_lag_ms

    @order_query_lag_ms.setter
    def order_query_lag_ms(self, value: int) -> None:
        self.orders.order_query_lag_ms = value

    def set_price(self, symbol: str, price: Decimal | str) -> None:
        """The ticker price (fills, valuation); also the average price unless one is pinned."""
        with self._lock:
            self.market.set_price(symbol, price)

    def set_avg_price(self, symbol: str, price: Decimal | str | None) -> None:
        with self._lock:
            self.market.set_avg_price(symbol, price)

    def drop_price(self, symbol: str) -> None:
        with self._lock:
            self.market.drop_price(symbol)

    def set_symbol(self, symbol: str, **overrides: Any) -> None:
        """Change raw rule fields: ``set_symbol("ADAUSDT", status="HALT")`` or
        ``set_symbol("XRPUSDT", filters={"NOTIONAL": {"minNotional": "10"}})``;
        ``remove=True`` delists it."""
        with self._lock:
            if overrides.get("remove"):
                self.market.remove_symbol(symbol)
            else:
                self.market.set_symbol(symbol, overrides)

    def remove_symbol(self, symbol: str) -> None:
        with self._lock:
            self.market.remove_symbol(symbol)

    def add_symbol(self, raw: Mapping[str, Any]) -> None:
        with self._lock:
            self.market.add_symbol(raw)

    def set_delist_schedule(self, batches: list[Mapping[str, Any]]) -> None:
        """``[{"delistTime": ms | "delistInHours": h, "symbols": [...]}]``: what
        delist-schedule answers (hours are counted from the simulator's clock now)."""
        now = self.clock.now_ms()
        rows = []
        for raw in batches:
            unknown = set(raw) - {"delistTime", "delistInHours", "symbols"}
            if unknown:
                raise ValueError(f"binance delist_schedule: unknown keys {sorted(unknown)}")
            if "delistInHours" in raw:
                when = now + int(Decimal(str(raw["delistInHours"])) * 3_600_000)
            else:
                when = int(raw["delistTime"])
            rows.append({"delistTime": when, "symbols": [str(s) for s in raw["symbols"]]})
        with self._lock:
            self.delist_schedule = rows

    def set_liquidity(self, symbol: str, quantity: Decimal | str | None) -> None:
        with self._lock:
            self.market.set_liquidity(symbol, quantity)

    def open_order(
        self,
        account: str,
        symbol: str,
        side: str,
        quantity: Decimal | str,
        price: Decimal | str,
        client_order_id: str | None = None,
    ) -> SimOrder:
        """A resting LIMIT order that locks part of a balance (and blocks its client id)."""
        with self._lock:
            return self.orders.open_limit_order(
                self._accounts[account],
                symbol,
                side,
                to_decimal(quantity),
                to_decimal(price),
                client_order_id,
            )

    def cancel_order(self, account: str, order: SimOrder) -> None:
        with self._lock:
            self.orders.cancel(self._accounts[account], order)

    # ---- request handling --------------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        with self._lock:
            self._close_delisted()
            route = ROUTES.get((request.method, request.path))
            if route is None:
                return SimResponse(404, {"code": -1000, "msg": "Not found."})
            try:
                params = request_params(request)
            except BinanceError as exc:
                params = {}
                error: BinanceError | None = exc
            else:
                error = None
            headers, limited = self._count_weight(request.path, route, params)
            if limited is not None:
                return limited
            try:
                if error is not None:
                    raise error
                account = self._authenticate(request, params, route)
                response = SimResponse(200, route.handler(self, Call(request, params, account)))
                if route.places_orders and account is not None:
                    headers.update(self._order_counts(account))
            except BinanceError as exc:
                response = exc.response()
            response.headers.update(headers)
            return response

    def _close_delisted(self) -> None:
        """A symbol past its ``delistTime`` stops trading (BREAK, as Binance shows delisted
        pairs): orders on it are refused from then on."""
        now = self.clock.now_ms()
        for batch in self.delist_schedule:
            if batch["delistTime"] <= now and not batch.get("closed"):
                for name in batch["symbols"]:
                    if self.market.symbol(name) is not None:
                        self.market.set_symbol(name, {"status": "BREAK"})
                batch["closed"] = True

    def _authenticate(
        self, request: SimRequest, params: Mapping[str, str], route: Route
    ) -> BinanceAccount | None:
        """SIGNED checks in order: key, timestamp window, signature, key permission."""
        if route.security == PUBLIC:
            return None
        account = account_for_key(request, self._by_key)
        check_timestamp(params, self.clock.now_ms())
        check_signature(request, account.api_secret, account.public_key)
        if route.security == TRADE and not account.can_trade(self.clock.now_ms()):
            raise BinanceError(-2015, INVALID_KEY, 401)
        if route.needs_reading and not account.can_read:
            raise BinanceError(-2015, INVALID_KEY, 401)
        return account

    def _count_weight(
        self, path: str, route: Route, params: Mapping[str, str]
    ) -> tuple[dict[str, str], SimResponse | None]:
        """Add this request's weight to the minute's total and name it in the headers.

        /api weight is one budget per IP; each /sapi endpoint has its own (binance-api.md §2).
        With ``weight_limit`` set, /api requests beyond it get 429 and -1003 with Retry-After.
        """
        now = self.clock.now_ms()
        minute = now // MINUTE_MS
        weight = route.weight_for(params)
        if path.startswith("/sapi/"):
            last_minute, used = self._sapi_weight.get(path, (minute, 0))
            used = (used if last_minute == minute else 0) + weight
            self._sapi_weight[path] = (minute, used)
            name = "X-SAPI-USED-UID-WEIGHT-1M" if route.uid_weight else "X-SAPI-USED-IP-WEIGHT-1M"
            return {name: str(used)}, None
        last_minute, used = self._api_weight
        used = (used if last_minute == minute else 0) + weight
        self._api_weight = (minute, used)
        headers = {"X-MBX-USED-WEIGHT-1M": str(used)}
        if self.weight_limit is not None and used > self.weight_limit:
            retry = str(max(1, ((minute + 1) * MINUTE_MS - now + 999) // 1000))
            msg = (
                f"Too much request weight used; current limit is {self.weight_limit} request "
                "weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid "
                "polling the API."
            )
            body = {"code": -1003, "msg": msg}
            return headers, SimResponse(429, body, {**headers, "Retry-After": retry})
        return headers, None

    def _order_counts(self, account: BinanceAccount) -> dict[str, str]:
        now = self.clock.now_ms()
        recent = [o for o in account.orders if now - o.time_ms < 10_000]
        today = [o for o in account.orders if o.time_ms // 86_400_000 == now // 86_400_000]
        return {"X-MBX-ORDER-COUNT-10S": str(len(recent)), "X-MBX-ORDER-COUNT-1D": str(len(today))}
