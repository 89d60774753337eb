"""The Binance adapter driven through the real python-binance client over loopback HTTP.

Two kinds of server: the project's Binance simulator (``dustsweep.sim.binance``) for account
behaviour, and a tiny fixed-answer dialect on the same ``SimServer`` for answers the simulator
has no reason to produce (real full exchangeInfo snapshots, HTML pages, a testnet without
/sapi, Convert RFQ). Nothing here reaches the internet.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dustsweep.core.models import ConversionPreview, DustCandidate
from dustsweep.errors import (
    AuthError,
    Banned,
    ClockSkew,
    ConversionRejected,
    NetworkError,
    OrderRejected,
    RateLimited,
    ServerError,
)
from dustsweep.exchanges.base import Credentials
from dustsweep.exchanges.binance.adapter import BinanceExchange
from dustsweep.exchanges.binance.budget import WeightBudget
from dustsweep.exchanges.binance.errors import ORDER, CallContext, from_api_error
from dustsweep.exchanges.binance.parse import market_rules, parse_markets, parse_order
from dustsweep.sim.core import Dialect, FaultPlan, SimRequest, SimResponse
from dustsweep.sim.server import SimServer
from tests.paths import REAL_FIXTURES, SIM_DATA

# Slices of the real snapshots (tools/trim_fixtures.py), kept in the repository.
REAL = REAL_FIXTURES
DATA = SIM_DATA
KEY = "demo-key-0123456789"
SECRET = "demo-secret-0123456789abcdef"


# --------------------------------------------------------------------------------------------
# A tiny fixed-answer dialect
# --------------------------------------------------------------------------------------------

Route = SimResponse | Callable[[SimRequest], SimResponse]
Routes = dict[tuple[str, str], Route]


class StubDialect(Dialect):
    """Answers (method, path) from a table; anything else is the testnet's HTML 404 page."""

    def __init__(self, routes: Routes) -> None:
        self.routes = routes
        self.seen: list[SimRequest] = []

    def handle(self, request: SimRequest) -> SimResponse:
        self.seen.append(request)
        route = self.routes.get((request.method, request.path))
        if route is None:
            return SimResponse(404, raw=b"<html><body><h1>404 Not Found</h1></body></html>")
        return route(request) if callable(route) else route


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    """One loopback server for the module (stopping one costs 0.5 s); each test gives it a
    fresh dialect and a fresh fault plan."""
    shared = SimServer(StubDialect({})).start()
    yield shared
    shared.stop()


def serve(server: SimServer, dialect: Dialect) -> SimServer:
    server.dialect = dialect
    server.faults = FaultPlan()
    with server.request_lock:
        server.requests.clear()
    return server


@pytest.fixture
def stub(server: SimServer) -> Callable[[Routes], tuple[SimServer, StubDialect]]:
    def start(routes: Routes) -> tuple[SimServer, StubDialect]:
        dialect = StubDialect(routes)
        return serve(server, dialect), dialect

    return start


