"""Spot orders on the Bybit dialect through the real pybit client: rejections, fills, fees,
order and fill queries, the query lag, limited liquidity."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pybit.unified_trading import HTTP

from tests.sim.bybit.helpers import code_of, section, start

XRP_BID = Decimal("2.0638")  # bundled XRPUSDT ticker
XRP_ASK = Decimal("2.0639")


def sell(session: HTTP, qty: str, symbol: str = "XRPUSDT", **kw: Any) -> dict[str, Any]:
    answer: dict[str, Any] = session.place_order(
        category="spot", symbol=symbol, side="Sell", orderType="Market", qty=qty, **kw
    )
    return answer


def only_order(session: HTTP, link_id: str) -> dict[str, Any]:
    rows = session.get_open_orders(category="spot", orderLinkId=link_id)["result"]["list"]
    assert len(rows) == 1
    row: dict[str, Any] = rows[0]
    return row


@pytest.mark.parametrize(
    ("order", "code"),
    [
        ({"qty": "1.234"}, 170137),  # basePrecision 0.01
        ({"qty": "2.5"}, 170136),  # minOrderQty 2.63
        ({"qty": "1e-05"}, 170130),  # exponent text is not a decimal Bybit accepts
        ({"qty": "5", "symbol": "NOPEUSDT"}, 170121),
        ({"qty": "5", "symbol": "ADAUSDT"}, 170157),  # status Closed
        ({"qty": "5", "symbol": "SOLUSDT"}, 170157),  # listed, no ticker
        ({"qty": "7.5"}, 170131),  # 10 - 1 locked - 3 borrowed = 6 sellable
        ({"qty": "5", "orderLinkId": "x" * 37}, 10001),
        ({"qty": "5", "orderLinkId": "bad id!"}, 10001),
        ({"qty": "5", "isLeverage": 1}, 10001),
        ({"qty": "5.1234567", "side": "Buy", "marketUnit": "quoteCoin"}, 170148),
        ({"qty": "0.5", "side": "Buy"}, 170140),  # quote amount below minOrderAmt 1
    ],
)
def test_rejections_leave_the_account_untouched(
    sim_factory: Any, order: dict[str, Any], code: int
) -> None:
    balances = {"USDT": "100", "XRP": {"walletBalance": "10", "locked": "1", "spotBorrow": "3"}}
    env = start(sim_factory, section(balances, drop_prices=["SOLUSDT"]))
    env.sim.set_symbol("ADAUSDT", status="Closed")
    params = {"category": "spot", "symbol": "XRPUSDT", "side": "Sell", "orderType": "Market"}
    params.update(order)
    assert code_of(lambda: env.http().place_order(**params)) == code
    account = env.sim.account("main")
    assert account.orders == [] and account.executions == []
    assert account.wallet.get("XRP") == (Decimal(9), Decimal(1))
    assert account.wallet.get("USDT") == (Decimal(100), Decimal(0))


def test_order_value_below_min_order_amt_is_170140(sim_factory: Any) -> None:
    env = start(sim_factory, section(symbols={"XRPUSDT": {"lotSizeFilter": {"minOrderAmt": "10"}}}))
    # 4.84 x 2.0638 = 9.99 < 10; 4.85 x 2.0638 = 10.009 >= 10 (value judged at bid1Price)
    assert code_of(lambda: sell(env.http(), "4.84")) == 170140
    assert sell(env.http(), "4.85")["retCode"] == 0


def test_duplicate_order_link_id_is_refused_forever(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    session = env.http()
    sell(session, "3", orderLinkId="dust-1")
    assert code_of(lambda: sell(session, "3", orderLinkId="dust-1")) == 170141
    assert [o.link_id for o in env.sim.account("main").orders] == ["dust-1"]
    assert env.sim.account("main").wallet.get("XRP")[0] == Decimal(7)


def test_filled_sell_moves_balances_exactly_with_the_fee_in_quote(sim_factory: Any) -> None:
    env = start(sim_factory, section({"XRP": "12.345", "USDT": "1"}, fee_rate="0.001"))
    session = env.http()
    ack = sell(session, "12.34", orderLinkId="dust-xrp")
    assert set(ack["result"]) == {"orderId", "orderLinkId"}  # ack only, no fill data
    value = Decimal("12.34") * XRP_BID
    fee = value * Decimal("0.001")
    wallet = env.sim.account("main").wallet
    assert wallet.get("XRP")[0] == Decimal("0.005")
    assert wallet.get("USDT")[0] == 1 + value - fee
    order = only_order(session, "dust-xrp")
    assert order["orderId"] == ack["result"]["orderId"]
    assert order["orderStatus"] == "Filled"
    assert order["marketUnit"] == "baseCoin"
    assert Decimal(order["cumExecQty"]) == Decimal("12.34")
    assert Decimal(order["cumExecValue"]) == value
    assert Decimal(order["avgPrice"]) == XRP_BID
    assert {k: Decimal(v) for k, v in order["cumFeeDetail"].items()} == {"USDT": fee}


def test_market_buy_leaves_the_fee_in_the_base_coin(sim_factory: Any) -> None:
    env = start(sim_factory, section({"USDT": "10"}))
    session = env.http()
    session.place_order(
        category="spot",
        symbol="XRPUSDT",
        side="Buy",
        orderType="Market",
        qty="10",
        orderLinkId="buy-1",
    )
    fills = session.get_executions(category="spot", orderLinkId="buy-1")["result"]["list"]
    assert len(fills) == 1
    got = Decimal(fills[0]["execQty"])
    assert fills[0]["feeCurrency"] == "XRP"
    assert got * XRP_ASK <= 10 < (got + Decimal("0.01")) * XRP_ASK  # whole steps within 10 USDT
    wallet = env.sim.account("main").wallet
    assert wallet.get("XRP")[0] == got - Decimal(fills[0]["execFee"])
    assert wallet.get("XRP")[0] % Decimal("0.01") != 0  # the fee made dust
    assert wallet.get("USDT")[0] == 10 - got * XRP_ASK


def test_order_queries_by_link_id_open_only_and_history(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    session = env.http()
    sell(session, "3", orderLinkId="m-1")
    session.place_order(
        category="spot",
        symbol="XRPUSDT",
        side="Sell",
        orderType="Limit",
        qty="3",
        price="9",
        orderLinkId="l-1",
    )
    open_rows = session.get_open_orders(category="spot")["result"]["list"]
    assert [o["orderLinkId"] for o in open_rows] == ["l-1"]  # the filled market order is closed
    assert only_order(session, "m-1")["orderStatus"] == "Filled"  # by id: whatever its state
    both = session.get_open_orders(category="spot", openOnly=1)["result"]["list"]
    assert {o["orderLinkId"] for o in both} == {"m-1", "l-1"}
    history = session.get_order_history(category="spot", orderStatus="Filled")["result"]["list"]
    assert [o["orderLinkId"] for o in history] == ["m-1"]
    xrp = session.get_wallet_balance(accountType="UNIFIED", coin="XRP")["result"]["list"][0]
    assert xrp["coin"][0]["locked"] == "3" and xrp["coin"][0]["walletBalance"] == "7"


def test_cancel_unlocks_a_resting_limit_order(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    session = env.http()
    session.place_order(
        category="spot",
        symbol="XRPUSDT",
        side="Sell",
        orderType="Limit",
        qty="4",
        price="9",
        orderLinkId="l-2",
    )
    assert env.sim.account("main").wallet.get("XRP") == (Decimal(6), Decimal(4))
    session.cancel_order(category="spot", symbol="XRPUSDT", orderLinkId="l-2")
    assert env.sim.account("main").wallet.get("XRP") == (Decimal(10), Decimal(0))
    assert only_order(session, "l-2")["orderStatus"] == "Cancelled"
    assert (
        code_of(lambda: session.cancel_order(category="spot", symbol="XRPUSDT", orderLinkId="l-2"))
        == 170213
    )


def test_execution_list_reports_fee_and_currency(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    session = env.http()
    sell(session, "5", orderLinkId="e-1")
    sell(session, "3", orderLinkId="e-2")
    fills = session.get_executions(category="spot", orderLinkId="e-1")["result"]["list"]
    assert len(fills) == 1
    fill = fills[0]
    assert fill["orderLinkId"] == "e-1" and fill["execType"] == "Trade"
    assert Decimal(fill["execQty"]) == 5 and Decimal(fill["execPrice"]) == XRP_BID
    assert Decimal(fill["execFee"]) == 5 * XRP_BID * Decimal("0.001")
    assert fill["feeCurrency"] == "USDT" and fill["execId"]
    every = session.get_executions(category="spot", symbol="XRPUSDT")["result"]["list"]
    assert len({f["execId"] for f in every}) == 2


def test_order_query_lag_hides_a_new_order_for_a_while(sim_factory: Any) -> None:
    env = start(sim_factory, section(order_query_lag_ms=1500))
    session = env.http()
    sell(session, "5", orderLinkId="lag-1")
    assert session.get_open_orders(category="spot", orderLinkId="lag-1")["result"]["list"] == []
    assert session.get_order_history(category="spot", orderLinkId="lag-1")["result"]["list"] == []
    assert session.get_executions(category="spot", orderLinkId="lag-1")["result"]["list"] == []
    assert env.sim.account("main").wallet.get("XRP")[0] == 5  # it did execute
    env.sim.clock.advance(1500)
    assert only_order(session, "lag-1")["orderStatus"] == "Filled"


def test_limited_liquidity_fills_part_and_cancels_the_rest(sim_factory: Any) -> None:
    env = start(sim_factory, section(liquidity={"XRPUSDT": "4"}))
    session = env.http()
    sell(session, "9", orderLinkId="thin")
    order = only_order(session, "thin")
    assert order["orderStatus"] == "PartiallyFilledCanceled"
    assert Decimal(order["cumExecQty"]) == 4
    assert env.sim.account("main").wallet.get("XRP")[0] == 6
    env.sim.set_liquidity("XRPUSDT", None)
    sell(session, "6", orderLinkId="deep")
    assert only_order(session, "deep")["orderStatus"] == "Filled"


def test_empty_bid_side_cancels_a_market_sell_with_no_fill(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    env.sim.set_price("XRPUSDT", "")
    session = env.http()
    sell(session, "5", orderLinkId="no-bid")
    order = only_order(session, "no-bid")
    assert order["orderStatus"] == "Cancelled"
    assert order["cumExecQty"] == "0" and order["avgPrice"] == ""
    assert env.sim.account("main").wallet.get("XRP")[0] == 10


def test_price_hook_moves_the_fill_price(sim_factory: Any) -> None:
    env = start(sim_factory, section({"XRP": "10", "USDT": "0"}, fee_rate="0"))
    env.sim.set_price("XRPUSDT", "3.1")
    sell(env.http(), "10")
    assert env.sim.account("main").wallet.get("USDT")[0] == Decimal(31)


def test_removed_symbol_is_not_available_and_unknown_is_invalid(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    env.sim.remove_symbol("XRPUSDT")
    assert code_of(lambda: sell(env.http(), "5")) == 170157
    assert code_of(lambda: sell(env.http(), "5", symbol="XRPUSDX")) == 170121


def test_symbol_hook_sets_a_filter_field_written_flat(sim_factory: Any) -> None:
    env = start(sim_factory, section())
    env.sim.set_symbol("XRPUSDT", minOrderAmt="25")
    assert code_of(lambda: sell(env.http(), "10")) == 170140  # 20.64 USDT < 25
    env.sim.set_symbol("XRPUSDT", minOrderAmt="20")
    assert sell(env.http(), "10")["retCode"] == 0


def test_added_symbol_trades_at_its_price(sim_factory: Any) -> None:
    env = start(sim_factory, section({"FOO": "100", "USDT": "0"}, fee_rate="0"))
    raw = {
        "symbol": "FOOUSDT",
        "baseCoin": "FOO",
        "quoteCoin": "USDT",
        "innovation": "0",
        "status": "Trading",
        "marginTrading": "none",
        "stTag": "0",
        "lotSizeFilter": {
            "basePrecision": "1",
            "quotePrecision": "0.0001",
            "minOrderQty": "1",
            "maxOrderQty": "100000",
            "minOrderAmt": "1",
            "maxOrderAmt": "100000",
        },
        "priceFilter": {"tickSize": "0.0001"},
        "riskParameters": {"limitParameter": "0.05", "marketParameter": "0.05"},
    }
    env.sim.add_symbol(raw, price="0.25")
    listed = env.http().get_instruments_info(category="spot", symbol="FOOUSDT")["result"]["list"]
    assert listed == [raw]
    sell(env.http(), "40", symbol="FOOUSDT")
    assert env.sim.account("main").wallet.get("USDT")[0] == 10
