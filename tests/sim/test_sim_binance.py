"""The Binance dialect driven by the real python-binance client over loopback HTTP.

Every assertion reads what the exchange did (wallet, orders, log) or what it answered on the
wire, never what a helper of ours computed.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from binance.client import Client
from binance.exceptions import BinanceAPIException

from dustsweep.exchanges.binance.client import SigningClient
from dustsweep.exchanges.signing import hmac_signer
from dustsweep.sim.binance import BinanceSim
from dustsweep.sim.binance_auth import check_signature
from dustsweep.sim.binance_wire import BinanceError
from dustsweep.sim.core import SimRequest
from dustsweep.sim.server import SimServer

KEY, SECRET = "demo-key", "demo-secret"
D = Decimal


def scenario(**extra: Any) -> dict[str, Any]:
    balances = extra.pop("balances", None) or {
        "ADA": "12.34",
        "USDT": "100",
        "BNB": "0.01",
        "XRP": "0.5",
    }
    account = {"name": "main", "api_key": KEY, "api_secret": SECRET, "balances": balances}
    account.update(extra.pop("account", {}))
    return {"accounts": [account], **extra}


def connect(server: SimServer, key: str = KEY, secret: str = SECRET) -> Client:
    """The real client, pointed at the simulator exactly as the adapter does it: python-binance
    with dustsweep's signing (its own signs decoded values, which the simulator rejects as
    Binance does since 2026-01-15; tests/exchanges/test_signing.py shows that)."""
    client = SigningClient(key, hmac_signer(secret), ping=False, requests_params={"timeout": 5})
    client.API_URL = f"{server.url}/api"
    client.MARGIN_API_URL = f"{server.url}/sapi"
    return client


def sync_clock(client: Client, sim: BinanceSim) -> None:
    """What a careful client does after the server's clock moved: measure the offset."""
    client.timestamp_offset = sim.clock.now_ms() - int(time.time() * 1000)


def api_error(call: Callable[[], Any]) -> BinanceAPIException:
    with pytest.raises(BinanceAPIException) as info:
        call()
    return info.value


class SimPool:
    """Simulators started by one test, all stopped at its end."""

    def __init__(self) -> None:
        self.servers: list[SimServer] = []

    def start(
        self, section: Mapping[str, Any] | None = None
    ) -> tuple[BinanceSim, SimServer, Client]:
        sim = BinanceSim.from_scenario(dict(section or scenario()))
        server = SimServer(sim).start()
        self.servers.append(server)
        return sim, server, connect(server)

    def stop_all(self) -> None:
        # SimServer.stop() waits up to serve_forever's 0.5 s poll; nothing here needs to wait.
        for server in self.servers:
            threading.Thread(target=server.stop, daemon=True).start()


@pytest.fixture
def start() -> Iterator[Callable[..., tuple[BinanceSim, SimServer, Client]]]:
    pool = SimPool()
    yield pool.start
    pool.stop_all()


# ---- signing, keys, clock ----------------------------------------------------------------------


def test_signed_request_with_the_right_secret_reads_the_account(start: Any) -> None:
    _, _, client = start()
    account = client.get_account(omitZeroBalances="true")
    balances = {b["asset"]: (b["free"], b["locked"]) for b in account["balances"]}
    assert balances["ADA"] == ("12.34000000", "0.00000000")
    assert balances["USDT"] == ("100.00000000", "0.00000000")
    assert account["canTrade"] is True
    assert account["commissionRates"]["taker"] == "0.00100000"


def test_wrong_secret_is_an_invalid_signature(start: Any) -> None:
    _, server, _ = start()
    error = api_error(lambda: connect(server, secret="not-the-secret").get_account())
    assert (error.status_code, error.code) == (400, -1022)
    assert error.message == "Signature for this request is not valid."


def test_unknown_key_is_rejected_with_401(start: Any) -> None:
    _, server, _ = start()
    error = api_error(lambda: connect(server, key="someone-else").get_account())
    assert (error.status_code, error.code) == (401, -2015)
    assert error.message == "Invalid API-key, IP, or permissions for action."


def test_missing_key_header_is_a_malformed_key(start: Any) -> None:
    _, server, _ = start()
    answer = requests.get(f"{server.url}/api/v3/account?timestamp=1&signature=00", timeout=5)
    assert answer.status_code == 401
    assert answer.json() == {"code": -2014, "msg": "API-key format invalid."}


