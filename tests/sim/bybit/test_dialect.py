"""The Bybit V5 dialect driven by the real pybit client: auth, market data, account endpoints.

Helpers here (``start``, ``Bybit.http``, ``code_of``, ``follow_sim_clock``) are shared by the
other tests/sim/bybit modules.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pybit._helpers
import pytest
import requests
from pybit.exceptions import FailedRequestError, InvalidRequestError
from pybit.unified_trading import HTTP

import dustsweep.sim
from dustsweep.sim.bybit.dialect import BybitSim
from dustsweep.sim.core import SimClock
from dustsweep.sim.server import SimServer

KEY, SECRET = "demo-key", "demo-secret"
BUNDLED = Path(dustsweep.sim.__file__).parent / "data" / "bybit-instruments.json"


def section(balances: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A scenario section with one account "main" (and any extra top-level keys)."""
    account: dict[str, Any] = {"name": "main", "api_key": KEY, "api_secret": SECRET}
    account["balances"] = dict(balances or {"USDT": "100", "XRP": "10"})
    for key in ("permissions", "fee_rate"):
        if key in extra:
            account[key] = extra.pop(key)
    return {"accounts": [account], **extra}


@dataclass
class Bybit:
    sim: BybitSim
    server: SimServer

    @property
    def url(self) -> str:
        return self.server.url

    def http(self, key: str = KEY, secret: str = SECRET, **kw: Any) -> HTTP:
        session = HTTP(
            api_key=key, api_secret=secret, max_retries=1, retry_codes={-1}, retry_delay=0, **kw
        )
        session.endpoint = self.url
        return session


def start(sim_factory: Callable[[Mapping[str, Any]], Any], scenario: Mapping[str, Any]) -> Bybit:
    running = sim_factory({"bybit": scenario})
    return Bybit(running.dialect("bybit"), running.servers["bybit"])


def code_of(call: Callable[[], Any]) -> int:
    """The retCode pybit raises for ``call`` (it must fail)."""
    with pytest.raises(InvalidRequestError) as info:
        call()
    return int(info.value.status_code)


def follow_sim_clock(monkeypatch: pytest.MonkeyPatch, sim: BybitSim) -> None:
    """Make pybit stamp requests with the simulator's clock (a client that synced its offset),
    so tests can move time by hours without tripping the 10002 window."""
    monkeypatch.setattr(pybit._helpers, "generate_timestamp", sim.clock.now_ms)


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


# ----- market data -------------------------------------------------------------------------------


