"""Bybit V5 signing, permissions and key information on the simulator, driven by the real
pybit client."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal
from typing import Any

import pytest
import requests
from pybit.exceptions import FailedRequestError, InvalidRequestError

from dustsweep.sim.bybit.dialect import BybitSim
from dustsweep.sim.core import SimClock
from dustsweep.sim.server import SimServer
from tests.sim.bybit.helpers import (
    KEY,
    SECRET,
    Bybit,
    code_of,
    section,
    start,
)

# ----- signing -----------------------------------------------------------------------------------


def test_good_signature_is_accepted(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    answer = env.http().get_wallet_balance(accountType="UNIFIED")
    assert answer["retCode"] == 0
    assert set(answer) == {"retCode", "retMsg", "result", "retExtInfo", "time"}


def test_wrong_secret_is_10004_with_the_origin_string(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    with pytest.raises(InvalidRequestError) as info:
        env.http(secret="not-the-secret").get_wallet_balance(accountType="UNIFIED")
    assert info.value.status_code == 10004
    assert info.value.message.startswith("error sign! origin_string[")
    assert f"{KEY}5000accountType=UNIFIED]" in info.value.message


def test_unknown_key_is_10003(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    assert (
        code_of(lambda: env.http(key="nobody").get_wallet_balance(accountType="UNIFIED")) == 10003
    )


def _signed_post(url: str, path: str, body: bytes, signed_over: bytes) -> dict[str, Any]:
    timestamp = str(int(time.time() * 1000))
    prefix = (timestamp + KEY + "5000").encode()
    sign = hmac.new(SECRET.encode(), prefix + signed_over, hashlib.sha256).hexdigest()
    headers = {
        "X-BAPI-API-KEY": KEY,
        "X-BAPI-TIMESTAMP": timestamp,
        "X-BAPI-RECV-WINDOW": "5000",
        "X-BAPI-SIGN": sign,
        "Content-Type": "application/json",
    }
    answer: dict[str, Any] = requests.post(url + path, data=body, headers=headers, timeout=5).json()
    return answer


def test_signature_is_checked_over_the_raw_body_not_a_reserialisation(sim_factory: Any) -> None:
    """Same JSON, different bytes: only the bytes actually sent verify."""
    env = start(sim_factory, section())
    params = {"category": "spot", "symbol": "XRPUSDT", "side": "Sell", "orderType": "Market"}
    params["qty"] = "5"
    compact = json.dumps(params, separators=(",", ":")).encode()
    spaced = json.dumps(params).encode()
    refused = _signed_post(env.url, "/v5/order/create", spaced, signed_over=compact)
    assert refused["retCode"] == 10004
    assert env.sim.account("main").orders == []
    accepted = _signed_post(env.url, "/v5/order/create", compact, signed_over=compact)
    assert accepted["retCode"] == 0
    assert len(env.sim.account("main").orders) == 1


def test_server_clock_ahead_is_10002_with_the_real_message(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    env.sim.clock.advance(6_000)  # the client's timestamp is now older than recv_window
    with pytest.raises(InvalidRequestError) as info:
        env.http().get_wallet_balance(accountType="UNIFIED")
    assert info.value.status_code == 10002
    assert "req_timestamp[" in info.value.message and "recv_window[5000]" in info.value.message


def test_client_clock_a_second_ahead_is_10002_even_with_a_wide_window(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    env.sim.clock.advance(-1_500)
    session = env.http(recv_window=60_000)
    assert code_of(lambda: session.get_wallet_balance(accountType="UNIFIED")) == 10002


def test_wider_recv_window_accepts_an_old_timestamp(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    env.sim.clock.advance(6_000)
    assert env.http(recv_window=20_000).get_wallet_balance(accountType="UNIFIED")["retCode"] == 0


# ----- permissions and key information -----------------------------------------------------------


def test_read_only_key_reads_but_cannot_trade(sim_factory: Any) -> None:
    env = start(sim_factory, section(permissions={"readOnly": 1}))
    session = env.http()
    assert session.get_wallet_balance(accountType="UNIFIED")["retCode"] == 0
    with pytest.raises(InvalidRequestError) as info:
        session.place_order(
            category="spot", symbol="XRPUSDT", side="Sell", orderType="Market", qty="5"
        )
    assert info.value.status_code == 10005
    assert info.value.message == "Permission denied, please check your API key permissions."
    assert env.sim.account("main").wallet.get("XRP")[0] == Decimal(10)


def test_key_without_exchange_permission_cannot_convert(sim_factory: Any) -> None:
    env = start(sim_factory, section(permissions={"permissions": {"Exchange": []}}))
    session = env.http()
    assert code_of(lambda: session.get_small_balance_coins(accountType="eb_convert_uta")) == 10005
    info = session.get_api_key_information()["result"]
    assert info["permissions"]["Exchange"] == []
    assert info["permissions"]["Spot"] == ["SpotTrade"]  # the rest keeps its default


def test_query_api_has_the_real_shape(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    info = env.http().get_api_key_information()["result"]
    assert info["apiKey"] == KEY and info["secret"] == ""
    assert info["readOnly"] == 0 and info["uta"] == 1
    assert info["permissions"]["Exchange"] == ["ExchangeHistory"]
    assert {"ips", "type", "deadlineDay", "expiredAt", "vipLevel", "kycLevel"} <= set(info)
    assert env.http().get_account_info()["result"]["unifiedMarginStatus"] == 5


def test_private_answers_carry_rate_limit_headers(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    _body, _elapsed, headers = env.http(return_response_headers=True).get_fee_rates(
        category="spot", symbol="XRPUSDT"
    )
    assert headers["X-Bapi-Limit"] == "5"
    assert headers["X-Bapi-Limit-Status"] == "4"
    assert int(headers["X-Bapi-Limit-Reset-Timestamp"]) > 0


class _FrozenClock(SimClock):
    """Time stands still: six calls surely land in one rate-limit second."""

    def __init__(self) -> None:
        super().__init__()
        self._frozen = int(time.time() * 1000)

    def now_ms(self) -> int:
        return self._frozen


def test_rate_limits_when_enabled_answer_10006_with_the_reset_header() -> None:
    sim = BybitSim.from_scenario(section(rate_limits=True), clock=_FrozenClock())
    with SimServer(sim) as server:
        env = Bybit(sim, server)
        session = env.http()
        for _ in range(5):
            session.get_fee_rates(category="spot", symbol="XRPUSDT")
        with pytest.raises(InvalidRequestError) as info:
            session.get_fee_rates(category="spot", symbol="XRPUSDT")
    assert info.value.status_code == 10006
    assert int(info.value.resp_headers["X-Bapi-Limit-Reset-Timestamp"]) == sim.clock.now_ms() + 1000


def test_unknown_path_is_http_404(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    assert requests.get(env.url + "/v5/nope", timeout=5).status_code == 404
    session = env.http()
    with pytest.raises(FailedRequestError) as info:
        session._submit_request(method="GET", path=env.url + "/v5/market/nothing-here")
    assert info.value.status_code == 404