def test_server_clock_ahead_makes_requests_too_old_until_the_client_resyncs(start: Any) -> None:
    sim, _, client = start()
    sim.clock.advance(20_000)  # python-binance sends recvWindow=10000
    error = api_error(client.get_account)
    assert error.code == -1021
    assert error.message == "Timestamp for this request is outside of the recvWindow."
    sync_clock(client, sim)
    assert client.get_account()["accountType"] == "SPOT"


def test_server_clock_behind_makes_requests_from_the_future(start: Any) -> None:
    sim, _, client = start()
    sim.clock.advance(-3_000)
    error = api_error(client.get_account)
    assert error.code == -1021
    assert error.message == "Timestamp for this request was 1000ms ahead of the server's time."


def test_recv_window_above_the_maximum_is_refused(start: Any) -> None:
    _, _, client = start()
    client.REQUEST_RECVWINDOW = 70_000
    assert api_error(client.get_account).code == -1131


def _request(query: str = "", body: str = "") -> SimRequest:
    return SimRequest("POST", "/api/v3/order", query, body.encode(), {})


def test_signature_check_matches_binances_published_vectors() -> None:
    """The two HMAC examples of the Binance docs (binance-api.md §1.2), query-only and mixed."""
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    payload = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        "&recvWindow=5000&timestamp=1499827319559"
    )
    sig = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    check_signature(_request(query=f"{payload}&signature={sig}"), secret)
    check_signature(_request(query=f"{payload}&signature={sig.upper()}"), secret)  # any case
    mixed_sig = "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
    check_signature(
        _request(
            query="symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
            body=f"quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature={mixed_sig}",
        ),
        secret,
    )
    with pytest.raises(BinanceError) as info:
        check_signature(_request(query=f"{payload}&signature={mixed_sig}"), secret)
    assert info.value.code == -1022


