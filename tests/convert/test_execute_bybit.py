"""`dustsweep convert` on Bybit ("Convert Small Balances") through pybit and the simulator.

Bybit quotes at most 20 coins at a time, each quote lives 30 s, execution is asynchronous and a
batch can be converted in part: each is checked on the exchange's side (balances, quotes,
history records) and in the ledger.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from dustsweep.convert.caps import fetch_previews
from dustsweep.convert.cooldown import check_cooldown
from dustsweep.convert.execute import execute_conversion
from dustsweep.core.policy import Policy
from dustsweep.errors import ConversionRejected, CooldownActive, ExitCode
from tests.convert.test_execute import KEY, SECRET, DeskFactory
from tests.convert.test_execute import desk as desk  # the fixture
from tests.paths import SIM_DATA

D = Decimal
DATA = SIM_DATA
SB_QUOTE = "/v5/asset/covert/get-quote"
SB_EXECUTE = "/v5/asset/covert/small-balance-execute"
SB_HISTORY = "/v5/asset/covert/small-balance-history"
POLICY = Policy(quote="USDT")


def bids() -> dict[str, Decimal]:
    body = json.loads((DATA / "bybit-tickers.json").read_text())
    return {t["symbol"]: D(t["bid1Price"]) for t in body["result"]["list"] if t.get("bid1Price")}


def dust(coins: list[str], value: str = "0.5") -> dict[str, str]:
    """Balances worth about ``value`` USDT each at the bundled bids."""
    prices = bids()
    return {
        coin: format((D(value) / prices[f"{coin}USDT"]).quantize(D("0.00000001")), "f")
        for coin in coins
    }


def bybit_section(balances: dict[str, str], **conversion: Any) -> dict[str, Any]:
    account = {"name": "main", "api_key": KEY, "api_secret": SECRET, "balances": balances}
    return {"accounts": [account], "conversion": conversion}


def test_small_balances_into_usdt_with_the_quote_id_as_client_id(desk: DeskFactory) -> None:
    d = desk("bybit", bybit_section({**dust(["XRP", "ADA", "DOGE"]), "USDT": "0.3"}))
    plan = d.plan("USDT")
    assert sorted(c.asset for c in plan.conversions) == ["ADA", "DOGE", "XRP"]
    outcome = execute_conversion(plan, d.context())
    assert outcome.status == "converted" and outcome.exit_code_hint is ExitCode.OK
    (record,) = d.dialect.account("main").conversions  # one execution on the exchange
    assert all(d.free(coin) == 0 for coin in ("XRP", "ADA", "DOGE"))
    subs = {s.from_coin: s for s in record.subs}
    for line in outcome.lines:
        assert line.client_id == line.transfer_id == record.tx_id  # the quote id
        assert (line.received, line.fee) == (subs[line.asset].to_amount, subs[line.asset].fee)
        # 2 % of the gross: fee / (received + fee)
        assert (line.fee / (line.received + line.fee)).quantize(D("0.0001")) == D("0.02")
    assert d.free("USDT") == D("0.3") + sum(s.to_amount for s in record.subs)
    for asset, rec in d.records().items():
        assert rec.status == "converted" and rec.client_id == record.tx_id
        assert rec.received_qty == subs[asset].to_amount + subs[asset].fee
    assert d.count("POST", SB_EXECUTE) == 1


def test_more_than_twenty_coins_go_in_several_quotes(desk: DeskFactory) -> None:
    prices = bids()
    coins = sorted(
        s[: -len("USDT")] for s in prices if s.endswith("USDT") and s[:-4] not in {"USDC", "MNT"}
    )[:23]
    d = desk("bybit", bybit_section(dust(coins, "0.2")))
    plan = d.plan("USDC")
    assert len(plan.conversions) == 23 and len(plan.previews) == 2
    outcome = execute_conversion(plan, d.context())
    assert outcome.status == "converted"
    executed = d.dialect.account("main").conversions
    assert sorted(len(r.subs) for r in executed) == [3, 20]
    assert d.count("POST", SB_EXECUTE) == 2
    assert len({line.client_id for line in outcome.lines}) == 2
    assert all(d.free(coin) == 0 for coin in coins)


def test_partly_failed_batch_reports_the_failed_coin(desk: DeskFactory) -> None:
    d = desk("bybit", bybit_section(dust(["XRP", "ADA", "DOGE"]), fail_coins=["ADA"]))
    outcome = execute_conversion(d.plan("USDT"), d.context())
    status = {line.asset: line.status for line in outcome.lines}
    assert status == {"XRP": "converted", "DOGE": "converted", "ADA": "failed"}
    assert outcome.status == "partial" and outcome.exit_code_hint is ExitCode.PARTIAL
    assert d.free("ADA") == D(dust(["ADA"])["ADA"]) and d.free("XRP") == 0
    records = d.records()
    assert records["ADA"].status == "failed" and records["XRP"].status == "converted"


def test_a_quote_that_aged_during_confirmation_is_replaced_before_executing(
    desk: DeskFactory,
) -> None:
    d = desk("bybit", bybit_section(dust(["XRP", "ADA"])))
    plan = d.plan("USDT")
    planned_quote = plan.previews[0].quote_id
    d.advance(31_000)  # the user took a while to confirm
    outcome = execute_conversion(plan, d.context())
    assert outcome.status == "converted"
    (record,) = d.dialect.account("main").conversions
    assert record.tx_id != planned_quote and d.count("POST", SB_EXECUTE) == 1


def test_a_quote_that_expires_at_execution_is_quoted_again_once(desk: DeskFactory) -> None:
    d = desk("bybit", bybit_section(dust(["XRP", "ADA"])))
    plan = d.plan("USDT")
    sim = d.dialect

    def expire_every_quote() -> None:
        for quote in sim.small_balance.quotes.values():
            quote.expire_ms = 0

    d.server.faults.add("action", SB_EXECUTE, calls=1, action=expire_every_quote)
    outcome = execute_conversion(plan, d.context())
    assert outcome.status == "converted"
    assert d.count("POST", SB_EXECUTE) == 2 and len(sim.account("main").conversions) == 1
    history = d.ledger.records(kind="conversion")
    failed = [r for r in history if r.status == "failed"]
    assert {r.asset for r in failed} == {"XRP", "ADA"}
    assert all("expired" in (r.error or "") for r in failed)
    assert {r.asset for r in history if r.status == "converted"} == {"XRP", "ADA"}


def test_a_quote_expiring_twice_fails_without_a_third_try(desk: DeskFactory) -> None:
    d = desk("bybit", bybit_section(dust(["XRP"])))
    plan = d.plan("USDT")
    sim = d.dialect

    def expire_every_quote() -> None:
        for quote in sim.small_balance.quotes.values():
            quote.expire_ms = 0

    d.server.faults.add("action", SB_EXECUTE, action=expire_every_quote)
    outcome = execute_conversion(plan, d.context())
    (line,) = outcome.lines
    assert line.status == "failed" and "expired" in (line.error or "")
    assert d.count("POST", SB_EXECUTE) == 2 and d.free("XRP") > 0
    assert outcome.exit_code_hint is ExitCode.PARTIAL


def test_keep_list_coin_is_left_out_of_the_quote(desk: DeskFactory) -> None:
    d = desk("bybit", bybit_section(dust(["XRP", "ADA", "DOGE"])))
    plan = d.plan("USDT", Policy(quote="USDT", keep=frozenset({"ADA"})))
    assert dict(plan.skipped)["ADA"] == "in keep list"
    outcome = execute_conversion(plan, d.context())
    assert outcome.status == "converted"
    (record,) = d.dialect.account("main").conversions
    assert sorted(s.from_coin for s in record.subs) == ["DOGE", "XRP"]
    assert d.free("ADA") == D(dust(["ADA"])["ADA"])
    assert all(r.order_id == record.tx_id for r in d.records().values())


def test_unsupported_target_names_bybits_targets(desk: DeskFactory) -> None:
    d = desk("bybit", bybit_section(dust(["XRP"])))
    with pytest.raises(ConversionRejected) as err:
        fetch_previews(d.exchange, "BNB")
    assert err.value.kind == "unsupported_target"
    assert "MNT, USDT, USDC" in str(err.value)


def test_no_local_cooldown_check_on_bybit_but_its_refusal_is_reported(desk: DeskFactory) -> None:
    d = desk("bybit", bybit_section(dust(["XRP", "ADA"]), cooldown_hours=6))
    execute_conversion(d.plan("USDT", assets=frozenset({"XRP"})), d.context())
    before = d.server.faults.counts()
    check_cooldown(d.exchange, d.ledger, "main", 6 * 3600, d.context().server_now_ms())
    assert d.server.faults.counts() == before  # no cool-down capability: nothing asked
    with pytest.raises(CooldownActive) as err:
        fetch_previews(d.exchange, "USDT")  # 700021 from the exchange itself
    assert "try again later" in str(err.value)
