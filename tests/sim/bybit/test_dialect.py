"""The Bybit V5 dialect driven by the real pybit client: market data and account endpoints."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any

import pytest
from pybit.exceptions import InvalidRequestError

from dustsweep.sim.bybit.dialect import BybitSim
from tests.sim.bybit.helpers import (
    BUNDLED,
    code_of,
    section,
    start,
)

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