def test_unsorted_raw_signed_body_with_repeated_assets_is_accepted(start: Any) -> None:
    """ccxt's way: repeated ``asset=`` keys, params in its own order, HMAC over the raw bytes."""
    sim, server, _ = start(scenario(balances={"ADA": "0.5", "XRP": "0.3"}))
    timestamp = sim.clock.now_ms()
    body = urlencode([("timestamp", timestamp), ("asset", "XRP"), ("asset", "ADA")])
    signature = hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
    answer = requests.post(
        f"{server.url}/sapi/v1/asset/dust",
        data=f"{body}&signature={signature}",
        headers={"X-MBX-APIKEY": KEY, "Content-Type": "application/x-www-form-urlencoded"},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    assert sorted(r["fromAsset"] for r in answer.json()["transferResult"]) == ["ADA", "XRP"]
    assert sim.account("main").wallet.get("ADA")[0] == 0


def test_key_without_trading_permission_can_read_but_not_trade(start: Any) -> None:
    sim, _, client = start(scenario(account={"permissions": {"enableSpotAndMarginTrading": False}}))
    assert client.get_account()["canTrade"] is False
    assert client.get_account_api_permissions()["enableSpotAndMarginTrading"] is False
    error = api_error(lambda: client.order_market_sell(symbol="ADAUSDT", quantity="10"))
    assert (error.status_code, error.code) == (401, -2015)
    assert api_error(lambda: client.transfer_dust(asset="XRP")).code == -2015
    assert sim.account("main").wallet.get("ADA")[0] == D("12.34")


# ---- market data -------------------------------------------------------------------------------


def test_exchange_info_is_the_real_snapshot_with_overrides_applied(start: Any) -> None:
    sim, _, client = start(
        scenario(
            symbols={
                "ADAUSDT": {"status": "HALT"},
                "XRPUSDT": {"filters": {"NOTIONAL": {"minNotional": "10"}}},
                "LTCBTC": {"remove": True},
            }
        )
    )
    symbols = {s["symbol"]: s for s in client.get_exchange_info()["symbols"]}
    assert symbols["ADAUSDT"]["status"] == "HALT"
    notional = next(f for f in symbols["XRPUSDT"]["filters"] if f["filterType"] == "NOTIONAL")
    assert notional["minNotional"] == "10"
    assert notional["applyMinToMarket"] is True  # untouched fields keep the snapshot's value
    assert "LTCBTC" not in symbols and symbols["BCCBTC"]["status"] == "BREAK"
    sim.set_symbol("ADAUSDT", status="TRADING")
    assert client.get_symbol_info("ADAUSDT")["status"] == "TRADING"


def test_exchange_info_for_named_symbols_and_an_unknown_one(start: Any) -> None:
    _, _, client = start()
    answer = client._get("exchangeInfo", data={"symbols": '["ADAUSDT","XRPUSDT"]'})
    assert [s["symbol"] for s in answer["symbols"]] == ["ADAUSDT", "XRPUSDT"]
    error = api_error(lambda: client._get("exchangeInfo", data={"symbol": "NOPEUSDT"}))
    assert (error.code, error.message) == (-1121, "Invalid symbol.")


def test_tickers_leave_out_symbols_without_a_price(start: Any) -> None:
    sim, _, client = start(scenario(prices={"ADAUSDT": "0.5"}, drop_prices=["XRPUSDT"]))
    tickers = {t["symbol"]: t["price"] for t in client.get_all_tickers()}
    assert tickers["ADAUSDT"] == "0.50000000"
    assert "XRPUSDT" not in tickers and "XRPBTC" in tickers
    assert client.get_symbol_ticker(symbols='["ADAUSDT","XRPUSDT"]') == [
        {"symbol": "ADAUSDT", "price": "0.50000000"}
    ]
    assert client.get_avg_price(symbol="ADAUSDT")["price"] == "0.50000000"
    sim.set_price("ADAUSDT", "0.61")
    assert client.get_orderbook_ticker(symbol="ADAUSDT")["bidPrice"] == "0.61000000"


def test_weight_headers_count_per_minute(start: Any) -> None:
    _, _, client = start()
    client.get_server_time()
    first = int(client.response.headers["X-MBX-USED-WEIGHT-1M"])
    client.get_exchange_info()
    assert int(client.response.headers["X-MBX-USED-WEIGHT-1M"]) == first + 20
    client.get_dust_assets()
    assert client.response.headers["X-SAPI-USED-IP-WEIGHT-1M"] == "1"


def test_weight_limit_answers_429_with_retry_after(start: Any) -> None:
    _, _, client = start(scenario(weight_limit=25))
    client.get_exchange_info()
    error = api_error(client.get_exchange_info)
    assert (error.status_code, error.code) == (429, -1003)
    assert 1 <= int(error.response.headers["Retry-After"]) <= 60


def test_unknown_path_is_a_json_404(start: Any) -> None:
    _, server, _ = start()
    answer = requests.get(f"{server.url}/api/v3/nothing-here", timeout=5)
    assert answer.status_code == 404
    assert answer.json()["code"] == -1000


# ---- orders ------------------------------------------------------------------------------------


def test_market_sell_fills_at_the_ticker_and_pays_the_fee_in_quote(start: Any) -> None:
    sim, _, client = start()
    order = client.order_market_sell(symbol="ADAUSDT", quantity="12.3", newClientOrderId="dust-1")
    # 12.3 ADA x 0.6252 = 7.68996 USDT; 0.1 % fee = 0.00768996 USDT.
    assert order["status"] == "FILLED"
    assert order["executedQty"] == "12.30000000"
    assert order["cummulativeQuoteQty"] == "7.68996000"
    assert order["fills"] == [
        {
            "price": "0.62520000",
            "qty": "12.30000000",
            "commission": "0.00768996",
            "commissionAsset": "USDT",
            "tradeId": order["fills"][0]["tradeId"],
        }
    ]
    wallet = sim.account("main").wallet
    assert wallet.get("ADA") == (D("0.04"), D(0))
    assert wallet.get("USDT")[0] == D("100") + D("7.68996") - D("0.00768996")


def test_response_types_ack_and_result_leave_out_what_they_should(start: Any) -> None:
    _, _, client = start()
    ack = client.order_market_sell(symbol="ADAUSDT", quantity="8", newOrderRespType="ACK")
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    result = client.order_market_buy(symbol="ADAUSDT", quantity="8", newOrderRespType="RESULT")
    assert result["status"] == "FILLED" and "fills" not in result
    assert client.response.headers["X-MBX-ORDER-COUNT-10S"] == "2"


def test_market_buy_pays_the_fee_in_base_and_leaves_dust(start: Any) -> None:
    sim, _, client = start()
    client.order_market_buy(symbol="ADAUSDT", quantity="10")
    wallet = sim.account("main").wallet
    assert wallet.get("ADA")[0] == D("12.34") + D("10") - D("0.01")  # fee: 0.1 % of 10 ADA
    assert wallet.get("USDT")[0] == D("100") - D("6.252")
    order = client.order_market_buy(symbol="ADAUSDT", quoteOrderQty="6")
    # 6 USDT / 0.6252 = 9.5969... ADA, floored to the 0.1 step: 9.5 ADA for 5.9394 USDT.
    assert (order["executedQty"], order["cummulativeQuoteQty"]) == ("9.50000000", "5.93940000")
    assert order["fills"][0]["commissionAsset"] == "ADA"


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({"quantity": "12.35"}, -1013, "Filter failure: LOT_SIZE"),  # not a 0.1 step
        ({"quantity": "0.05"}, -1013, "Filter failure: LOT_SIZE"),  # below minQty 0.1
        ({"quantity": "7"}, -1013, "Filter failure: NOTIONAL"),  # 4.38 USDT < 5
        (
            {"quantity": "1e-05"},
            -1100,
            "Illegal characters found in parameter 'quantity'; "
            "legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
        ),
        ({"quantity": "1.000000001"}, -1111, "Parameter 'quantity' has too much precision."),
        (
            {"quantity": "10", "timeInForce": "GTC"},
            -1106,
            "Parameter 'timeInForce' sent when not required.",
        ),
        ({"quantity": "13"}, -2010, "Account has insufficient balance for requested action."),
        ({"symbol": "NOPEUSDT", "quantity": "10"}, -1121, "Invalid symbol."),
        ({"symbol": "BCCUSDT", "quantity": "10"}, -2010, "Market is closed."),
    ],
)
def test_order_rejections_carry_the_real_code_and_message(
    start: Any, params: dict[str, str], code: int, message: str
) -> None:
    sim, _, client = start()
    order = {"symbol": "ADAUSDT", "side": "SELL", "type": "MARKET", **params}
    error = api_error(lambda: client.create_order(**order))
    assert (error.status_code, error.code, error.message) == (400, code, message)
    assert sim.account("main").orders == []
    assert sim.account("main").wallet.get("ADA")[0] == D("12.34")