def test_server_time_follows_the_sim_clock(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    env.sim.clock.advance(3_600_000)
    result = env.http().get_server_time()["result"]
    assert abs(int(result["timeSecond"]) * 1000 - env.sim.clock.now_ms()) < 2000
    assert result["timeNano"].startswith(result["timeSecond"])


def test_instruments_are_the_bundled_raw_list_in_one_page(sim_factory: Any) -> None:
    bundled = json.loads(BUNDLED.read_text(encoding="utf-8"))
    env = start(sim_factory, section())
    answer = env.http().get_instruments_info(category="spot")
    assert answer["result"]["category"] == "spot"
    assert answer["result"]["list"] == bundled
    assert "nextPageCursor" not in answer["result"]
    only = env.http().get_instruments_info(category="spot", symbol="XRPUSDT")["result"]["list"]
    assert [i["symbol"] for i in only] == ["XRPUSDT"]


def test_scenario_symbol_overrides_merge_into_the_raw_filter(sim_factory: Any) -> None:
    scenario = section(
        symbols={"XRPUSDT": {"lotSizeFilter": {"minOrderAmt": "10"}}, "ADAUSDT": {"remove": True}}
    )
    env = start(sim_factory, scenario)
    session = env.http()
    rows = {i["symbol"]: i for i in session.get_instruments_info(category="spot")["result"]["list"]}
    assert rows["XRPUSDT"]["lotSizeFilter"]["minOrderAmt"] == "10"
    assert rows["XRPUSDT"]["lotSizeFilter"]["basePrecision"] == "0.01"  # untouched
    assert "ADAUSDT" not in rows
    tickers = {t["symbol"] for t in session.get_tickers(category="spot")["result"]["list"]}
    assert "ADAUSDT" not in tickers and "XRPUSDT" in tickers


def test_halted_symbol_is_only_listed_when_its_status_is_asked(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    env.sim.set_symbol("XRPUSDT", status="Closed")
    session = env.http()
    default = session.get_instruments_info(category="spot", symbol="XRPUSDT")["result"]["list"]
    closed = session.get_instruments_info(category="spot", symbol="XRPUSDT", status="Closed")
    assert default == []
    assert closed["result"]["list"][0]["status"] == "Closed"


def test_tickers_drop_prices_and_empty_bid_side(sim_factory: Any) -> None:
    env = start(sim_factory, section(drop_prices=["ADAUSDT"], prices={"XRPUSDT": "0.5"}))
    env.sim.set_price("SOLUSDT", None)
    session = env.http()
    rows = {t["symbol"]: t for t in session.get_tickers(category="spot")["result"]["list"]}
    assert "ADAUSDT" not in rows
    assert rows["XRPUSDT"]["bid1Price"] == "0.5"
    assert Decimal(rows["XRPUSDT"]["ask1Price"]) == Decimal("0.5001")  # one tick above
    assert rows["SOLUSDT"]["bid1Price"] == ""
    assert session.get_tickers(category="spot", symbol="ADAUSDT")["result"]["list"] == []
    assert code_of(lambda: session.get_tickers(category="spot", symbol="NOPEUSDT")) == 10001


# ----- account -----------------------------------------------------------------------------------


def test_wallet_balance_shape_with_locked_and_spot_borrow(sim_factory: Any) -> None:
    balances = {
        "USDT": "100",
        "XRP": {"walletBalance": "10", "locked": "1", "spotBorrow": "3"},
        "ADA": "0",
    }
    env = start(sim_factory, section(balances))
    result = env.http().get_wallet_balance(accountType="UNIFIED")["result"]
    (wallet,) = result["list"]
    assert wallet["accountType"] == "UNIFIED"
    rows = {c["coin"]: c for c in wallet["coin"]}
    assert set(rows) == {"USDT", "XRP"}  # zero coins are left out
    xrp = rows["XRP"]
    assert (xrp["walletBalance"], xrp["locked"], xrp["spotBorrow"]) == ("10", "1", "3")
    assert xrp["equity"] == "7"  # walletBalance - spotBorrow
    assert xrp["free"] == "" and xrp["availableToWithdraw"] == ""
    assert Decimal(xrp["usdValue"]) == Decimal(7) * Decimal("2.0638")
    assert env.sim.account("main").available("XRP") == Decimal(6)


def test_wallet_balance_coin_filter_and_account_type(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    session = env.http()
    rows = session.get_wallet_balance(accountType="UNIFIED", coin="XRP,BTC")["result"]["list"][0]
    assert [(c["coin"], c["walletBalance"]) for c in rows["coin"]] == [("XRP", "10"), ("BTC", "0")]
    with pytest.raises(InvalidRequestError) as info:
        session.get_wallet_balance(accountType="SPOT")
    assert (info.value.status_code, info.value.message) == (
        10001,
        "accountType only support UNIFIED.",
    )


def test_fee_rate_follows_the_account(sim_factory: Any) -> None:
    env = start(sim_factory, section(fee_rate="0.0018"))
    rows = env.http().get_fee_rates(category="spot", symbol="XRPUSDT")["result"]["list"]
    assert rows == [{"symbol": "XRPUSDT", "takerFeeRate": "0.0018", "makerFeeRate": "0.0018"}]


def test_scenario_rejects_unknown_keys() -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        BybitSim.from_scenario(section(avg_prices={}))
    bad = section()
    bad["accounts"][0]["balance"] = {}
    with pytest.raises(ValueError, match="unknown keys"):
        BybitSim.from_scenario(bad)


def test_concurrent_sells_keep_balances_exact(sim_factory: Any) -> None:
    env = start(sim_factory, section({"XRP": "80", "USDT": "0"}))
    errors: list[BaseException] = []

    def sell(n: int) -> None:
        try:
            env.http().place_order(
                category="spot",
                symbol="XRPUSDT",
                side="Sell",
                orderType="Market",
                qty="10",
                orderLinkId=f"c-{n}",
            )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sell, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    wallet = env.sim.account("main").wallet
    assert wallet.get("XRP")[0] == 0
    assert wallet.get("USDT")[0] == Decimal(80) * Decimal("2.0638") * Decimal("0.999")
