"""The outcome of an order whose job ended on a bug or a history that cannot record
(sell/outcomes.py ``crashed_outcome``, sell/order.py ``_crashed``): written for the survivors
that mutation testing found. The real Binance adapter against the simulator.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest

from dustsweep.core.policy import Policy
from dustsweep.core.routes import Route
from dustsweep.run.outcome import Status
from dustsweep.sell.execute import execute_sells
from dustsweep.storage.ledger import Ledger
from dustsweep.storage.records import LedgerError
from tests.sell.test_execute import HarnessFactory, by_asset
from tests.sell.test_execute import make_harness as make_harness  # the fixture

FULL = "history.sqlite3: database or disk is full"
CLOSED = {"code": -2010, "msg": "Market is closed."}


class UnwritableLedger(Ledger):
    """Cannot write the first record at all: the history is full before anything is sent."""

    def add(self, **fields: Any) -> int:
        raise LedgerError(FULL)


class FillUnrecordable(Ledger):
    """Cannot record a fill of ``asset`` (None: of any asset); raises ``error`` instead."""

    asset: str | None = None
    error: Exception = LedgerError(FULL)

    def update(self, record_id: int, **changes: Any) -> None:
        if changes.get("status") == "filled":
            record = next(r for r in self.records() if r.id == record_id)
            if self.asset in (None, record.asset):
                raise self.error
        super().update(record_id, **changes)


def run_with(h: Any, ledger: Ledger, **kw: Any) -> Any:
    snap, plan = h.plan()
    try:
        return execute_sells(plan, h.context(snap, concurrency=1, ledger=ledger, **kw))
    finally:
        ledger.close()


def test_a_history_that_cannot_record_the_first_order_skips_it_unsent(
    make_harness: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    _snap, plan = h.plan()
    [order] = plan.orders
    with caplog.at_level(logging.WARNING, logger="dustsweep.sell.order"):
        result = run_with(h, UnwritableLedger(h.ledger.path))
    [outcome] = result.outcomes
    assert outcome.route == Route.SELL and outcome.status == Status.SKIPPED
    assert outcome.error == FULL  # nothing was sent: no record is left pending
    assert (outcome.asset, outcome.market, outcome.qty) == ("ADA", order.symbol, order.qty)
    assert outcome.client_order_id is None and outcome.record_id is None
    assert outcome.residual == Decimal("12.3456") and outcome.followup is False
    logged = [r.getMessage() for r in caplog.records if r.name == "dustsweep.sell.order"]
    assert logged == [f"main: {FULL}"]
    assert h.faults.count("POST", h.order_path) == 0 and h.free("ADA") == Decimal("12.3456")


def test_a_fill_that_cannot_be_recorded_after_a_re_plan_names_the_market_it_was_sent_to(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    _snap, plan = h.plan()
    [order] = plan.orders
    h.faults.add("http", h.order_path, method="POST", calls=1, status=400, body=CLOSED)
    result = run_with(h, FillUnrecordable(h.ledger.path))
    [outcome] = result.outcomes
    first, second = h.records()
    assert outcome.route == Route.SELL and outcome.status == Status.UNKNOWN
    assert outcome.error == f"{FULL}; its ledger record stays pending for the next run"
    assert first.market == order.symbol and second.market != order.symbol
    assert outcome.market == second.market and outcome.qty == second.qty
    assert outcome.client_order_id == second.client_id and outcome.record_id == second.id
    assert second.status == "pending" and h.free("ADA") == Decimal("0.0456")


def test_a_bug_in_a_follow_up_is_that_follow_ups_outcome(
    make_harness: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    policy = Policy(quote="USDT", sell_quotes=("USDT", "BNB"))
    h = make_harness("binance", {"ADA": "12.3456"}, policy=policy)
    h.dialect.set_symbol("ADAUSDT", status="HALT")
    ledger = FillUnrecordable(h.ledger.path)
    ledger.asset, ledger.error = "BNB", RuntimeError("boom")
    with caplog.at_level(logging.WARNING, logger="dustsweep.sell.order"):
        result = run_with(h, ledger)
    assert by_asset(result)["ADA"].status == Status.FILLED
    [followup] = result.followups
    assert followup.asset == "BNB" and followup.followup is True
    assert followup.status == Status.UNKNOWN and followup.route == Route.SELL
    assert followup.error == (
        "internal error: boom; its ledger record stays pending for the next run"
    )
    [logged] = [r for r in caplog.records if r.name == "dustsweep.sell.order"]
    assert logged.getMessage() == "order for BNB failed unexpectedly"
    assert logged.levelno == logging.ERROR and logged.exc_info is not None
    assert str(logged.exc_info[1]) == "boom"


def test_a_fill_that_cannot_be_recorded_after_a_smaller_re_plan_names_the_quantity_sent(
    make_harness: HarnessFactory,
) -> None:
    """Refused for the balance (2 ADA went elsewhere), re-planned smaller, filled, unrecorded:
    the outcome names the quantity that went out, not the first plan's."""
    h = make_harness("binance", {"ADA": "12.3456"})
    insufficient = {"code": -2010, "msg": "Account has insufficient balance for requested action."}
    spend = lambda: h.set_free("ADA", "10.3456")  # noqa: E731
    h.faults.add("action", h.order_path, method="POST", calls=1, action=spend)
    h.faults.add("http", h.order_path, method="POST", calls=1, status=400, body=insufficient)
    result = run_with(h, FillUnrecordable(h.ledger.path))
    [outcome] = result.outcomes
    first, second = h.records()
    assert outcome.status == Status.UNKNOWN and first.qty == Decimal("12.3")
    assert outcome.qty == second.qty == Decimal("10.3") and h.free("ADA") == Decimal("0.0456")
