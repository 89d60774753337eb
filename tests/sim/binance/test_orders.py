"""Binance spot orders on the simulator, driven by the real python-binance client.

Every assertion reads what the exchange did (wallet, orders, log) or what it answered on the
wire, never what a helper of ours computed.
"""

from __future__ import annotations

from typing import Any

import pytest

from dustsweep.sim.binance.dialect import BinanceSim
from tests.sim.binance.helpers import (
    D,
    api_error,
    scenario,
)

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
