"""The exactly-once holes of issue 9 that no test guarded: each test here fails when the
behaviour it names is broken (each was checked by breaking it on purpose).

Real adapters and SDKs against the simulator, with faults injected on its HTTP server:
``http_after`` executes the order and then answers an error; ``drop`` never lets the request
arrive; ``order_query_lag_ms`` makes Binance answer -2013 for an order it has just accepted.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from dustsweep.sell.execute import FILLED, PARTIALLY_FILLED, SKIPPED, UNKNOWN
from tests.sell.test_execute import Harness, HarnessFactory, by_asset
from tests.sell.test_execute import make_harness as make_harness  # the fixture

QUERY = {"binance": ("GET", "/api/v3/order"), "bybit": ("GET", "/v5/order/realtime")}
SOLD = {"binance": ("ADA", "12.3456"), "bybit": ("XRP", "3")}
DUPLICATE = {
    "binance": (400, {"code": -2010, "msg": "Duplicate order sent."}),
    "bybit": (200, {"retCode": 170141, "retMsg": "Duplicate clientOrderId", "result": {}}),
}


def one_asset(make: HarnessFactory, exchange: str, **kw: Any) -> Harness:
    asset, amount = SOLD[exchange]
    return make(exchange, {asset: amount}, **kw)


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_a_lookup_that_got_no_answer_is_not_not_found(
    make_harness: HarnessFactory, exchange: str
) -> None:
    """The order never arrived, but every query is answered 5xx: nothing proves it was never
    placed, so it stays pending and is not sent again."""
    h = one_asset(make_harness, exchange)
    h.faults.add("drop", h.order_path, method="POST", calls=1)
    method, path = QUERY[exchange]
    h.faults.add("http", path, method=method, status=503)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == UNKNOWN
    assert h.faults.count("POST", h.order_path) == 1 and h.orders_placed() == 0
    assert [r.status for r in h.records()] == ["pending"]


def test_after_a_429_the_same_id_goes_again_only_once_the_exchange_never_saw_it(
    make_harness: HarnessFactory,
) -> None:
    """The 429 came after the order filled and Binance still answers -2013 for it (lag). A
    resend under the same id would execute again (duplicates are refused among OPEN orders
    only): the order is settled as a lost answer instead, and never sent twice."""
    h = one_asset(make_harness, "binance", scenario={"order_query_lag_ms": 3_600_000})
    body = {"code": -1003, "msg": "Too many requests."}
    h.faults.add("http_after", h.order_path, method="POST", calls=1, status=429, body=body)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert h.orders_placed() == 1 and h.faults.count("POST", h.order_path) == 1
    assert outcome.status == UNKNOWN  # the free ADA fell: left pending for the next run
    assert [r.status for r in h.records()] == ["pending"]
    assert h.free("ADA") == Decimal("0.0456")  # sold once


def test_after_a_429_the_exchange_that_never_saw_it_gets_the_same_id_once_more(
    make_harness: HarnessFactory,
) -> None:
    h = one_asset(make_harness, "binance", scenario={"order_query_lag_ms": 3_600_000})
    body = {"code": -1003, "msg": "Too many requests."}
    h.faults.add("http", h.order_path, method="POST", calls=1, status=429, body=body)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == FILLED and h.orders_placed() == 1
    assert h.faults.count("POST", h.order_path) == 2
    [record] = h.records()  # the same id, the same record
    assert record.status == "filled" and record.client_id == outcome.client_order_id


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_a_duplicate_id_refusal_means_the_order_exists(
    make_harness: HarnessFactory, exchange: str
) -> None:
    """The exchange executed the order and answered "duplicate id": look it up and record its
    fill; never "rejected", never re-planned and sold again."""
    h = one_asset(make_harness, exchange)
    status, body = DUPLICATE[exchange]
    h.faults.add("http_after", h.order_path, method="POST", calls=1, status=status, body=body)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == FILLED and outcome.filled_qty > 0
    assert h.orders_placed() == 1 and h.faults.count("POST", h.order_path) == 1
    assert [r.status for r in h.records()] == ["filled"]


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_confirmed_never_placed_leads_to_one_resend_only(
    make_harness: HarnessFactory, exchange: str
) -> None:
    h = one_asset(make_harness, exchange)
    h.faults.add("drop", h.order_path, method="POST", calls=(1, 2))
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == SKIPPED and "never placed" in (outcome.error or "")
    assert h.faults.count("POST", h.order_path) == 2 and h.orders_placed() == 0
    assert [r.status for r in h.records()] == ["failed", "failed"]


def test_a_partial_fill_records_the_executed_quantity_and_price(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"}, scenario={"liquidity": {"ADAUSDT": "5"}})
    _plan, result = h.execute(concurrency=1)
    outcome = by_asset(result)["ADA"]
    assert outcome.status == PARTIALLY_FILLED and outcome.filled_qty == Decimal("5")
    [record] = [r for r in h.records() if r.asset == "ADA"]
    assert record.status == "partially_filled"
    assert record.qty == Decimal("5")  # executed, not the 12.3 planned
    assert record.received_qty == outcome.proceeds
    assert record.price is not None and outcome.proceeds is not None
    assert record.price == outcome.proceeds / Decimal(5)
    assert h.free("ADA") == Decimal("7.3456")


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_a_ban_answered_to_a_lookup_stops_asking_and_leaves_the_order_pending(
    make_harness: HarnessFactory, exchange: str
) -> None:
    h = one_asset(make_harness, exchange)
    h.faults.add("lose", h.order_path, method="POST", calls=1)
    method, path = QUERY[exchange]
    status = 418 if exchange == "binance" else 403
    h.faults.add("http", path, method=method, status=status, retry_after=60)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == UNKNOWN and result.banned is not None
    assert result.banned in (outcome.error or "")
    assert h.faults.count(method, path) == 1  # a banned caller asks nothing more
    assert h.orders_placed() == 1 and h.faults.count("POST", h.order_path) == 1
    assert [r.status for r in h.records()] == ["pending"]
