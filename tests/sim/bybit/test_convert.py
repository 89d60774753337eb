"""Regular Convert (/v5/asset/exchange/*, quote-based) on the Bybit dialect, driven by the
real pybit client."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pybit.unified_trading import HTTP

from tests.sim.bybit.helpers import KEY, SECRET, UTA, code_of, dust_section, follow_sim_clock, start


def test_regular_convert_minimum_quote_execute_and_result(sim_factory: Any) -> None:
    env = start(sim_factory, dust_section({"XRP": "20", "USDT": "0"}))
    session = env.http()
    coins = {
        c["coin"]: c for c in session.get_convert_coin_list(accountType=UTA)["result"]["coins"]
    }
    assert Decimal(coins["XRP"]["singleFromMinLimit"]) == 5  # 10 USDT at 2 USDT
    assert Decimal(coins["XRP"]["balance"]) == 20

    def apply(amount: str) -> dict[str, Any]:
        answer: dict[str, Any] = session.request_a_quote(
            accountType=UTA, fromCoin="XRP", toCoin="USDT", requestCoin="XRP", requestAmount=amount
        )
        return answer["result"]

    assert code_of(lambda: apply("4")) == 700006
    assert code_of(lambda: apply("21")) == 700005
    offer = apply("10")
    assert int(offer["expiredTime"]) > 0 and Decimal(offer["toAmount"]) == 20
    tx = offer["quoteTxId"]
    assert session.confirm_a_quote(quoteTxId=tx)["result"]["exchangeStatus"] == "processing"
    assert code_of(lambda: session.confirm_a_quote(quoteTxId=tx)) == 700009
    wallet = env.sim.account("main").wallet
    assert (wallet.get("XRP")[0], wallet.get("USDT")[0]) == (10, 20)
    status = session.get_convert_status(quoteTxId=tx, accountType=UTA)["result"]["result"]
    assert status["fromCoin"] == "XRP" and Decimal(status["fromAmount"]) == 10
    listed = session.get_convert_history(accountType=UTA)["result"]["list"]
    assert [r["exchangeTxId"] for r in listed] == [tx]


def test_regular_convert_quote_expires_after_15s(
    sim_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = start(sim_factory, dust_section({"XRP": "20"}))
    follow_sim_clock(monkeypatch, env.sim)
    session = HTTP(api_key=KEY, api_secret=SECRET, max_retries=1, retry_codes={-1})
    session.endpoint = env.url
    offer = session.request_a_quote(
        accountType=UTA, fromCoin="XRP", toCoin="USDT", requestCoin="XRP", requestAmount="10"
    )["result"]
    env.sim.clock.advance(15_001)
    assert code_of(lambda: session.confirm_a_quote(quoteTxId=offer["quoteTxId"])) == 700008
    assert env.sim.account("main").wallet.get("XRP")[0] == 20
