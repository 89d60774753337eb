"""Binance signing, keys and clock on the simulator, driven by the real python-binance client."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from dustsweep.sim.binance.auth import check_signature
from dustsweep.sim.binance.wire import BinanceError
from dustsweep.sim.core import SimRequest
from tests.sim.binance.helpers import (
    KEY,
    SECRET,
    D,
    api_error,
    connect,
    scenario,
    sync_clock,
)

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