class Sleeps:
    """The injected sleep: records instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def adapter(url: str, *, key: str = KEY, secret: str = SECRET, **kw: Any) -> BinanceExchange:
    sleep = kw.pop("sleep", Sleeps())
    return BinanceExchange(Credentials("main", key, secret, base_url=url, **kw), sleep=sleep)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_clean(message: str, *secrets: str) -> None:
    """One line, no key, no secret, no signature."""
    assert "\n" not in message
    for secret in secrets:
        assert secret not in message
    assert "signature=" not in message or "signature=<hidden>" in message


# --------------------------------------------------------------------------------------------
# Market rules from real exchangeInfo snapshots
# --------------------------------------------------------------------------------------------


def _filters(symbol: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["filterType"]: f for f in symbol["filters"]}


def _serve_snapshot(stub: Any, path: Path) -> tuple[BinanceExchange, dict[str, Any]]:
    raw = path.read_bytes()
    server, _ = stub({("GET", "/api/v3/exchangeInfo"): SimResponse(200, raw=raw)})
    return adapter(server.url), json.loads(raw)


def test_real_2023_snapshot_parses_every_symbol_with_notional(stub: Any) -> None:
    exchange, raw = _serve_snapshot(stub, REAL / "binance-exchangeInfo-20230908.json")
    markets = {m.symbol: m for m in exchange.fetch_markets()}
    assert set(markets) == {s["symbol"] for s in raw["symbols"]}
    for symbol in raw["symbols"]:
        rules, filters = markets[symbol["symbol"]], _filters(symbol)
        assert rules.base == symbol["baseAsset"] and rules.quote == symbol["quoteAsset"]
        spot = symbol["isSpotTradingAllowed"]  # false on e.g. BTCUPUSDT (leveraged tokens)
        assert rules.trading == (symbol["status"] == "TRADING" and spot)
        assert rules.market_orders == ("MARKET" in symbol["orderTypes"])
        # Every real MARKET_LOT_SIZE step is zero ("no rule"), so LOT_SIZE alone decides.
        assert rules.step == Decimal(filters["LOT_SIZE"]["stepSize"])
        assert rules.min_qty == Decimal(filters["LOT_SIZE"]["minQty"])
        notional = filters["NOTIONAL"]
        if notional["applyMinToMarket"]:
            assert rules.min_notional == Decimal(notional["minNotional"])
            assert rules.min_notional_rule == "NOTIONAL minNotional"
        else:
            assert rules.min_notional == 0
        assert rules.max_notional is None  # applyMaxToMarket is false throughout
    eth = markets["ETHBTC"]
    assert (eth.step, eth.min_qty, eth.max_qty) == (
        Decimal("0.0001"),
        Decimal("0.0001"),
        Decimal("5598.55135291"),
    )


def test_legacy_min_notional_snapshot_and_its_weight_limit(stub: Any) -> None:
    exchange, raw = _serve_snapshot(
        stub, REAL / "binance-exchangeInfo-20230414-legacy-MIN_NOTIONAL.json"
    )
    markets = {m.symbol: m for m in exchange.fetch_markets()}
    assert len(markets) == len(raw["symbols"])
    legacy = 0
    for symbol in raw["symbols"]:
        filters, rules = _filters(symbol), markets[symbol["symbol"]]
        if "NOTIONAL" in filters:
            assert rules.min_notional_rule == "NOTIONAL minNotional"
        elif filters.get("MIN_NOTIONAL", {}).get("applyToMarket"):
            legacy += 1
            assert rules.min_notional == Decimal(filters["MIN_NOTIONAL"]["minNotional"])
            assert rules.min_notional_rule == "MIN_NOTIONAL"
    assert legacy > 200  # of the slice's 286 symbols (2,187 in the full snapshot)
    # That snapshot's REQUEST_WEIGHT limit was 1,200/min: the pacing uses it from now on.
    assert exchange._transport.budget.limit == 1200


def test_parsing_the_full_snapshot_is_fast() -> None:
    path = REAL / "binance-exchangeInfo-20230908.json"
    body = json.loads(path.read_bytes())
    markets = parse_markets(body)  # its CPU time is measured in bench/bench_classify.py
    assert len(markets) == len(body["symbols"])


def test_market_lot_size_combines_with_lot_size() -> None:
    symbol = {
        "symbol": "FOOUSDT",
        "status": "TRADING",
        "baseAsset": "FOO",
        "quoteAsset": "USDT",
        "orderTypes": ["LIMIT"],
        "isSpotTradingAllowed": True,
        "filters": [
            {"filterType": "LOT_SIZE", "minQty": "0.4", "maxQty": "1000", "stepSize": "0.4"},
            {"filterType": "MARKET_LOT_SIZE", "minQty": "1.5", "maxQty": "50", "stepSize": "0.3"},
            {
                "filterType": "NOTIONAL",
                "minNotional": "10",
                "applyMinToMarket": False,
                "maxNotional": "2000",
                "applyMaxToMarket": True,
            },
        ],
    }
    rules = market_rules(symbol)
    assert rules.step == Decimal("1.2")  # a multiple of both 0.4 and 0.3
    assert rules.step_rule == "LOT_SIZE+MARKET_LOT_SIZE stepSize"
    assert (rules.min_qty, rules.min_qty_rule) == (Decimal("1.5"), "MARKET_LOT_SIZE minQty")
    assert rules.max_qty == Decimal("50")
    assert rules.min_notional == 0  # not applied to MARKET orders
    assert rules.max_notional == Decimal("2000")
    assert rules.market_orders is False
    halted = market_rules({**symbol, "isSpotTradingAllowed": False})
    assert halted.trading is False


# --------------------------------------------------------------------------------------------
# Transport behaviour against fixed answers
# --------------------------------------------------------------------------------------------


def test_base_url_with_api_suffix_and_an_environment_proxy(stub: Any, monkeypatch: Any) -> None:
    tickers = [{"symbol": "ADAUSDT", "price": "0.35000000"}, {"symbol": "OLDBTC", "price": "0"}]
    server, dialect = stub({("GET", "/api/v3/ticker/price"): SimResponse(200, tickers)})
    # A proxy from the environment must not be used for loopback (it does not exist).
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{free_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    prices = adapter(server.url + "/api/").fetch_prices()
    assert prices == {"ADAUSDT": Decimal("0.35000000")}
    assert [r.path for r in dialect.seen] == ["/api/v3/ticker/price"]


def test_closed_port_is_a_network_error_naming_the_host() -> None:
    port = free_port()
    exchange = adapter(f"http://127.0.0.1:{port}", timeout=0.5)
    with pytest.raises(NetworkError) as read:
        exchange.fetch_balances()
    assert f"127.0.0.1:{port}" in str(read.value) and "'main'" in str(read.value)
    with pytest.raises(NetworkError) as order:
        exchange.market_sell("ADAUSDT", Decimal("1"), "sell-1")
    assert "outcome is unknown" in str(order.value)
    assert_clean(str(order.value), KEY, SECRET)


def test_a_2xx_that_is_not_json_is_a_server_error(stub: Any) -> None:
    server, _ = stub(
        {
            ("GET", "/api/v3/account"): SimResponse(200, raw=b"<html>maintenance</html>"),
            ("POST", "/api/v3/order"): SimResponse(200, raw=b'{"symbol":"ADAUSDT","ord'),
        }
    )
    exchange = adapter(server.url)
    with pytest.raises(ServerError):
        exchange.fetch_balances()
    with pytest.raises(ServerError) as order:
        exchange.market_sell("ADAUSDT", Decimal("10"), "sell-1")
    assert "unknown" in str(order.value)


def test_testnet_without_sapi_reports_no_conversion_instead_of_failing(stub: Any) -> None:
    account = {"canTrade": True, "balances": [{"asset": "ADA", "free": "1.5", "locked": "0"}]}
    server, _ = stub(
        {
            ("GET", "/api/v3/account"): SimResponse(200, account),
            ("GET", "/api/v3/time"): lambda r: SimResponse(
                200, {"serverTime": int(time.time() * 1000)}
            ),
        }
    )
    exchange = adapter(server.url)
    assert exchange.fetch_convertible() is None
    assert exchange.last_conversion_ms() is None
    rows = {name: (ok, detail) for name, ok, detail in exchange.check_access()}
    assert rows["keys accepted"][0] and rows["clock"][0]
    assert rows["spot trading allowed"][0] is True
    assert rows["conversion endpoint"][0] is False
    with pytest.raises(ConversionRejected) as err:
        exchange.preview_conversion("USDC")
    assert err.value.kind == "unsupported_target" and "USDC" in str(err.value)


def test_weight_header_near_the_limit_pauses_before_the_next_call(stub: Any) -> None:
    heavy = {"X-MBX-USED-WEIGHT-1M": "5500"}
    light = {"X-MBX-USED-WEIGHT-1M": "40"}
    answers = iter([heavy, light, light])
    server, _ = stub(
        {("GET", "/api/v3/ticker/price"): lambda r: SimResponse(200, [], dict(next(answers)))}
    )
    sleeps = Sleeps()
    exchange = adapter(server.url, sleep=sleeps)
    exchange.fetch_prices()
    assert sleeps.calls == []
    exchange.fetch_prices()  # 5500 of 6000 used: wait for the minute window to end
    assert len(sleeps.calls) == 1 and 0 < sleeps.calls[0] <= 60
    exchange.fetch_prices()
    assert len(sleeps.calls) == 1


def test_weight_budget_window_and_threshold() -> None:
    budget = WeightBudget(limit=1000)
    minute = 60_000 * 28_000_000
    budget.observe({"X-MBX-USED-WEIGHT-1M": "900"}, minute + 10_000)
    assert budget.pause_s(minute + 10_000) == 0  # exactly 90 % is still fine
    budget.observe({"x-mbx-used-weight-1m": "901"}, minute + 20_000)
    assert budget.pause_s(minute + 20_000) == pytest.approx(40.0)
    assert budget.pause_s(minute + 60_000) == 0  # a new window
    budget.observe({"X-MBX-USED-WEIGHT-1M": "5"}, minute + 60_001)
    assert budget.pause_s(minute + 60_002) == 0


def test_fills_paying_fees_in_two_assets_report_the_quote_asset() -> None:
    body = {
        "symbol": "ADAUSDT",
        "orderId": 7,
        "clientOrderId": "c1",
        "executedQty": "20.0",
        "cummulativeQuoteQty": "7.00",
        "status": "FILLED",
        "fills": [
            {"qty": "10", "commission": "0.00001", "commissionAsset": "BNB"},
            {"qty": "10", "commission": "0.0035", "commissionAsset": "USDT"},
            {"qty": "0", "commission": "0.0001", "commissionAsset": "USDT"},
        ],
    }
    result = parse_order(body, "ADAUSDT", "c1")
    assert (result.fee, result.fee_asset) == (Decimal("0.0036"), "USDT")
    expired = parse_order({**body, "status": "EXPIRED"}, "ADAUSDT", "c1")
    assert expired.status == "partially_filled"
    nothing = parse_order({**body, "status": "EXPIRED", "executedQty": "0"}, "ADAUSDT", "c1")
    assert nothing.status == "cancelled"


@pytest.mark.parametrize(
    ("code", "msg", "kind"),
    [
        (-2010, "Account has insufficient balance for requested action.", "insufficient"),
        (-2010, "Market is closed.", "halted"),
        (-2010, "Duplicate order sent.", "duplicate"),
        (-2010, "This symbol is not permitted for this account.", "other"),
        (-1013, "Filter failure: NOTIONAL", "filter"),
        (-1111, "Parameter 'quantity' has too much precision.", "filter"),
        (-1100, "Illegal characters found in parameter 'quantity'", "filter"),
        (-1121, "Invalid symbol.", "halted"),
    ],
)
def test_order_rejections_over_the_wire(stub: Any, code: int, msg: str, kind: str) -> None:
    server, dialect = stub(
        {("POST", "/api/v3/order"): SimResponse(400, {"code": code, "msg": msg})}
    )
    with pytest.raises(OrderRejected) as err:
        adapter(server.url).market_sell("ADAUSDT", Decimal("0.00000010"), "sell-1")
    assert (err.value.kind, err.value.code) == (kind, code)
    sent = dialect.seen[0].form_params()
    assert sent["quantity"] == "0.00000010"  # plain decimal text, never 1E-7
    assert sent["newClientOrderId"] == "sell-1" and sent["newOrderRespType"] == "FULL"
    assert_clean(str(err.value), KEY, SECRET)


def test_translation_priorities_without_a_server() -> None:
    ctx = CallContext("main", "api.binance.com", "market sell", ORDER)
    too_many = from_api_error(
        ctx, status=429, code=-1003, msg="Too much request weight", headers={"Retry-After": "7"}
    )
    assert isinstance(too_many, RateLimited) and too_many.retry_after == 7
    timeout = from_api_error(ctx, status=400, code=-1007, msg="Timeout waiting", headers={})
    assert isinstance(timeout, ServerError)
    skew = from_api_error(ctx, status=400, code=-1021, msg="Timestamp outside", headers={})
    assert isinstance(skew, ClockSkew)
    page = from_api_error(ctx, status=502, code=None, msg="<html>\n<b>Bad</b>\n</html>", headers={})
    assert isinstance(page, ServerError) and "\n" not in str(page)


def test_convert_rfq_calls(stub: Any) -> None:
    examples = json.loads(
        (REAL / "examples" / "binance-doc-examples-connector-go.json").read_text()
    )
    routes: dict[tuple[str, str], Route] = {
        ("GET", "/sapi/v1/convert/exchangeInfo"): SimResponse(
            200, examples["GET /sapi/v1/convert/exchangeInfo"]
        ),
        ("POST", "/sapi/v1/convert/getQuote"): SimResponse(
            200, examples["POST /sapi/v1/convert/getQuote"]
        ),
        ("POST", "/sapi/v1/convert/acceptQuote"): SimResponse(
            200, examples["POST /sapi/v1/convert/acceptQuote"]
        ),
        ("GET", "/sapi/v1/convert/orderStatus"): SimResponse(
            200, examples["GET /sapi/v1/convert/orderStatus"]
        ),
    }
    server, dialect = stub(routes)
    exchange = adapter(server.url)
    pairs = exchange.convert_pairs(from_asset="BTC")
    assert pairs[0].to_asset == "USDT" and pairs[0].from_min == Decimal("0.0004")
    quote = exchange.convert_quote("BTC", "USDT", Decimal("0.1"))
    assert quote.quote_id == "12415572564" and quote.to_amount == Decimal("3816.37")
    order = exchange.convert_accept(quote.quote_id)
    assert order.status == "PROCESS" and not order.final
    status = exchange.convert_status(order.order_id)
    assert status.succeeded and status.to_amount == Decimal("20")
    sent = {r.path: r for r in dialect.seen}
    assert sent["/sapi/v1/convert/exchangeInfo"].query_params() == {"fromAsset": "BTC"}
    assert sent["/sapi/v1/convert/getQuote"].form_params()["fromAmount"] == "0.1"
    with pytest.raises(ValueError):
        exchange.convert_pairs()


def test_empty_dust_transfer_is_a_failure_and_the_log_skips_text_dates(stub: Any) -> None:
    empty = {"totalTransfered": "0", "totalServiceCharge": "0", "transferResult": []}
    log = {
        "total": 2,
        "userAssetDribblets": [
            {"operateTime": 1615985535000, "userAssetDribbletDetails": []},
            {
                "operateTime": 1616203180000,
                "userAssetDribbletDetails": [{"operateTime": "2018-05-03 17:07:04"}],
            },
        ],
    }
    server, dialect = stub(
        {
            ("POST", "/sapi/v1/asset/dust"): SimResponse(200, empty),
            ("GET", "/sapi/v1/asset/dribblet"): SimResponse(200, log),
        }
    )
    exchange = adapter(server.url)
    lines = (DustCandidate("XRP", Decimal("0.4")), DustCandidate("TRX", Decimal("3.7")))
    preview = ConversionPreview("BNB", Decimal("0.02"), lines)
    result = exchange.convert(preview, ["XRP", "TRX"], "conv-1")
    assert result.status == "failed" and [x.status for x in result.lines] == ["failed"] * 2
    assert dialect.seen[0].form_params()["asset"] == "XRP,TRX"  # one comma-joined value
    assert exchange.last_conversion_ms() == 1616203180000


def test_convert_quote_without_quote_id_means_not_enough_funds(stub: Any) -> None:
    answer = {"ratio": "1", "inverseRatio": "1", "toAmount": "1", "fromAmount": "1"}
    server, _ = stub({("POST", "/sapi/v1/convert/getQuote"): SimResponse(200, answer)})
    with pytest.raises(ConversionRejected) as err:
        adapter(server.url).convert_quote("ADA", "USDT", Decimal("1"))
    assert err.value.kind == "insufficient"


def test_one_client_per_thread_for_concurrent_reads(stub: Any) -> None:
    account = {"balances": [{"asset": "ADA", "free": "1.5", "locked": "0.25"}]}
    tickers = [{"symbol": "ADAUSDT", "price": "0.35000000"}]
    server, _ = stub(
        {
            ("GET", "/api/v3/account"): SimResponse(200, account),
            ("GET", "/api/v3/ticker/price"): SimResponse(200, tickers),
        }
    )
    exchange = adapter(server.url)
    calls = [exchange.fetch_balances, exchange.fetch_prices, exchange.fetch_convertible] * 4
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda f: f(), calls))
    assert all(r == results[0] for r in results[0::3])
    assert results[0][0].total == Decimal("1.75")
    clients = exchange._transport._clients
    assert 1 < len(clients) <= 3 and len({id(c) for c in clients}) == len(clients)
    exchange.close()


# --------------------------------------------------------------------------------------------
# Against the project's Binance simulator
# --------------------------------------------------------------------------------------------

BALANCES = {
    "ADA": "100.55",
    "XRP": "0.4",
    "TRX": "3.7",
    "BNB": {"free": "0.1", "locked": "0.05"},
    "LDUSDT": "12.3",
    "USDT": "0",
}


def scenario(**extra: Any) -> dict[str, Any]:
    account = {"name": "main", "api_key": KEY, "api_secret": SECRET, "balances": BALANCES}
    account.update(extra.pop("account", {}))
    return {"accounts": [account], "prices": {"ADAUSDT": "0.5"}, **extra}


class Venue:
    """A simulator served on the module's server, with an adapter signed in as "main".

    The adapter's injected sleep moves time instead of waiting: the simulator's clock and the
    adapter's idea of "now" (its offset) both jump, as if the seconds had really passed.
    """

    def __init__(self, server: SimServer, section: dict[str, Any], **adapter_kw: Any) -> None:
        from dustsweep.sim.binance.dialect import BinanceSim

        self.sim = BinanceSim.from_scenario(section)
        self.server = serve(server, self.sim)
        self.sleeps = Sleeps()
        self.exchange = adapter(self.server.url, sleep=self._sleep, **adapter_kw)

    def _sleep(self, seconds: float) -> None:
        self.sleeps(seconds)
        ms = int(seconds * 1000)
        self.sim.clock.advance(ms)
        self.exchange.set_clock_offset(self.exchange.clock_offset_ms + ms)

    def wallet(self, asset: str) -> tuple[Decimal, Decimal]:
        free, locked = self.sim.account("main").wallet.get(asset)
        return Decimal(free), Decimal(locked)


@pytest.fixture
def venue(server: SimServer) -> Iterator[Callable[..., Venue]]:
    started: list[Venue] = []

    def start(section: dict[str, Any] | None = None, **adapter_kw: Any) -> Venue:
        assert not started, "one simulator per test: they share the module's server"
        started.append(Venue(server, section or scenario(), **adapter_kw))
        return started[0]

    yield start
    for v in started:
        v.exchange.close()


def test_balances_are_exact_and_keep_earn_positions(venue: Any) -> None:
    v = venue()
    balances = {b.asset: b for b in v.exchange.fetch_balances()}
    assert balances["ADA"].free == Decimal("100.55")
    assert (balances["BNB"].free, balances["BNB"].locked) == (Decimal("0.1"), Decimal("0.05"))
    assert "LDUSDT" in balances  # Simple Earn: kept, the classifier ignores it
    assert "USDT" not in balances  # zero balances are omitted


def test_markets_and_prices_match_the_bundled_raw_json(venue: Any) -> None:
    v = venue(scenario(prices={}))
    raw_info = json.loads((DATA / "binance-exchangeInfo.json").read_text())
    markets = {m.symbol: m for m in v.exchange.fetch_markets()}
    assert set(markets) == {s["symbol"] for s in raw_info["symbols"]}
    for symbol in raw_info["symbols"]:
        lot = _filters(symbol)["LOT_SIZE"]
        assert markets[symbol["symbol"]].step == Decimal(lot["stepSize"])
        assert markets[symbol["symbol"]].min_qty == Decimal(lot["minQty"])
    raw_prices = json.loads((DATA / "binance-ticker-price.json").read_text())
    prices = v.exchange.fetch_prices()
    expected = {p["symbol"]: Decimal(p["price"]) for p in raw_prices if Decimal(p["price"]) > 0}
    assert prices == expected


def test_halted_symbol_is_listed_but_not_trading(venue: Any) -> None:
    v = venue(scenario(symbols={"ADAUSDT": {"status": "HALT"}}))
    markets = {m.symbol: m for m in v.exchange.fetch_markets()}
    assert markets["ADAUSDT"].trading is False
    assert markets["XRPUSDT"].trading is True


def test_market_sell_fills_and_moves_the_balances(venue: Any) -> None:
    v = venue()
    result = v.exchange.market_sell("ADAUSDT", Decimal("100.5"), "sweep-ada-1")
    assert result.status == "filled" and result.final
    assert result.filled_qty == Decimal("100.5")
    assert result.quote_qty == Decimal("50.25")
    assert (result.fee, result.fee_asset) == (Decimal("0.05025"), "USDT")
    assert v.wallet("ADA")[0] == Decimal("0.05")
    assert v.wallet("USDT")[0] == Decimal("50.25") - Decimal("0.05025")
    found = v.exchange.find_order("ADAUSDT", "sweep-ada-1")
    assert found is not None
    assert (found.status, found.filled_qty, found.quote_qty) == (
        "filled",
        result.filled_qty,
        result.quote_qty,
    )
    assert (found.fee, found.fee_asset) == (result.fee, result.fee_asset)  # from myTrades


def test_find_order_of_an_unknown_id_is_none(venue: Any) -> None:
    assert venue().exchange.find_order("ADAUSDT", "never-sent") is None


@pytest.mark.parametrize(
    ("symbol", "qty", "kind"),
    [
        ("ADAUSDT", Decimal("0.05"), "filter"),  # below LOT_SIZE minQty 0.1
        ("ADAUSDT", Decimal("1.25"), "filter"),  # not a multiple of the 0.1 step
        ("ADAUSDT", Decimal("2"), "filter"),  # 2 x 0.5 = 1 USDT < NOTIONAL 5
        ("ADAUSDT", Decimal("200"), "insufficient"),
        ("NOSUCHUSDT", Decimal("1"), "halted"),
    ],
)
def test_rejections_from_the_simulator(venue: Any, symbol: str, qty: Decimal, kind: str) -> None:
    v = venue()
    with pytest.raises(OrderRejected) as err:
        v.exchange.market_sell(symbol, qty, "sweep-1")
    assert err.value.kind == kind
    assert v.wallet("ADA")[0] == Decimal("100.55")  # nothing executed
    assert "'main'" in str(err.value) and v.server.url.split("//")[1] in str(err.value)


def test_halted_market_and_duplicate_client_id(venue: Any) -> None:
    v = venue()
    v.sim.open_order("main", "ADAUSDT", "SELL", "10", "9", "busy-id")
    with pytest.raises(OrderRejected) as dup:
        v.exchange.market_sell("ADAUSDT", Decimal("20"), "busy-id")
    assert dup.value.kind == "duplicate"
    v.sim.set_symbol("ADAUSDT", status="HALT")
    with pytest.raises(OrderRejected) as halted:
        v.exchange.market_sell("ADAUSDT", Decimal("20"), "sweep-2")
    assert halted.value.kind == "halted"


def test_wrong_key_and_wrong_secret_are_auth_errors_without_secrets(venue: Any) -> None:
    v = venue()
    url = v.server.url
    wrong_key = adapter(url, key="not-the-key-123456")
    with pytest.raises(AuthError) as key_err:
        wrong_key.fetch_balances()
    assert key_err.value.code == -2015 and "'main'" in str(key_err.value)
    wrong_secret = adapter(url, secret="not-the-secret-abcdef")
    with pytest.raises(AuthError) as secret_err:
        wrong_secret.market_sell("ADAUSDT", Decimal("20"), "sweep-1")
    assert secret_err.value.code == -1022 and "secret" in str(secret_err.value)
    for err in (key_err.value, secret_err.value):
        assert_clean(str(err), KEY, SECRET, "not-the-key-123456", "not-the-secret-abcdef")
    assert v.wallet("ADA")[0] == Decimal("100.55")


def test_timeout_is_a_network_error_and_the_order_still_executes(venue: Any) -> None:
    v = venue(timeout=0.3)
    v.server.faults.add("delay", "/api/v3/order", method="POST", calls=1, seconds=0.8)
    with pytest.raises(NetworkError) as err:
        v.exchange.market_sell("ADAUSDT", Decimal("100"), "sweep-late")
    assert "timeout" in str(err.value) and "unknown" in str(err.value)
    deadline = time.monotonic() + 3
    found = None
    while found is None and time.monotonic() < deadline:
        time.sleep(0.1)
        found = v.exchange.find_order("ADAUSDT", "sweep-late")
    assert found is not None and found.status == "filled"  # reconcile, never resend blindly


def test_lost_answer_then_lagging_order_query(venue: Any) -> None:
    v = venue(scenario(order_query_lag_ms=5000))
    v.server.faults.add("lose", "/api/v3/order", method="POST", calls=1)
    with pytest.raises(NetworkError):
        v.exchange.market_sell("ADAUSDT", Decimal("100"), "sweep-lost")
    assert v.wallet("ADA")[0] == Decimal("0.55")  # it did execute
    assert v.exchange.find_order("ADAUSDT", "sweep-lost") is None  # "does not exist" (yet)
    v.sim.clock.advance(6000)
    v.exchange.sync_clock()  # the moved server clock would otherwise reject timestamps
    found = v.exchange.find_order("ADAUSDT", "sweep-lost")
    assert found is not None and found.filled_qty == Decimal("100")


def test_server_errors_are_outcome_unknown(venue: Any) -> None:
    v = venue()
    # issue 9: a read is retried twice after a 5xx, an order never.
    v.server.faults.add("http", "/api/v3/account", calls=(1, 2, 3), status=500, body=None)
    v.server.faults.add("http", "/api/v3/order", method="POST", calls=1, status=503, body=None)
    with pytest.raises(ServerError):
        v.exchange.fetch_balances()
    assert v.server.faults.count("GET", "/api/v3/account") == 3
    with pytest.raises(ServerError) as order:
        v.exchange.market_sell("ADAUSDT", Decimal("100"), "sweep-1")
    assert order.value.http_status == 503
    assert v.server.faults.count("POST", "/api/v3/order") == 1
    unknown = {"code": -1007, "msg": "Timeout waiting for response from backend server."}
    v.server.faults.add("http", "/api/v3/order", method="POST", calls=2, status=400, body=unknown)
    with pytest.raises(ServerError):
        v.exchange.market_sell("ADAUSDT", Decimal("100"), "sweep-2")


def test_429_with_retry_after_is_retried_for_reads_only(venue: Any) -> None:
    v = venue()
    limited = {"code": -1003, "msg": "Too much request weight used"}
    faults = v.server.faults
    faults.add("http", "/api/v3/account", calls=(1, 2), status=429, body=limited, retry_after=2)
    assert v.exchange.fetch_balances()
    assert faults.count("GET", "/api/v3/account") == 3
    assert v.sleeps.calls == [2.0, 2.0]
    faults.add("http", "/api/v3/ticker/price", status=429, body=limited, retry_after=1)
    with pytest.raises(RateLimited) as err:
        v.exchange.fetch_prices()
    assert faults.count("GET", "/api/v3/ticker/price") == 3  # first try + 2 retries
    assert err.value.retry_after == 1
    faults.add("http", "/api/v3/exchangeInfo", status=429, body=limited, retry_after=45)
    with pytest.raises(RateLimited):
        v.exchange.fetch_markets()  # too long to wait inside a read
    assert faults.count("GET", "/api/v3/exchangeInfo") == 1
    faults.add("http", "/api/v3/order", method="POST", status=429, body=limited, retry_after=1)
    with pytest.raises(RateLimited):
        v.exchange.market_sell("ADAUSDT", Decimal("100"), "sweep-1")
    assert faults.count("POST", "/api/v3/order") == 1  # orders are never retried


def test_418_is_banned(venue: Any) -> None:
    v = venue()
    banned = {"code": -1003, "msg": "Way too much request weight used; IP banned until 1."}
    v.server.faults.add("http", "/api/v3/account", status=418, body=banned, retry_after=120)
    with pytest.raises(Banned) as err:
        v.exchange.fetch_balances()
    assert err.value.retry_after == 120 and v.server.faults.count("GET", "/api/v3/account") == 1


def test_sim_weight_limit_leads_to_pacing_not_a_ban(venue: Any) -> None:
    v = venue(scenario(weight_limit=100))
    v.exchange._transport.budget.set_limit(100)  # as if exchangeInfo had said so
    for _ in range(6):
        v.exchange.fetch_balances()  # weight 20 each: the 5th leaves >90 % used
    assert v.sleeps.calls and all(0 < s <= 60 for s in v.sleeps.calls)


def test_clock_skew_is_fixed_by_sync_clock(venue: Any) -> None:
    v = venue()
    v.sim.clock.advance(-20_000)  # the server is 20 s behind this machine
    with pytest.raises(ClockSkew) as err:
        v.exchange.fetch_balances()
    assert err.value.code == -1021
    offset = v.exchange.sync_clock()
    assert -20_500 < offset < -19_500 and v.exchange.clock_offset_ms == offset
    assert v.exchange.fetch_balances()
    fresh = adapter(v.server.url)
    fresh.set_clock_offset(offset)  # a saved offset works without measuring again
    assert fresh.fetch_balances()


def test_convertible_list_and_bnb_conversion(venue: Any) -> None:
    v = venue()
    assert v.exchange.last_conversion_ms() is None  # an empty dust log
    convertible = v.exchange.fetch_convertible()
    assert convertible is not None
    assert {"XRP", "TRX"} <= convertible and "BNB" not in convertible
    assert "LDUSDT" not in convertible  # the exchange's list, not every small balance
    preview = v.exchange.preview_conversion("BNB")
    assert {line.asset for line in preview.lines} == convertible
    assert preview.fee_rate == Decimal("0.02")
    for line in preview.lines:
        assert line.net == line.to_amount - line.fee  # type: ignore[operator]
    bnb_before = v.wallet("BNB")[0]
    result = v.exchange.convert(preview, ["XRP", "TRX"], "conv-1")
    assert result.status == "converted" and result.target == "BNB"
    assert {line.asset for line in result.lines} == {"XRP", "TRX"}
    assert v.wallet("XRP")[0] == 0 and v.wallet("TRX")[0] == 0
    received = sum((line.received for line in result.lines), Decimal(0))
    assert v.wallet("BNB")[0] - bnb_before == received
    last = v.exchange.last_conversion_ms()
    assert last is not None and abs(last - v.sim.clock.now_ms()) < 5_000


def test_second_conversion_inside_the_cool_down_is_rejected(venue: Any) -> None:
    v = venue()
    preview = v.exchange.preview_conversion("BNB")
    v.exchange.convert(preview, ["XRP"], "conv-1")
    with pytest.raises(ConversionRejected) as err:
        v.exchange.convert(preview, ["TRX"], "conv-2")
    assert err.value.kind == "cooldown" and err.value.code == -5006
    assert v.wallet("TRX")[0] == Decimal("3.7")


def test_converting_an_asset_the_preview_did_not_list(venue: Any) -> None:
    v = venue()
    preview = v.exchange.preview_conversion("BNB")
    with pytest.raises(ConversionRejected) as err:
        v.exchange.convert(preview, ["XRP", "BNB"], "conv-1")
    assert err.value.kind == "ineligible" and "BNB" in str(err.value)
    assert v.server.faults.count("POST", "/sapi/v1/asset/dust") == 0
    v.sim.account("main").wallet.set("XRP", "0")  # gone between preview and conversion
    with pytest.raises(ConversionRejected) as gone:
        v.exchange.convert(preview, ["XRP"], "conv-2")
    assert gone.value.kind == "ineligible"


def test_dust_convert_to_another_target(venue: Any) -> None:
    v = venue()
    preview = v.exchange.preview_conversion("USDC")
    assert preview.target == "USDC" and {"XRP", "TRX"} <= {x.asset for x in preview.lines}
    result = v.exchange.convert(preview, ["XRP"], "conv-usdc-1")
    assert result.status == "converted"
    assert v.wallet("USDC")[0] == result.lines[0].received > 0
    with pytest.raises(ConversionRejected) as err:
        v.exchange.preview_conversion("DOGE")
    assert err.value.kind == "unsupported_target" and "DOGE" in str(err.value)


def test_check_access_rows(venue: Any) -> None:
    v = venue(scenario(account={"permissions": {"enableWithdrawals": True}}))
    rows = {name: (ok, detail) for name, ok, detail in v.exchange.check_access()}
    assert rows["keys accepted"][0] and rows["clock"][0]
    assert rows["reading allowed"][0] and rows["spot trading allowed"][0]
    assert rows["conversion endpoint"][0]
    assert rows["withdrawals disabled"] == (False, rows["withdrawals disabled"][1])
    assert "warning" in rows["withdrawals disabled"][1]
    bad = adapter(v.server.url, key="unknown-key-123456").check_access()
    assert bad[0][0] == "keys accepted" and bad[0][1] is False
    assert "unknown-key-123456" not in bad[0][2]


def test_check_access_on_a_skewed_machine(venue: Any) -> None:
    v = venue()
    v.sim.clock.advance(-5_000)  # this machine runs 5 s ahead of the exchange
    rows = {name: (ok, detail) for name, ok, detail in v.exchange.check_access()}
    ok, detail = rows["clock"]
    assert ok is False and -5_500 < int(detail.split()[1]) < -4_500
    assert rows["keys accepted"][0] is True  # measured offset applied before signing


def test_no_trading_permission_is_reported(venue: Any) -> None:
    v = venue(scenario(account={"permissions": {"enableSpotAndMarginTrading": False}}))
    rows = {name: ok for name, ok, _ in v.exchange.check_access()}
    assert rows["spot trading allowed"] is False
    with pytest.raises(AuthError):
        v.exchange.market_sell("ADAUSDT", Decimal("100"), "sweep-1")