def test_halted_market_and_missing_market_orders(start: Any) -> None:
    sim, _, client = start(scenario(symbols={"ADAUSDT": {"status": "HALT"}}))
    error = api_error(lambda: client.order_market_sell(symbol="ADAUSDT", quantity="10"))
    assert (error.code, error.message) == (-2010, "Market is closed.")
    sim.set_symbol("ADAUSDT", status="TRADING", orderTypes=["LIMIT", "LIMIT_MAKER"])
    error = api_error(lambda: client.order_market_sell(symbol="ADAUSDT", quantity="10"))
    assert error.message == "Market orders are not supported for this symbol."


def test_market_lot_size_applies_only_where_its_values_are_set(start: Any) -> None:
    sim, _, client = start()
    sim.set_symbol("ADAUSDT", filters={"MARKET_LOT_SIZE": {"maxQty": "11.00000000"}})
    error = api_error(lambda: client.order_market_sell(symbol="ADAUSDT", quantity="12"))
    assert error.message == "Filter failure: MARKET_LOT_SIZE"
    assert client.order_market_sell(symbol="ADAUSDT", quantity="11")["status"] == "FILLED"


def test_notional_is_judged_at_the_average_price(start: Any) -> None:
    sim, _, client = start(scenario(avg_prices={"ADAUSDT": "0.3"}))
    # 12 ADA x 0.6252 = 7.50 by the ticker, but 12 x 0.3 = 3.60 < 5 by the average price.
    error = api_error(lambda: client.order_market_sell(symbol="ADAUSDT", quantity="12"))
    assert error.message == "Filter failure: NOTIONAL"
    sim.set_avg_price("ADAUSDT", None)
    assert client.order_market_sell(symbol="ADAUSDT", quantity="12")["status"] == "FILLED"


