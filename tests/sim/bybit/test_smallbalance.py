"""Small-balance conversion (/v5/asset/covert/*) on the Bybit dialect, driven by the real pybit
client. Regular Convert is in test_convert."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pybit.unified_trading import HTTP

from tests.sim.bybit.helpers import DUST, UTA, code_of, dust_section, follow_sim_clock, start


def quote(session: HTTP, coins: list[str], to: str = "USDT") -> dict[str, Any]:
    answer: dict[str, Any] = session.request_a_quote_small_balance(
        accountType=UTA, fromCoinList=coins, toCoin=to
    )
    return answer["result"]


def history(session: HTTP, **kw: Any) -> dict[str, Any]:
    answer: dict[str, Any] = session.get_exchange_history_small_balance(accountType=UTA, **kw)
    return answer["result"]


def test_small_balance_list_shape_and_eligibility(sim_factory: Any) -> None:
    balances = {**DUST, "BTC": "0.1", "GAL": "3", "ADA": "1.5"}
    env = start(sim_factory, dust_section(balances, conversion={"ineligible": ["ADA"]}))
    result = env.http().get_small_balance_coins(accountType=UTA)["result"]
    assert result["supportToCoins"] == ["MNT", "USDT", "USDC"]
    rows = {c["fromCoin"]: c for c in result["smallAssetCoins"]}
    assert set(rows) == {"SOL", "XRP", "GAL", "ADA"}  # BTC is worth > 10 USDT; USDT is a target
    assert rows["XRP"]["supportConvert"] == 1
    assert Decimal(rows["XRP"]["availableBalance"]) == Decimal("0.2")
    assert Decimal(rows["XRP"]["baseValue"]) == Decimal("0.4")
    assert rows["GAL"]["supportConvert"] == 2  # no market to value it
    assert rows["ADA"]["supportConvert"] == 2  # scenario says ineligible
    assert rows["SOL"]["feeInfo"] is None and rows["SOL"]["toAmount"] == ""
    one = env.http().get_small_balance_coins(accountType=UTA, fromCoin="SOL")["result"]
    assert [c["fromCoin"] for c in one["smallAssetCoins"]] == ["SOL"]
    assert code_of(lambda: env.http().get_small_balance_coins(accountType="UNIFIED")) == 700000


def test_quote_prices_each_coin_with_the_fee_in_the_target(sim_factory: Any) -> None:
    env = start(sim_factory, dust_section())
    result = quote(env.http(), ["SOL", "XRP"], "USDT")
    assert len(result["quoteId"]) == 28
    inner = result["result"]
    assert int(inner["quoteExpireTime"]) - int(inner["quoteCreateTime"]) == 30_000
    lines = {c["fromCoin"]: c for c in inner["exchangeCoins"]}
    values = {"SOL": Decimal("0.0003"), "XRP": Decimal("0.4")}
    for coin, value in values.items():
        line = lines[coin]
        assert line["supportConvert"] == 1 and line["toCoin"] == "USDT"
        assert Decimal(line["feeInfo"]["amount"]) == value * Decimal("0.02")
        assert Decimal(line["toAmount"]) == value * Decimal("0.98")
        assert line["feeInfo"] == {**line["feeInfo"], "feeCoin": "USDT", "feeRate": "0.02"}
    total = inner["totalFeeInfo"]
    assert Decimal(total["amount"]) == sum(values.values()) * Decimal("0.02")


def test_quote_refuses_more_than_twenty_coins(sim_factory: Any) -> None:
    coins = [f"C{n:02d}" for n in range(21)]
    balances = dict.fromkeys(coins, "1")
    usd = dict.fromkeys(coins, "0.01")
    env = start(sim_factory, dust_section(balances, conversion={"usd_prices": usd}))
    session = env.http()
    assert code_of(lambda: quote(session, coins)) == 700000
    assert len(quote(session, coins[:20])["result"]["exchangeCoins"]) == 20


def test_quote_refuses_an_unsupported_target(sim_factory: Any) -> None:
    env = start(sim_factory, dust_section())
    assert code_of(lambda: quote(env.http(), ["SOL"], "BTC")) == 700002
    assert quote(env.http(), ["SOL"], "MNT")["result"]["exchangeCoins"][0]["toCoin"] == "MNT"


def test_quote_total_value_limits(sim_factory: Any) -> None:
    env = start(sim_factory, dust_section({"SOL": "0.00000000001", "XRP": "0.2"}))
    assert code_of(lambda: quote(env.http(), ["SOL"])) == 700006  # 1e-9 USDT
    capped = start(sim_factory, dust_section(conversion={"max_total": "0.1"}))
    assert code_of(lambda: quote(capped.http(), ["XRP"])) == 700007  # 0.4 USDT


def test_execute_moves_balances_and_history_turns_final_on_a_later_query(
    sim_factory: Any,
) -> None:
    env = start(sim_factory, dust_section())
    session = env.http()
    result = quote(session, ["SOL", "XRP"])
    quote_id = result["quoteId"]
    executed = session.confirm_a_quote_small_balance(quoteId=quote_id)["result"]
    assert executed["status"] == "processing"
    assert executed["exchangeTxId"] == quote_id
    received = sum(Decimal(c["toAmount"]) for c in result["result"]["exchangeCoins"])
    wallet = env.sim.account("main").wallet
    assert wallet.get("SOL")[0] == 0 and wallet.get("XRP")[0] == 0
    assert wallet.get("USDT")[0] == 5 + received
    first = history(session, quoteId=quote_id)
    assert [r["status"] for r in first["records"]] == ["processing"]
    second = history(session, quoteId=quote_id)
    (record,) = second["records"]
    assert record["status"] == "success"
    assert record["exchangeSource"] == "small_asset_uta"
    assert Decimal(record["toAmount"]) == received
    subs = {s["fromCoin"]: s for s in record["subRecords"]}
    assert {s["status"] for s in subs.values()} == {"success"}
    assert Decimal(subs["XRP"]["fromAmount"]) == Decimal("0.2")
    assert Decimal(subs["XRP"]["feeAmount"]) == Decimal("0.4") * Decimal("0.02")
    assert (second["cursor"], second["totalCount"], second["lastPage"]) == ("1", "1", "1")


def test_partial_fulfilment_when_one_coin_fails(sim_factory: Any) -> None:
    env = start(sim_factory, dust_section(conversion={"fail_coins": ["XRP"], "settle_ms": 0}))
    session = env.http()
    result = quote(session, ["SOL", "XRP"])
    session.confirm_a_quote_small_balance(quoteId=result["quoteId"])
    (record,) = history(session, quoteId=result["quoteId"])["records"]
    assert record["status"] == "partial_fulfillment"
    subs = {s["fromCoin"]: s["status"] for s in record["subRecords"]}
    assert subs == {"SOL": "success", "XRP": "failure"}
    wallet = env.sim.account("main").wallet
    assert wallet.get("XRP")[0] == Decimal("0.2") and wallet.get("SOL")[0] == 0
    assert Decimal(record["toAmount"]) == Decimal("0.0003") * Decimal("0.98")


def test_history_turns_final_after_settle_time_without_polling(
    sim_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = start(sim_factory, dust_section(conversion={"settle_ms": 10_000}))
    follow_sim_clock(monkeypatch, env.sim)
    session = env.http()
    quote_id = quote(session, ["XRP"])["quoteId"]
    session.confirm_a_quote_small_balance(quoteId=quote_id)
    env.sim.clock.advance(10_000)
    assert history(session, quoteId=quote_id)["records"][0]["status"] == "success"


def test_expired_quote_is_700008_and_moves_nothing(
    sim_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = start(sim_factory, dust_section())
    follow_sim_clock(monkeypatch, env.sim)
    session = env.http()
    quote_id = quote(session, ["XRP"])["quoteId"]
    env.sim.clock.advance(30_001)
    assert code_of(lambda: session.confirm_a_quote_small_balance(quoteId=quote_id)) == 700008
    assert env.sim.account("main").wallet.get("XRP")[0] == Decimal("0.2")
    assert history(session)["records"] == []


def test_quote_used_twice_is_700009(sim_factory: Any) -> None:
    env = start(sim_factory, dust_section())
    session = env.http()
    quote_id = quote(session, ["XRP"])["quoteId"]
    session.confirm_a_quote_small_balance(quoteId=quote_id)
    assert code_of(lambda: session.confirm_a_quote_small_balance(quoteId=quote_id)) == 700009
    assert code_of(lambda: session.confirm_a_quote_small_balance(quoteId="123")) == 700004


def test_another_accounts_quote_is_an_illegal_operation(sim_factory: Any) -> None:
    scenario = dust_section()
    other = {"name": "other", "api_key": "k2", "api_secret": "s2", "balances": dict(DUST)}
    scenario["accounts"].append(other)
    env = start(sim_factory, scenario)
    quote_id = quote(env.http(), ["XRP"])["quoteId"]
    intruder = env.http(key="k2", secret="s2")
    assert code_of(lambda: intruder.confirm_a_quote_small_balance(quoteId=quote_id)) == 700011


def test_processing_conversion_and_cooldown_block_a_new_one(
    sim_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = start(sim_factory, dust_section(conversion={"cooldown_hours": 6}))
    follow_sim_clock(monkeypatch, env.sim)
    session = env.http()
    session.confirm_a_quote_small_balance(quoteId=quote(session, ["XRP"])["quoteId"])
    assert code_of(lambda: quote(session, ["SOL"])) == 700021  # still processing
    env.sim.clock.advance(3_600_000)
    assert code_of(lambda: quote(session, ["SOL"])) == 700021  # cool-down
    env.sim.clock.advance(5 * 3_600_000)
    assert quote(session, ["SOL"])["result"]["exchangeCoins"][0]["supportConvert"] == 1


def test_history_pages_by_page_number(sim_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    env = start(sim_factory, dust_section())
    follow_sim_clock(monkeypatch, env.sim)
    session = env.http()
    ids = []
    for coin in ("XRP", "SOL"):
        ids.append(quote(session, [coin])["quoteId"])
        session.confirm_a_quote_small_balance(quoteId=ids[-1])
        env.sim.clock.advance(5_000)
    page1 = history(session, size=1)
    page2 = history(session, size=1, cursor=2)
    assert (page1["totalCount"], page1["lastPage"]) == ("2", "2")
    assert [page1["records"][0]["exchangeTxId"], page2["records"][0]["exchangeTxId"]] == ids[::-1]
