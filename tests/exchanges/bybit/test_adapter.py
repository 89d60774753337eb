"""The Bybit adapter driven through the real pybit client against the project's simulator.

Every test talks HTTP to ``BybitSim`` on 127.0.0.1 and checks the exchange-side result through
the simulator's hooks (wallets, orders, conversions, request counts). The pure parsers are also
run over slices of the real snapshots in tests/fixtures/real (tools/trim_fixtures.py).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pybit._helpers
import pytest
from pybit.unified_trading import HTTP

from dustsweep.core.models import Balance, ConversionPreview
from dustsweep.errors import (
    AuthError,
    Banned,
    ClockSkew,
    ConversionRejected,
    ExchangeError,
    NetworkError,
    OrderRejected,
    RateLimited,
    ServerError,
)
from dustsweep.exchanges.base import Credentials
from dustsweep.exchanges.bybit import parse as parse
from dustsweep.exchanges.bybit.adapter import BybitExchange
from dustsweep.exchanges.bybit.errors import CallContext, from_ret_code, scrub
from dustsweep.exchanges.bybit.limits import RateBudget
from dustsweep.exchanges.bybit.wire import Clock, new_session
from dustsweep.sim.bybit.dialect import BybitSim
from dustsweep.sim.core import Dialect, SimRequest, SimResponse
from dustsweep.sim.server import SimServer
from tests.paths import REAL_FIXTURES, SIM_DATA

KEY = "dust-key-7f3a51"
SECRET = "dust-secret-9c1e77"
DATA = SIM_DATA
REAL = REAL_FIXTURES
WALLET = "/v5/account/wallet-balance"
CREATE = "/v5/order/create"
REALTIME = "/v5/order/realtime"
HISTORY = "/v5/order/history"
SB_LIST = "/v5/asset/covert/small-balance-list"
SB_QUOTE = "/v5/asset/covert/get-quote"
SB_EXECUTE = "/v5/asset/covert/small-balance-execute"
SB_HISTORY = "/v5/asset/covert/small-balance-history"


def raw_instruments() -> dict[str, dict[str, Any]]:
    return {i["symbol"]: i for i in json.loads((DATA / "bybit-instruments.json").read_text())}


def raw_tickers() -> dict[str, dict[str, Any]]:
    body = json.loads((DATA / "bybit-tickers.json").read_text())
    return {t["symbol"]: t for t in body["result"]["list"]}


@dataclass
class Env:
    sim: BybitSim
    server: SimServer
    exchange: BybitExchange
    sleeps: list[float] = field(default_factory=list)

    def count(self, method: str, path: str) -> int:
        return self.server.faults.count(method, path)

    def wallet(self, coin: str) -> Decimal:
        free, _locked = self.sim.account("main").wallet.get(coin)
        return free


Factory = Callable[..., Env]


@pytest.fixture
def bybit() -> Iterator[Factory]:
    """Builds a simulator + adapter pair; everything is stopped after the test."""
    made: list[Env] = []

    def make(
        scenario: dict[str, Any] | None = None,
        *,
        balances: dict[str, Any] | None = None,
        permissions: dict[str, Any] | None = None,
        key: str = KEY,
        secret: str = SECRET,
        timeout: float = 5.0,
        **adapter: Any,
    ) -> Env:
        account: dict[str, Any] = {
            "name": "main",
            "api_key": KEY,
            "api_secret": SECRET,
            "balances": balances if balances is not None else {"XRP": "12.345", "ADA": "7.5"},
        }
        if permissions is not None:
            account["permissions"] = permissions
        section = {"accounts": [account], **(scenario or {})}
        sim = BybitSim.from_scenario(section)
        server = SimServer(sim).start()
        sleeps: list[float] = []
        adapter.setdefault("sleep", sleeps.append)
        adapter.setdefault("order_poll_delays", (0.0, 0.01, 0.01))
        adapter.setdefault("conversion_poll_delays", (0.0, 0.01, 0.01, 0.01))
        creds = Credentials("main", key, secret, base_url=server.url + "/", timeout=timeout)
        env = Env(sim, server, BybitExchange(creds, **adapter), sleeps)
        made.append(env)
        return env

    yield make
    for env in made:
        env.exchange.close()
        # SimServer.stop waits out serve_forever's 0.5 s poll; let that happen off the clock.
        threading.Thread(target=env.server.stop, daemon=True).start()


def assert_clean(message: str) -> None:
    """Error messages name the account and never show credentials."""
    assert "'main'" in message
    assert KEY not in message
    assert SECRET not in message
    assert "\n" not in message


# -- snapshot reads ---------------------------------------------------------------------------


def test_balances_free_excludes_locked_and_borrowed(bybit: Factory) -> None:
    env = bybit(
        balances={
            "XRP": "12.345",
            "BTC": "0.00000001",
            "ADA": {"walletBalance": "5", "locked": "1", "spotBorrow": "0.5"},
            "ETH": {"walletBalance": "0.2", "spotBorrow": "0.3"},  # more borrowed than held
            "SOL": {"walletBalance": "2", "locked": "2"},
        }
    )
    got = {b.asset: b for b in env.exchange.fetch_balances()}
    assert got["XRP"].free == Decimal("12.345") and got["XRP"].locked == 0
    assert format(got["BTC"].free, "f") == "0.00000001"
    assert got["ADA"].free == Decimal("3.5") and got["ADA"].locked == Decimal("1")
    assert "ETH" not in got  # nothing sellable, nothing locked: a sale would borrow
    assert got["SOL"].free == 0 and got["SOL"].locked == Decimal("2")
    assert all(isinstance(b.free, Decimal) for b in got.values())


def test_markets_match_the_raw_instruments(bybit: Factory) -> None:
    env = bybit()
    markets = {m.symbol: m for m in env.exchange.fetch_markets()}
    raw = raw_instruments()
    assert set(markets) == set(raw)
    for symbol, item in raw.items():
        lot = item["lotSizeFilter"]
        rules = markets[symbol]
        assert (rules.base, rules.quote) == (item["baseCoin"], item["quoteCoin"])
        assert format(rules.step, "f") == lot["basePrecision"]
        assert format(rules.min_qty, "f") == lot["minOrderQty"]
        assert format(rules.min_notional, "f") == lot["minOrderAmt"]
        assert rules.max_qty == Decimal(lot.get("maxMarketOrderQty") or lot["maxOrderQty"])
        assert rules.trading
    assert markets["XRPUSDT"].step_rule == "basePrecision"
    assert markets["XRPUSDT"].min_notional_rule == "minOrderAmt"


def test_halted_instrument_is_listed_not_trading(bybit: Factory) -> None:
    env = bybit()
    env.sim.set_symbol("XRPUSDT", status="Closed")
    # Bybit lists only Trading symbols by default: a halted one simply disappears.
    assert "XRPUSDT" not in {m.symbol for m in env.exchange.fetch_markets()}
    item = dict(raw_instruments()["ADAUSDT"], status="PreLaunch")
    assert parse.market(item).trading is False


def test_prices_are_bids_and_unusable_bids_are_left_out(bybit: Factory) -> None:
    env = bybit({"prices": {"XRPUSDT": "", "ADAUSDT": "0"}, "drop_prices": ["DOGEUSDT"]})
    prices = env.exchange.fetch_prices()
    for symbol, ticker in raw_tickers().items():
        if symbol in ("XRPUSDT", "ADAUSDT", "DOGEUSDT"):
            assert symbol not in prices
        else:
            assert format(prices[symbol], "f") == ticker["bid1Price"]
    assert env.count("GET", "/v5/market/tickers") == 1


def test_parsers_read_both_real_instrument_snapshots() -> None:
    paths = sorted(REAL.glob("bybit-instruments-spot-*.json"))
    assert len(paths) == 2  # a missing slice fails, never passes with nothing checked
    for path in paths:
        items = json.loads(path.read_text())
        markets = parse.markets(items)
        assert len(markets) == len(items) > 100  # slices of ~600-symbol snapshots
        for item, rules in zip(items, markets, strict=True):
            lot = item["lotSizeFilter"]
            assert rules.symbol == item["symbol"]
            assert rules.step == Decimal(lot["basePrecision"]) > 0
            assert rules.min_notional == Decimal(lot["minOrderAmt"])
            assert rules.max_qty == Decimal(lot["maxOrderQty"])  # no maxMarketOrderQty yet


def test_parsers_read_real_tickers_and_doc_examples() -> None:
    body = json.loads((REAL / "bybit-tickers-spot-20250420.json").read_text())
    prices = parse.prices(body["result"]["list"])
    assert prices["BTCUSDT"] == Decimal(
        next(t["bid1Price"] for t in body["result"]["list"] if t["symbol"] == "BTCUSDT")
    )
    docs = json.loads((REAL / "examples" / "bybit-doc-examples-v5.json").read_text())
    btc = parse.markets(docs["GET /v5/market/instruments-info?category=spot"]["result"]["list"])[0]
    assert btc.max_qty == Decimal("41.5")  # maxMarketOrderQty wins over maxOrderQty 83
    quote = docs["POST /v5/asset/covert/get-quote"]["result"]
    preview = parse.quote_preview(quote, "USDC")
    for line, coin in zip(preview.lines, quote["result"]["exchangeCoins"], strict=True):
        assert line.net == Decimal(coin["toAmount"])
        assert line.fee == Decimal(coin["feeInfo"]["amount"])
        # Bybit's fee is feeRate x gross: the quoted toAmount is already net of it.
        assert line.to_amount is not None
        assert abs(line.fee - line.to_amount * Decimal("0.02")) < Decimal("1e-17")
    assert preview.expires_ms == int(quote["result"]["quoteExpireTime"])
    record = docs["GET /v5/asset/covert/small-balance-history"]["result"]["records"][0]
    result = parse.conversion_result(record, "USDC")
    assert result.status == "converted"
    assert sum(line.received for line in result.lines) == Decimal(record["toAmount"])


def test_parser_reads_real_wallet_fixtures() -> None:
    folder = REAL / "examples" / "nautilus"
    borrowed = json.loads(
        (folder / "bybit-http_get_wallet_balance_with_spot_borrow.json").read_text()
    )
    assert parse.balances(borrowed["result"]) == [Balance("USDT", Decimal("1000.00"), Decimal("0"))]
    short = json.loads((folder / "bybit-http_get_wallet_balance_spot_short.json").read_text())
    assert [b.asset for b in parse.balances(short["result"])] == ["USDT"]


# -- selling ----------------------------------------------------------------------------------


def test_market_sell_fills_and_moves_balances(bybit: Factory) -> None:
    env = bybit()
    bid = Decimal(raw_tickers()["XRPUSDT"]["bid1Price"])
    result = env.exchange.market_sell("XRPUSDT", Decimal("12.30"), "dust-xrp-1")
    assert result.status == "filled" and result.final
    assert result.filled_qty == Decimal("12.30")
    assert result.quote_qty == Decimal("12.30") * bid
    assert result.fee_asset == "USDT"
    assert result.fee == result.quote_qty * Decimal("0.001")
    assert result.order_id
    assert env.wallet("XRP") == Decimal("0.045")
    assert env.wallet("USDT") == result.quote_qty - result.fee
    order = env.sim.account("main").orders[-1]
    assert order.link_id == "dust-xrp-1" and order.qty == "12.30"  # sent as a plain string


def test_market_sell_sends_tiny_quantities_without_exponent(bybit: Factory) -> None:
    env = bybit(balances={"BTC": "0.0001"})
    result = env.exchange.market_sell("BTCUSDT", Decimal("0.00005"), "dust-btc-1")
    assert result.status == "filled"
    assert env.sim.account("main").orders[-1].qty == "0.00005"


def test_partial_fill_is_reported_as_partially_filled(bybit: Factory) -> None:
    env = bybit({"liquidity": {"XRPUSDT": "5"}})
    result = env.exchange.market_sell("XRPUSDT", Decimal("12"), "dust-xrp-2")
    assert result.status == "partially_filled"
    assert result.filled_qty == Decimal("5")
    assert env.wallet("XRP") == Decimal("7.345")


@pytest.mark.parametrize(
    ("setup", "qty", "kind"),
    [
        (lambda sim: None, "12.345", "filter"),  # 170137: too many decimals for 0.01
        (lambda sim: sim.set_symbol("XRPUSDT", minOrderAmt="1000"), "12", "filter"),  # 170140
        (lambda sim: sim.set_symbol("XRPUSDT", status="Closed"), "12", "halted"),  # 170157
        (lambda sim: sim.remove_symbol("XRPUSDT"), "12", "halted"),  # 170121
        (lambda sim: None, "20", "insufficient"),  # 170131
    ],
)
def test_order_rejections_have_a_kind(
    bybit: Factory, setup: Callable[[BybitSim], None], qty: str, kind: str
) -> None:
    env = bybit()
    setup(env.sim)
    with pytest.raises(OrderRejected) as info:
        env.exchange.market_sell("XRPUSDT", Decimal(qty), "dust-xrp-3")
    assert info.value.kind == kind
    assert_clean(str(info.value))
    assert env.wallet("XRP") == Decimal("12.345")
    assert env.count("POST", CREATE) == 1  # never resent


def test_duplicate_client_id_is_refused(bybit: Factory) -> None:
    env = bybit()
    env.exchange.market_sell("XRPUSDT", Decimal("5"), "dust-dup")
    with pytest.raises(OrderRejected) as info:
        env.exchange.market_sell("XRPUSDT", Decimal("5"), "dust-dup")
    assert info.value.kind == "duplicate" and info.value.code == 170141
    assert env.wallet("XRP") == Decimal("7.345")


def test_invalid_client_id_never_reaches_the_exchange(bybit: Factory) -> None:
    env = bybit()
    with pytest.raises(ValueError, match="client id"):
        env.exchange.market_sell("XRPUSDT", Decimal("5"), "x" * 37)
    assert env.count("POST", CREATE) == 0


def test_find_order_unknown_is_none_and_known_has_fills(bybit: Factory) -> None:
    env = bybit()
    assert env.exchange.find_order("XRPUSDT", "never-sent") is None
    assert env.count("GET", REALTIME) == 1 and env.count("GET", HISTORY) == 1
    sold = env.exchange.market_sell("XRPUSDT", Decimal("10"), "dust-find")
    found = env.exchange.find_order("XRPUSDT", "dust-find")
    assert found == sold


def test_order_not_visible_yet_returns_new_for_later_reconciliation(bybit: Factory) -> None:
    env = bybit({"order_query_lag_ms": 60_000})
    result = env.exchange.market_sell("XRPUSDT", Decimal("10"), "dust-lag")
    assert result.status == "new" and not result.final
    assert result.order_id == env.sim.account("main").orders[-1].order_id
    assert env.wallet("XRP") == Decimal("2.345")  # it did execute on the exchange
    assert env.count("POST", CREATE) == 1
    assert env.count("GET", REALTIME) == 3  # one look per poll delay, bounded
    env.sim.set_order_query_lag(0)
    found = env.exchange.find_order("XRPUSDT", "dust-lag")
    assert found is not None and found.status == "filled"


def test_lost_order_answer_is_network_error_then_reconciled(bybit: Factory) -> None:
    env = bybit()
    env.server.faults.add("lose", CREATE, method="POST", calls=1)
    with pytest.raises(NetworkError) as info:
        env.exchange.market_sell("XRPUSDT", Decimal("10"), "dust-lost")
    assert "reconcile" in str(info.value)
    assert_clean(str(info.value))
    assert env.count("POST", CREATE) == 1
    found = env.exchange.find_order("XRPUSDT", "dust-lost")
    assert found is not None and found.status == "filled"
    assert env.wallet("XRP") == Decimal("2.345")


def test_concurrent_sells_and_reads_use_separate_sessions(bybit: Factory) -> None:
    coins = ["XRP", "ADA", "DOGE", "SOL", "DOT", "LINK"]
    env = bybit(balances={c: "100" for c in coins})
    bids = raw_tickers()

    def sell(coin: str) -> Any:
        env.exchange.fetch_balances()
        return env.exchange.market_sell(f"{coin}USDT", Decimal("10"), f"dust-{coin}")

    with ThreadPoolExecutor(max_workers=len(coins)) as pool:
        results = list(pool.map(sell, coins))
    assert [r.status for r in results] == ["filled"] * len(coins)
    for coin, result in zip(coins, results, strict=True):
        assert result.client_id == f"dust-{coin}"
        assert result.quote_qty == Decimal("10") * Decimal(bids[f"{coin}USDT"]["bid1Price"])
        assert env.wallet(coin) == Decimal("90")
    assert len(env.exchange._wire._sessions) > 1


# -- errors at the boundary -------------------------------------------------------------------


def test_wrong_key_is_auth_error_naming_the_account(bybit: Factory) -> None:
    env = bybit(key="not-" + KEY)
    with pytest.raises(AuthError) as info:
        env.exchange.fetch_balances()
    assert info.value.code == 10003
    assert_clean(str(info.value))


def test_wrong_secret_is_auth_error_without_echoing_the_signed_string(bybit: Factory) -> None:
    env = bybit(secret="wrong-secret-000")
    with pytest.raises(AuthError) as info:
        env.exchange.fetch_balances()
    message = str(info.value)
    assert info.value.code == 10004
    assert_clean(message)
    assert "wrong-secret-000" not in message
    assert "secret" in message  # says what to check
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_closed_port_is_network_error_naming_the_host() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    creds = Credentials("main", KEY, SECRET, base_url=f"http://127.0.0.1:{port}", timeout=2)
    exchange = BybitExchange(creds, sleep=lambda s: None)
    with pytest.raises(NetworkError) as info:
        exchange.fetch_balances()
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "refused" in str(info.value)
    assert_clean(str(info.value))
    exchange.close()


def test_timeout_is_network_error(bybit: Factory) -> None:
    env = bybit(timeout=0.2)
    release = threading.Event()
    # The server holds the request until the test lets it go: the client must give up first
    # (no wall-clock comparison; without a client timeout this would hang until pytest's).
    env.server.faults.add("action", WALLET, calls=(1, 2, 3), action=lambda: release.wait(60))
    try:
        with pytest.raises(NetworkError) as info:
            env.exchange.fetch_balances()
        assert not release.is_set()
    finally:
        release.set()
    assert "timeout" in str(info.value)
    assert env.count("GET", WALLET) == 3  # issue 9: a read is retried twice, no more


def test_dropped_connection_is_network_error(bybit: Factory) -> None:
    env = bybit()
    env.server.faults.add("drop", "/v5/market/tickers", calls=(1, 2, 3))
    with pytest.raises(NetworkError):
        env.exchange.fetch_prices()
    assert env.exchange.fetch_prices()  # the next call works again


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_server_error_and_retried_twice_for_reads(bybit: Factory, status: int) -> None:
    """issue 9: reads move nothing, so a 5xx is retried within a small budget (was: never)."""
    env = bybit()
    env.server.faults.add("http", WALLET, status=status, body={"error": "boom"})
    with pytest.raises(ServerError) as info:
        env.exchange.fetch_balances()
    assert info.value.http_status == status
    assert env.count("GET", WALLET) == 3
    assert env.sleeps == [0.25, 1.0]


def test_undecodable_or_odd_answers_are_server_errors(bybit: Factory) -> None:
    env = bybit()
    env.server.faults.add("http", WALLET, status=200, body="not an envelope", calls=(1, 2, 3))
    with pytest.raises(ServerError):
        env.exchange.fetch_balances()
    env.server.faults.add("http", WALLET, status=200, body={"retCode": 0, "result": []}, calls=4)
    with pytest.raises(ServerError) as info:
        env.exchange.fetch_balances()
    assert "read balances" in str(info.value)


class _HtmlAnswer(Dialect):
    """Serves the Bybit dialect but answers one path with an HTML page and status 200."""

    def __init__(self, inner: BybitSim, path: str) -> None:
        self.inner = inner
        self.path = path

    def handle(self, request: SimRequest) -> SimResponse:
        if request.path == self.path:
            return SimResponse(status=200, raw=b"<html><body>gateway</body></html>")
        return self.inner.handle(request)


def test_html_body_with_200_is_server_error_for_an_order() -> None:
    sim = BybitSim.from_scenario(
        {
            "accounts": [
                {"name": "main", "api_key": KEY, "api_secret": SECRET, "balances": {"XRP": "20"}}
            ]
        }
    )
    server = SimServer(_HtmlAnswer(sim, CREATE)).start()
    exchange = BybitExchange(Credentials("main", KEY, SECRET, base_url=server.url))
    try:
        with pytest.raises(ServerError) as info:
            exchange.market_sell("XRPUSDT", Decimal("10"), "dust-html")
        assert "outcome is unknown" in str(info.value)
        assert server.faults.count("POST", CREATE) == 1
    finally:
        exchange.close()
        threading.Thread(target=server.stop, daemon=True).start()


def test_429_with_retry_after_is_retried_for_reads(bybit: Factory) -> None:
    env = bybit()
    env.server.faults.add("http", WALLET, status=429, retry_after=1, calls=[1, 2])
    assert env.exchange.fetch_balances()
    assert env.count("GET", WALLET) == 3
    assert env.sleeps == [1.0, 1.0]


def test_429_retries_are_bounded(bybit: Factory) -> None:
    env = bybit()
    env.server.faults.add("http", WALLET, status=429, retry_after=2)
    with pytest.raises(RateLimited) as info:
        env.exchange.fetch_balances()
    assert info.value.retry_after == 2.0
    assert env.count("GET", WALLET) == 3  # the call and two retries


def test_long_retry_after_is_not_waited_out(bybit: Factory) -> None:
    env = bybit()
    env.server.faults.add("http", WALLET, status=429, retry_after=120)
    with pytest.raises(RateLimited):
        env.exchange.fetch_balances()
    assert env.count("GET", WALLET) == 1 and env.sleeps == []


def test_rate_limited_order_is_never_resent(bybit: Factory) -> None:
    env = bybit()
    env.server.faults.add("http", CREATE, status=429, retry_after=1)
    with pytest.raises(RateLimited):
        env.exchange.market_sell("XRPUSDT", Decimal("10"), "dust-429")
    env.server.faults.clear()
    too_many = {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "time": 1}
    env.server.faults.add("http", CREATE, status=200, body=too_many)
    with pytest.raises(RateLimited) as info:
        env.exchange.market_sell("XRPUSDT", Decimal("10"), "dust-10006")
    assert info.value.code == 10006 and info.value.retry_after == 2.0  # Bybit's fixed back-off
    assert env.count("POST", CREATE) == 2 and env.sleeps == []
    assert env.wallet("XRP") == Decimal("12.345")


def test_10006_from_the_uid_limit_is_retried_then_raised(bybit: Factory) -> None:
    env = bybit({"rate_limits": True})
    for _ in range(5):  # small-balance-history allows 5 per second
        env.exchange.last_conversion_ms()
    with pytest.raises(RateLimited) as info:
        env.exchange.last_conversion_ms()  # the injected sleep does not really wait
    assert info.value.code == 10006
    assert 0 <= (info.value.retry_after or 0) <= 1.0
    assert env.count("GET", SB_HISTORY) == 5 + 3


def test_budget_pause_avoids_10006_with_a_real_clock(bybit: Factory) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    env = bybit({"rate_limits": True}, sleep=sleep)
    for _ in range(7):
        assert env.exchange.last_conversion_ms() is None
    assert slept and all(0 < s <= 1.0 for s in slept)
    assert env.count("GET", SB_HISTORY) == 7  # paused instead of being refused


@pytest.mark.parametrize("path", [WALLET, CREATE])
def test_403_is_banned(bybit: Factory, path: str) -> None:
    env = bybit()
    env.server.faults.add("http", path, status=403)
    with pytest.raises(Banned) as info:
        if path == CREATE:
            env.exchange.market_sell("XRPUSDT", Decimal("10"), "dust-403")
        else:
            env.exchange.fetch_balances()
    assert info.value.http_status == 403
    assert "10 minutes" in str(info.value)
    assert env.count("POST" if path == CREATE else "GET", path) == 1


@pytest.mark.parametrize("skew_ms", [10_000, -3_000])
def test_clock_skew_then_sync_clock_fixes_it(bybit: Factory, skew_ms: int) -> None:
    env = bybit()
    env.sim.clock.advance(skew_ms)
    with pytest.raises(ClockSkew) as info:
        env.exchange.fetch_balances()
    assert info.value.code == 10002
    assert env.count("GET", WALLET) == 1  # pybit's own recv_window retry is off
    offset = env.exchange.sync_clock()
    assert abs(offset - skew_ms) < 200
    assert env.exchange.clock_offset_ms == offset
    assert env.exchange.fetch_balances()
    env.exchange.set_clock_offset(0)
    with pytest.raises(ClockSkew):
        env.exchange.fetch_balances()
    env.exchange.set_clock_offset(offset)  # a saved offset works without a new sync
    assert env.exchange.fetch_balances()


def test_signed_headers_match_pybit_except_for_the_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pybit._helpers, "generate_timestamp", lambda: 1_700_000_000_000)
    stock = HTTP(api_key=KEY, api_secret=SECRET, recv_window=5000)
    clock = Clock()
    ours = new_session(Credentials("main", KEY, SECRET, recv_window_ms=5000), "http://x", clock)
    payload = "accountType=UNIFIED"
    assert ours._prepare_headers(payload, 5000) == stock._prepare_headers(payload, 5000)
    clock.offset_ms = -1234
    shifted = ours._prepare_headers(payload, 5000)
    assert shifted["X-BAPI-TIMESTAMP"] == str(1_700_000_000_000 - 1234)
    assert shifted["X-BAPI-SIGN"] == stock._auth(payload, 5000, 1_700_000_000_000 - 1234)
    assert KEY not in repr(ours) and SECRET not in repr(ours)


def test_sessions_add_no_stderr_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logging.root, "handlers", [])
    logger = logging.getLogger("pybit._http_manager")
    before = list(logger.handlers)
    for _ in range(3):
        new_session(Credentials("main", KEY, SECRET), "https://api.bybit.com", Clock())
    assert logger.handlers == before
    stock = HTTP(api_key=KEY, api_secret=SECRET)  # pybit itself would have added one
    assert len(logger.handlers) == len(before) + 1
    logger.removeHandler(logger.handlers[-1])
    assert stock.log_requests is False


def test_environment_proxy_is_ignored_for_loopback(
    bybit: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    env = bybit()
    assert env.exchange.fetch_balances()


def test_error_table_and_scrubbing() -> None:
    ctx = CallContext("main", "api.bybit.com", "read balances", secrets=(KEY, SECRET))
    echo = f"error sign! origin_string[1700000000000{KEY}5000accountType=UNIFIED]"
    error = from_ret_code(ctx, 10004, echo, None, 0)
    assert isinstance(error, AuthError) and KEY not in str(error)
    assert scrub("a\nb " + SECRET, (SECRET,)) == "a b ***"
    assert scrub("error sign! origin_string[1700000000000k5000a=b]") == (
        "error sign! origin_string[…]"
    )
    order_ctx = CallContext("main", "h", "sell", purpose="order")
    assert isinstance(from_ret_code(order_ctx, 10000, "timeout", None, 0), ServerError)
    assert from_ret_code(order_ctx, 110072, "dup", None, 0).kind == "duplicate"  # type: ignore[attr-defined]
    assert from_ret_code(order_ctx, 170999, "new", None, 0).kind == "other"  # type: ignore[attr-defined]
    reset = {"X-Bapi-Limit-Reset-Timestamp": "5500"}
    limited = from_ret_code(ctx, 10006, "Too many visits!", reset, 5000)
    assert isinstance(limited, RateLimited) and limited.retry_after == 0.5
    plain = from_ret_code(ctx, 10001, "params error", None, 0)
    assert type(plain) is ExchangeError


def test_rate_budget_pauses_only_when_nearly_used() -> None:
    budget = RateBudget()
    headers = {
        "X-Bapi-Limit": "20",
        "X-Bapi-Limit-Status": "2",
        "X-Bapi-Limit-Reset-Timestamp": "1500",
    }
    budget.observe("place_order", headers)
    assert budget.pause_before("place_order", 1000) == 0.0  # 90 % used is still fine
    budget.observe("place_order", dict(headers, **{"X-Bapi-Limit-Status": "1"}))
    assert budget.pause_before("place_order", 1000) == 0.5
    assert budget.pause_before("place_order", 2000) == 0.0  # the window has reset
    assert budget.pause_before("get_tickers", 1000) == 0.0
    budget.observe(
        "x",
        {
            "X-Bapi-Limit": "5",
            "X-Bapi-Limit-Status": "0",
            "X-Bapi-Limit-Reset-Timestamp": str(10**12),
        },
    )
    assert budget.pause_before("x", 0) == budget.max_pause_s


def test_fee_coin_from_fills_when_order_row_has_no_fee_detail() -> None:
    row = {
        "orderId": "1",
        "orderLinkId": "c",
        "orderStatus": "Filled",
        "cumExecQty": "2",
        "cumExecValue": "4",
        "cumExecFee": "0.004",
        "cumFeeDetail": {},
    }
    assert parse.needs_execution_fee(row, "XRPUSDT")
    fills = [
        {"execFee": "0.003", "feeCurrency": "USDT"},
        {"execFee": "0.001", "feeCurrency": "USDT"},
    ]
    fee = parse.fee_from_executions(fills)
    result = parse.order(row, "XRPUSDT", fee)
    assert (result.fee, result.fee_asset) == (Decimal("0.004"), "USDT")
    cancelled = dict(row, orderStatus="Cancelled", cumFeeDetail={"USDT": "0.004"})
    assert parse.order(cancelled, "XRPUSDT", None).status == "partially_filled"
    nothing = dict(row, orderStatus="Cancelled", cumExecQty="0", cumExecFee="0")
    assert parse.order(nothing, "XRPUSDT", None).status == "cancelled"


# -- small-balance conversion -----------------------------------------------------------------


def dust(coins: list[str], value: str = "0.5") -> dict[str, str]:
    """Balances worth about ``value`` USDT each, at the bundled bids."""
    bids = raw_tickers()
    out = {}
    for coin in coins:
        bid = Decimal(bids[f"{coin}USDT"]["bid1Price"])
        out[coin] = format((Decimal(value) / bid).quantize(Decimal("0.00000001")), "f")
    return out


def test_convertible_lists_supported_coins(bybit: Factory) -> None:
    env = bybit({"conversion": {"ineligible": ["ADA"]}}, balances=dust(["XRP", "ADA", "DOGE"]))
    assert env.exchange.fetch_convertible() == frozenset({"XRP", "DOGE"})


@pytest.mark.parametrize(
    "setup",
    [
        {"permissions": {"permissions": {"Exchange": []}}},  # 10005
        {"fault": 404},
    ],
)
def test_convertible_unavailable_is_none(bybit: Factory, setup: dict[str, Any]) -> None:
    env = bybit(permissions=setup.get("permissions"), balances=dust(["XRP"]))
    if "fault" in setup:
        env.server.faults.add("http", SB_LIST, status=404)
        env.server.faults.add("http", SB_HISTORY, status=404)
    assert env.exchange.fetch_convertible() is None
    assert env.exchange.last_conversion_ms() is None


def test_preview_then_convert_moves_balances(bybit: Factory) -> None:
    env = bybit(balances=dust(["XRP", "ADA", "DOGE"]))
    preview = env.exchange.preview_conversion("usdt")
    assert preview.target == "USDT" and preview.fee_rate == Decimal("0.02")
    assert preview.quote_id is not None and preview.expires_ms is not None
    quoted = {ln.from_coin: ln for ln in env.sim.small_balance.quotes[preview.quote_id].lines}
    assert {line.asset for line in preview.lines} == set(quoted) == {"XRP", "ADA", "DOGE"}
    for line in preview.lines:
        assert line.net == quoted[line.asset].to_amount
        assert line.fee == quoted[line.asset].fee
        assert line.amount == Decimal(dust(["XRP", "ADA", "DOGE"])[line.asset])
    before = env.wallet("USDT")
    result = env.exchange.convert(preview, ["XRP", "ADA", "DOGE"], "conv-1")
    assert result.status == "converted" and result.transfer_id == preview.quote_id
    assert {line.asset for line in result.lines} == {"XRP", "ADA", "DOGE"}
    assert all(line.status == "converted" for line in result.lines)
    assert env.wallet("USDT") - before == sum(line.received for line in result.lines)
    assert env.wallet("XRP") == env.wallet("ADA") == env.wallet("DOGE") == 0
    assert env.count("POST", SB_QUOTE) == 1 and env.count("POST", SB_EXECUTE) == 1
    assert (
        env.exchange.last_conversion_ms()
        == env.sim.account("main").conversions[0].created_ms // 1000 * 1000
    )


def test_convert_a_subset_requotes_exactly_those(bybit: Factory) -> None:
    env = bybit(balances=dust(["XRP", "ADA", "DOGE"]))
    preview = env.exchange.preview_conversion("USDC")
    result = env.exchange.convert(preview, ["XRP", "ADA"], "conv-2")
    assert env.count("POST", SB_QUOTE) == 2
    assert result.transfer_id != preview.quote_id
    assert {line.asset for line in result.lines} == {"XRP", "ADA"}
    assert env.wallet("DOGE") == Decimal(dust(["DOGE"])["DOGE"])
    assert env.wallet("XRP") == 0


def test_converting_the_same_quote_twice_reads_the_history(bybit: Factory) -> None:
    env = bybit(balances=dust(["XRP", "ADA"]))
    preview = env.exchange.preview_conversion("USDT")
    first = env.exchange.convert(preview, ["XRP", "ADA"], "conv-3")
    again = env.exchange.convert(preview, ["ADA", "XRP"], "conv-3")
    assert again == first
    assert env.count("POST", SB_EXECUTE) == 2 and env.count("POST", SB_QUOTE) == 1
    assert len(env.sim.account("main").conversions) == 1


def test_lost_execute_answer_is_reconciled_from_history(bybit: Factory) -> None:
    env = bybit(balances=dust(["XRP", "ADA"]))
    preview = env.exchange.preview_conversion("USDT")
    env.server.faults.add("lose", SB_EXECUTE, calls=1)
    result = env.exchange.convert(preview, ["XRP", "ADA"], "conv-4")
    assert result.status == "converted"
    assert env.wallet("XRP") == 0


def test_dropped_execute_without_record_keeps_the_network_error(bybit: Factory) -> None:
    env = bybit(balances=dust(["XRP"]))
    preview = env.exchange.preview_conversion("USDT")
    env.server.faults.add("drop", SB_EXECUTE, calls=1)
    with pytest.raises(NetworkError):
        env.exchange.convert(preview, ["XRP"], "conv-5")
    assert env.sim.account("main").conversions == []


def test_unsettled_conversion_is_pending(bybit: Factory) -> None:
    env = bybit(
        {"conversion": {"settle_ms": 600_000, "processing_polls": 100}},
        balances=dust(["XRP"]),
        conversion_poll_delays=(0.0, 0.01),
    )
    preview = env.exchange.preview_conversion("MNT")
    result = env.exchange.convert(preview, ["XRP"], "conv-6")
    assert result.status == "pending"
    assert env.count("GET", SB_HISTORY) == 2
    assert env.sleeps == [0.01]


def test_unsupported_target_names_the_working_ones(bybit: Factory) -> None:
    env = bybit(balances=dust(["XRP"]))
    with pytest.raises(ConversionRejected) as info:
        env.exchange.preview_conversion("BNB")
    assert info.value.kind == "unsupported_target"
    assert all(t in str(info.value) for t in ("MNT", "USDT", "USDC"))
    assert env.server.requests == []


def test_ineligible_coin_is_refused_before_executing(bybit: Factory) -> None:
    env = bybit({"conversion": {"ineligible": ["ADA"]}}, balances=dust(["XRP", "ADA"]))
    preview = env.exchange.preview_conversion("USDT")
    assert [line.asset for line in preview.lines] == ["XRP"]
    with pytest.raises(ConversionRejected) as info:
        env.exchange.convert(preview, ["XRP", "ADA"], "conv-7")
    assert info.value.kind == "ineligible" and "ADA" in str(info.value)
    assert env.count("POST", SB_EXECUTE) == 0


def test_insufficient_and_cooldown_rejections(bybit: Factory) -> None:
    env = bybit({"conversion": {"cooldown_hours": 6}}, balances=dust(["XRP", "ADA"]))
    empty = ConversionPreview(target="USDT", fee_rate=None, lines=())
    with pytest.raises(ConversionRejected) as info:
        env.exchange.convert(empty, ["DOGE"], "conv-8")  # not held: 700005
    assert info.value.kind == "insufficient" and info.value.code == 700005
    preview = env.exchange.preview_conversion("USDT")
    env.exchange.convert(preview, ["XRP"], "conv-9")
    with pytest.raises(ConversionRejected) as info:
        env.exchange.preview_conversion("USDT")
    assert info.value.kind == "cooldown" and info.value.code == 700021
    assert_clean(str(info.value))
    env.sim.clock.advance(6 * 3_600_000 + 1000)
    env.exchange.sync_clock()
    assert env.exchange.preview_conversion("USDT").lines


def test_expired_quote_is_requoted_or_reported(bybit: Factory) -> None:
    env = bybit(balances=dust(["XRP", "ADA"]))
    preview = env.exchange.preview_conversion("USDT")
    env.sim.clock.advance(31_000)
    env.exchange.sync_clock()
    lying = ConversionPreview(
        preview.target, preview.fee_rate, preview.lines, preview.quote_id, expires_ms=2**62
    )
    with pytest.raises(ConversionRejected) as info:
        env.exchange.convert(lying, ["XRP", "ADA"], "conv-10")
    assert info.value.kind == "expired" and info.value.code == 700008
    with pytest.raises(ConversionRejected) as known:  # known to have expired: not even sent
        env.exchange.convert(preview, ["XRP", "ADA"], "conv-11")
    assert known.value.kind == "expired" and env.count("POST", SB_EXECUTE) == 1
    fresh = env.exchange.quote_conversion("USDT", ["XRP", "ADA"])
    result = env.exchange.convert(fresh, ["XRP", "ADA"], "conv-11")
    assert result.status == "converted" and result.transfer_id == fresh.quote_id


def test_more_than_twenty_coins_are_quoted_in_chunks(bybit: Factory) -> None:
    coins = sorted(
        {i["baseCoin"] for i in raw_instruments().values() if i["quoteCoin"] == "USDT"}
        - {"USDC", "TUSD", "USDT"}
    )[:23]
    env = bybit(balances=dust(coins, "0.2"))
    first = env.exchange.preview_conversion("USDT")
    assert len(first.lines) == 20
    chunks = env.exchange.preview_conversion_all("USDT")
    assert [len(p.lines) for p in chunks] == [20, 3]
    assert {line.asset for p in chunks for line in p.lines} == set(coins)
    with pytest.raises(ConversionRejected, match="at most 20"):
        env.exchange.convert(first, coins, "conv-12")
    results = [env.exchange.convert(p, [ln.asset for ln in p.lines], "c") for p in chunks]
    assert [r.status for r in results] == ["converted", "converted"]
    assert all(env.wallet(coin) == 0 for coin in coins)


def test_nothing_eligible_gives_an_empty_preview(bybit: Factory) -> None:
    env = bybit(balances={"USDT": "50"})
    preview = env.exchange.preview_conversion("USDT")
    assert preview.lines == () and preview.quote_id is None
    assert env.count("POST", SB_QUOTE) == 0


# -- regular Convert --------------------------------------------------------------------------


def test_regular_convert_round_trip(bybit: Factory) -> None:
    env = bybit(balances={"ETH": "0.5", "XRP": "1"})
    coins = env.exchange.regular_convert.coin_list()
    assert coins["ETH"].balance == Decimal("0.5")
    assert coins["ETH"].min_from is not None and coins["ETH"].accepts(Decimal("0.02"))
    assert not coins["ETH"].accepts(coins["ETH"].min_from / 2)
    quote = env.exchange.regular_convert.request_quote("ETH", "USDT", Decimal("0.02"), "rq-1")
    assert quote.from_amount == Decimal("0.02") and quote.to_amount > 0
    status = env.exchange.regular_convert.execute(quote)
    assert status.final and status.status == "success"
    assert status.to_amount == quote.to_amount
    assert env.wallet("ETH") == Decimal("0.48")
    with pytest.raises(ConversionRejected) as info:
        env.exchange.regular_convert.request_quote("XRP", "USDT", Decimal("1"))
    assert info.value.kind == "ineligible" and info.value.code == 700006


# -- doctor -----------------------------------------------------------------------------------


def checks(env: Env) -> dict[str, tuple[bool, str]]:
    return {name: (ok, detail) for name, ok, detail in env.exchange.check_access()}


def test_check_access_all_good(bybit: Factory) -> None:
    lines = checks(bybit())
    assert {name for name, (ok, _d) in lines.items() if not ok} == set()
    assert {
        "clock",
        "api key",
        "read balances",
        "spot trading",
        "conversion permission",
        "conversion endpoint",
        "withdrawals",
        "unified account",
    } <= set(lines)


def test_check_access_reports_problems(bybit: Factory) -> None:
    env = bybit(
        permissions={
            "readOnly": 1,
            "uta": 0,
            "permissions": {"Wallet": ["AccountTransfer", "Withdraw"], "Exchange": []},
        }
    )
    env.sim.clock.advance(4000)
    lines = checks(env)
    failing = {name for name, (ok, _d) in lines.items() if not ok}
    assert failing == {
        "clock",
        "spot trading",
        "conversion permission",
        "conversion endpoint",
        "withdrawals",
        "unified account",
    }
    assert "WARNING" in lines["withdrawals"][1]
    offset = int(re.search(r"offset ([+-]\d+) ms", lines["clock"][1]).group(1))  # type: ignore[union-attr]
    assert abs(offset - 4000) < 200


def test_check_access_with_a_wrong_key_stops_early(bybit: Factory) -> None:
    env = bybit(key="nope")
    lines = env.exchange.check_access()
    assert [name for name, _ok, _d in lines] == ["clock", "api key"]
    assert lines[-1][1] is False and "10003" in lines[-1][2]


def test_threads_share_one_clock_offset(bybit: Factory) -> None:
    env = bybit()
    env.sim.clock.advance(8000)
    env.exchange.sync_clock()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            env.exchange.fetch_balances()
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