def test_legacy_min_notional_filter(start: Any) -> None:
    sim, _, client = start()
    legacy = {"minNotional": "10.00000000", "applyToMarket": True, "avgPriceMins": 5}
    sim.set_symbol("ADAUSDT", filters={"NOTIONAL": None, "MIN_NOTIONAL": legacy})
    error = api_error(lambda: client.order_market_sell(symbol="ADAUSDT", quantity="12"))
    assert error.message == "Filter failure: MIN_NOTIONAL"
    sim.set_symbol("ADAUSDT", filters={"MIN_NOTIONAL": {"applyToMarket": False}})
    assert client.order_market_sell(symbol="ADAUSDT", quantity="12")["status"] == "FILLED"


def test_a_rule_raised_by_an_action_fault_rejects_the_order(start: Any) -> None:
    sim, server, client = start()
    server.faults.add(
        "action",
        "/api/v3/order",
        method="POST",
        calls=1,
        action=lambda: sim.set_symbol("ADAUSDT", filters={"NOTIONAL": {"minNotional": "100"}}),
    )
    error = api_error(lambda: client.order_market_sell(symbol="ADAUSDT", quantity="12"))
    assert error.message == "Filter failure: NOTIONAL"


def test_thin_book_fills_part_and_expires(start: Any) -> None:
    sim, _, client = start(scenario(liquidity={"ADAUSDT": "8.05"}))
    order = client.order_market_sell(symbol="ADAUSDT", quantity="12.3")
    assert (order["status"], order["executedQty"]) == ("EXPIRED", "8.00000000")
    assert sim.account("main").wallet.get("ADA")[0] == D("4.34")


def test_order_query_by_id_and_client_id_and_its_trades(start: Any) -> None:
    _, _, client = start()
    placed = client.order_market_sell(symbol="ADAUSDT", quantity="10", newClientOrderId="sweep-1")
    by_id = client.get_order(symbol="ADAUSDT", orderId=placed["orderId"])
    by_client = client.get_order(symbol="ADAUSDT", origClientOrderId="sweep-1")
    assert by_id == by_client
    assert (by_id["status"], by_id["executedQty"]) == ("FILLED", "10.00000000")
    trades = client.get_my_trades(symbol="ADAUSDT", orderId=placed["orderId"])
    seen = [(t["qty"], t["quoteQty"], t["commission"], t["commissionAsset"]) for t in trades]
    assert seen == [("10.00000000", "6.25200000", "0.00625200", "USDT")]
    assert trades[0]["isBuyer"] is False
    error = api_error(lambda: client.get_order(symbol="ADAUSDT", origClientOrderId="never-sent"))
    assert (error.code, error.message) == (-2013, "Order does not exist.")


def test_filled_client_id_may_be_reused_but_not_an_open_ones(start: Any) -> None:
    sim, _, client = start()
    client.order_market_sell(symbol="ADAUSDT", quantity="8", newClientOrderId="same")
    second = client.order_market_buy(symbol="ADAUSDT", quantity="8", newClientOrderId="same")
    assert (
        client.get_order(symbol="ADAUSDT", origClientOrderId="same")["orderId"] == second["orderId"]
    )
    sim.open_order("main", "XRPUSDT", "SELL", "0.5", "9", client_order_id="resting")
    assert sim.account("main").wallet.get("XRP") == (D(0), D("0.5"))
    assert [o["clientOrderId"] for o in client.get_open_orders()] == ["resting"]
    error = api_error(
        lambda: client.order_market_sell(symbol="ADAUSDT", quantity="8", newClientOrderId="resting")
    )
    assert (error.code, error.message) == (-2010, "Duplicate order sent.")


def test_order_query_lag_hides_a_new_order_for_a_while(start: Any) -> None:
    sim, _, client = start(scenario(order_query_lag_ms=3_000))
    placed = client.order_market_sell(symbol="ADAUSDT", quantity="10", newClientOrderId="lagged")
    error = api_error(lambda: client.get_order(symbol="ADAUSDT", origClientOrderId="lagged"))
    assert error.code == -2013
    sim.clock.advance(3_000)
    assert client.get_order(symbol="ADAUSDT", orderId=placed["orderId"])["status"] == "FILLED"


def test_scenario_typos_and_inexact_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        BinanceSim.from_scenario(scenario(price={"ADAUSDT": "1"}))
    with pytest.raises(ValueError, match="not a listed symbol"):
        BinanceSim.from_scenario(scenario(symbols={"NOPEUSDT": {"status": "HALT"}}))
    with pytest.raises(ValueError, match="floats are not exact"):
        BinanceSim.from_scenario(scenario(balances={"ADA": 0.1}))
