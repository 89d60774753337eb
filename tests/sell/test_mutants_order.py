"""One order's path (sell/order.py) where mutation testing found no test guarding it.

Each test drives the real Binance adapter (python-binance) against the simulator, through the
public ``execute_sells``, and checks what a user would notice: the outcome, the history's
records, and what the exchange received. Written for the survivors listed in tests/MUTANTS.md
("judged real, not killed"): the checks right before a send, what the balance book counts
after an order, the pending record's run and price, the records and log lines of orders that
were not sent or are sent once more.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from dustsweep.core.policy import Policy
from dustsweep.core.routes import Route
from dustsweep.run.outcome import Status
from dustsweep.sell.execute import execute_sells
from dustsweep.storage.ledger import Ledger
from tests.sell.test_execute import Harness, HarnessFactory, by_asset
from tests.sell.test_execute import make_harness as make_harness  # the fixture

QUERY = ("GET", "/api/v3/order")
LIMITED = {"code": -1003, "msg": "Too many requests."}
DISABLED = {"code": -2010, "msg": "This action is disabled on this account."}


def statuses(h: Harness) -> list[str]:
    return [r.status for r in h.records()]


def ada_then_btc(make: HarnessFactory) -> Harness:
    """ADA sold into BTC (its USDT market halted), then the user's BTC dust into USDT."""
    policy = Policy(quote="USDT", dust_threshold="20", sell_quotes=("USDT", "BTC"))
    h = make("binance", {"ADA": "15", "BTC": "0.00015"}, policy=policy)
    h.dialect.set_symbol("ADAUSDT", status="HALT")
    return h


# ------------------------------------------------------------------ records and requests


def test_a_pending_record_names_the_run_and_the_planned_price(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    snap, plan = h.plan()
    [order] = plan.orders
    h.faults.add("drop", h.order_path, method="POST", calls=1)
    h.faults.add("http", QUERY[1], method="GET", status=503)
    ctx = h.context(snap, concurrency=1)
    result = execute_sells(plan, ctx)
    [outcome] = result.outcomes
    [record] = h.records()
    assert outcome.status == Status.UNKNOWN and record.status == "pending"
    assert record.run_id == ctx.run_id and record.run_id is not None
    assert record.price == order.price and record.price > 0
    assert (record.qty, record.market, record.received_asset) == (
        order.qty,
        order.symbol,
        order.quote_asset,
    )


def test_a_filled_order_costs_one_request_and_no_read_back(make_harness: HarnessFactory) -> None:
    """Binance answers a market order with its final state: nothing is asked afterwards."""
    h = make_harness("binance", {"ADA": "12.3456"})
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == Status.FILLED and statuses(h) == ["filled"]
    assert h.faults.count("POST", h.order_path) == 1
    assert h.faults.count(*QUERY) == 0


def test_an_order_the_adapter_refuses_is_recorded_failed_and_never_sent(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    snap, plan = h.plan()
    plan = replace(plan, orders=(replace(plan.orders[0], qty=Decimal(0)),))
    result = execute_sells(plan, h.context(snap, concurrency=1))
    [outcome] = result.outcomes
    [record] = h.records()
    assert outcome.status == Status.SKIPPED
    assert outcome.error == "quantity must be positive, got 0"
    assert record.status == "failed" and record.error == outcome.error
    assert outcome.record_id == record.id and outcome.client_order_id == record.client_id
    assert h.faults.count("POST", h.order_path) == 0 and h.free("ADA") == Decimal("12.3456")


def test_an_order_not_sent_keeps_its_reason_and_record(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    h.faults.add("http", h.order_path, method="POST", status=429, body=LIMITED, retry_after=60)
    _plan, result = h.execute(concurrency=1, max_rate_wait_s=3.0)
    [outcome] = result.outcomes
    [record] = h.records()
    assert outcome.status == Status.SKIPPED and outcome.route == Route.SELL
    assert outcome.error == "rate limited by binance for 60 s; try again later"
    assert record.status == "failed" and record.error == outcome.error
    assert outcome.record_id == record.id and outcome.client_order_id == record.client_id
    assert h.faults.count("POST", h.order_path) == 1 and h.orders_placed() == 0


def test_an_order_resent_after_never_placed_says_so_in_the_log(
    make_harness: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    h.faults.add("drop", h.order_path, method="POST", calls=1)
    with caplog.at_level(logging.INFO, logger="dustsweep.sell.order"):
        _plan, result = h.execute(concurrency=1)
    assert by_asset(result)["ADA"].status == Status.FILLED
    first, _second = h.records()
    line = f"{first.client_id} never reached the exchange; sending it once more"
    assert caplog.messages.count(line) == 1


def test_a_twice_never_placed_order_is_skipped_with_its_record(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    h.faults.add("drop", h.order_path, method="POST", calls=(1, 2))
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    first, second = h.records()
    assert outcome.status == Status.SKIPPED and outcome.error is not None
    assert outcome.error.endswith("and the free ADA did not fall")
    assert first.status == second.status == "failed"
    assert second.error == outcome.error and outcome.record_id == second.id
    assert outcome.client_order_id == second.client_id == f"{first.client_id}-2"
    assert h.faults.count("POST", h.order_path) == 2 and h.orders_placed() == 0


# ------------------------------------------------------------------ a ban between plan and send


class HoldingLedger(Ledger):
    """Holds the record of ``held`` (its order job is past its own "stopped?" check, about
    to send) until another order's record is updated, i.e. that order was answered."""

    held = "ADA"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.answered = threading.Event()

    def add(self, **fields: Any) -> int:
        if fields.get("asset") == self.held:
            assert self.answered.wait(10), "the other order was never answered"
        return super().add(**fields)

    def update(self, record_id: int, **changes: Any) -> None:
        super().update(record_id, **changes)
        self.answered.set()


def test_a_ban_met_by_one_worker_stops_another_right_before_its_send(
    make_harness: HarnessFactory,
) -> None:
    """Two workers: XRP's send meets a ban while ADA's job has already passed its own check
    and is writing its record. ADA is not sent: every request after a ban lengthens it."""
    h = make_harness("binance", {"ADA": "12.3456", "XRP": "3"})
    h.faults.ban(418, path=h.order_path, method="POST", call=1, retry_after=120)
    snap, plan = h.plan()
    assert [o.asset for o in plan.orders] == ["XRP", "ADA"]
    ledger = HoldingLedger(h.ledger.path)
    try:
        result = execute_sells(plan, h.context(snap, concurrency=2, ledger=ledger))
    finally:
        ledger.close()
    outcomes = by_asset(result)
    assert result.banned is not None
    assert result.banned.startswith("IP banned by binance until ")
    assert outcomes["ADA"].status == Status.SKIPPED and outcomes["ADA"].error == result.banned
    ada_record = next(r for r in h.records() if r.asset == "ADA")
    assert ada_record.status == "failed" and ada_record.error == result.banned
    assert h.faults.count("POST", h.order_path) == 1
    assert len(h.faults.banned_requests) == 1
    assert h.free("ADA") == Decimal("12.3456") and h.orders_placed() == 0


# ------------------------------------------------------------------ the balance book after a send


def test_a_lost_order_on_a_quote_another_order_credited_stays_pending(
    make_harness: HarnessFactory,
) -> None:
    """ADA -> BTC fills, then the BTC dust order is lost and unknown to the exchange. BTC did
    not fall, but ADA's proceeds could hide its sale: pending, never sent a second time."""
    h = ada_then_btc(make_harness)
    snap, plan = h.plan()
    assert [(o.asset, o.quote_asset) for o in plan.orders] == [("ADA", "BTC"), ("BTC", "USDT")]
    h.faults.add("drop", h.order_path, method="POST", calls=2)
    result = execute_sells(plan, h.context(snap, concurrency=1, followup=False))
    ada, btc = result.outcomes
    assert ada.status == Status.FILLED and btc.status == Status.UNKNOWN
    assert btc.error is not None and btc.error.endswith(
        ", but other orders of this run moved BTC meanwhile, so its balance proves nothing; "
        "left pending for the next run"
    )
    assert statuses(h) == ["filled", "pending"]
    assert h.faults.count("POST", h.order_path) == 2 and h.orders_placed() == 1


def test_a_refused_order_leaves_its_quote_trusted_for_a_later_lost_order(
    make_harness: HarnessFactory,
) -> None:
    """ADA -> BTC is refused (nothing moved), then the BTC dust order is lost: the exchange
    does not know it and BTC did not fall, which proves it was never placed: sent once more."""
    h = ada_then_btc(make_harness)
    snap, plan = h.plan()
    assert [(o.asset, o.quote_asset) for o in plan.orders] == [("ADA", "BTC"), ("BTC", "USDT")]
    h.faults.add("http", h.order_path, method="POST", calls=1, status=400, body=DISABLED)
    h.faults.add("drop", h.order_path, method="POST", calls=2)
    result = execute_sells(plan, h.context(snap, concurrency=1, followup=False))
    ada, btc = result.outcomes
    assert ada.status == Status.REJECTED and btc.status == Status.FILLED
    assert statuses(h) == ["rejected", "failed", "filled"]
    assert h.free("BTC") == 0 and h.free("ADA") == Decimal(15)
    assert h.faults.count("POST", h.order_path) == 3 and h.orders_placed() == 1


def test_a_lost_order_whose_asset_was_locked_meanwhile_shows_the_free_balance_in_digits(
    make_harness: HarnessFactory,
) -> None:
    """The ADA is locked (an open order elsewhere) while the lost order is looked for: its free
    balance fell to zero, written as the exchange's digits, not as 0E-8."""
    h = make_harness("binance", {"ADA": "12.3456"})
    lock = lambda: h.dialect.account("main").wallet.set("ADA", 0, "12.3456")  # noqa: E731
    h.faults.add("drop", h.order_path, method="POST", calls=1)
    h.faults.add("action", QUERY[1], method="GET", calls=1, action=lock)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == Status.UNKNOWN and outcome.route == Route.SELL
    assert outcome.error is not None and outcome.error.endswith(
        "but the free ADA fell from 12.34560000 to 0.00000000; left pending"
    )
    assert statuses(h) == ["pending"] and h.faults.count("POST", h.order_path) == 1


def test_a_filled_outcome_is_a_sale(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == Status.FILLED and outcome.route == Route.SELL
