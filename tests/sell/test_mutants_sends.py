"""One order's sends (sell/order.py) where the completed mutation run found no test guarding
them: the run stopped (not by a ban) between another order's own check and its send, what an
order skipped after a first send still names, and what the balance book counts after an order
that executed nothing or less than one unit.

The real Binance adapter against the simulator, through ``execute_sells``. Each test was
checked by applying its mutant by hand (tests/MUTANTS.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from dustsweep.core.models import MarketRules
from dustsweep.core.policy import Policy
from dustsweep.run.outcome import Status
from dustsweep.sell.execute import execute_sells
from dustsweep.storage.ledger import Ledger
from dustsweep.storage.records import LedgerError
from tests.sell.test_execute import Harness, HarnessFactory, by_asset
from tests.sell.test_execute import make_harness as make_harness  # the fixture

FULL = "history.sqlite3: database or disk is full"
CLOSED = {"code": -2010, "msg": "Market is closed."}
FILTER = {"code": -1013, "msg": "Filter failure: LOT_SIZE"}


def statuses(h: Harness) -> list[str]:
    return [r.status for r in h.records()]


# ------------------------------------------------------------------ a stop that is not a ban


class XrpFillUnrecordable(Ledger):
    """XRP's fill cannot be recorded (the history is full); ADA's pending record is written
    only once XRP's job has stopped the run, i.e. ADA's job is past its own "stopped?" check
    (made before its record) and about to send."""

    def __init__(self, *args: Any, stopped: threading.Event, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.stopped = stopped

    def add(self, **fields: Any) -> int:
        if fields.get("asset") == "ADA":
            assert self.stopped.wait(10), "XRP's job never stopped the run"
        return super().add(**fields)

    def update(self, record_id: int, **changes: Any) -> None:
        if changes.get("status") == "filled":
            record = next(r for r in self.records() if r.id == record_id)
            if record.asset == "XRP":
                raise LedgerError(FULL)
        super().update(record_id, **changes)


class Signal(logging.Handler):
    """Set once the order job logs its warning: the run was stopped just before it."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.event.set()


@pytest.fixture
def stop_logged() -> Iterator[threading.Event]:
    signal = Signal()
    logger = logging.getLogger("dustsweep.sell.order")
    logger.addHandler(signal)
    try:
        yield signal.event
    finally:
        logger.removeHandler(signal)


def test_a_history_failing_for_one_worker_stops_another_right_before_its_send(
    make_harness: HarnessFactory, stop_logged: threading.Event
) -> None:
    """XRP filled but could not be recorded: no further order may go out. ADA's job had
    already passed its own check and written its record: it is not sent. (A ban cannot show
    this: the adapter itself refuses every request once banned.)"""
    h = make_harness("binance", {"ADA": "12.3456", "XRP": "3"})
    snap, plan = h.plan()
    assert [o.asset for o in plan.orders] == ["XRP", "ADA"]
    ledger = XrpFillUnrecordable(h.ledger.path, stopped=stop_logged)
    try:
        result = execute_sells(plan, h.context(snap, concurrency=2, ledger=ledger))
    finally:
        ledger.close()
    outcomes = by_asset(result)
    assert outcomes["XRP"].status == Status.UNKNOWN
    ada = outcomes["ADA"]
    assert ada.status == Status.SKIPPED and ada.error == FULL
    ada_record = next(r for r in h.records() if r.asset == "ADA")
    assert ada_record.status == "failed" and ada_record.error == FULL
    assert ada.record_id == ada_record.id and ada.client_order_id == ada_record.client_id
    assert h.faults.count("POST", h.order_path) == 1 and h.orders_placed() == 1
    assert h.free("ADA") == Decimal("12.3456")


# ------------------------------------------------------------------ skipped after a first send


def test_an_order_skipped_after_its_send_was_refused_names_that_send(
    make_harness: HarnessFactory,
) -> None:
    """ADAUSDT answers "market closed" and the policy sells into USDT only: no other market.
    The skipped outcome still names the send that was refused (its client id and record)."""
    h = make_harness(
        "binance", {"ADA": "12.3456"}, policy=Policy(quote="USDT", sell_quotes=("USDT",))
    )
    h.faults.add("http", h.order_path, method="POST", calls=1, status=400, body=CLOSED)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    [record] = h.records()
    assert outcome.status == Status.SKIPPED and outcome.error is not None
    assert outcome.error.startswith("no market into USDT (after: ")
    assert "Market is closed." in outcome.error
    assert record.status == "rejected"
    assert outcome.client_order_id == record.client_id and outcome.record_id == record.id
    assert h.faults.count("POST", h.order_path) == 1 and h.free("ADA") == Decimal("12.3456")


class XrpHeld(Ledger):
    """XRP's record is written once ADA's rules were refreshed; ``answered`` is set once XRP's
    send is answered (its record updated)."""

    def __init__(self, *args: Any, refreshed: threading.Event, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.refreshed = refreshed
        self.answered = threading.Event()
        self.xrp: int | None = None

    def add(self, **fields: Any) -> int:
        if fields.get("asset") == "XRP":
            assert self.refreshed.wait(10), "ADA's rules were never refreshed"
            self.xrp = super().add(**fields)
            return self.xrp
        return super().add(**fields)

    def update(self, record_id: int, **changes: Any) -> None:
        super().update(record_id, **changes)
        if record_id == self.xrp:
            self.answered.set()


def test_an_order_skipped_by_a_ban_after_its_first_send_names_that_send(
    make_harness: HarnessFactory,
) -> None:
    """ADA is refused for a stale filter; while its rules are refreshed, XRP's send meets a
    ban. ADA's re-planned order is not sent, and its outcome names the send that was refused."""
    h = make_harness("binance", {"ADA": "12.3456", "XRP": "3"})
    h.faults.add("http", h.order_path, method="POST", calls=1, status=400, body=FILTER)
    h.faults.ban(418, path=h.order_path, method="POST", call=2, retry_after=120)
    snap, plan = h.plan()
    assert [o.asset for o in plan.orders] == ["XRP", "ADA"]
    refreshed = threading.Event()
    ledger = XrpHeld(h.ledger.path, refreshed=refreshed)

    def refresh_then_wait_for_the_ban() -> dict[str, MarketRules]:
        rules = h.refresh_rules()
        refreshed.set()
        assert ledger.answered.wait(10), "XRP's send was never answered"
        return rules

    ctx = h.context(snap, concurrency=2, ledger=ledger, refresh_rules=refresh_then_wait_for_the_ban)
    try:
        result = execute_sells(plan, ctx)
    finally:
        ledger.close()
    assert result.banned is not None
    ada = by_asset(result)["ADA"]
    [ada_record] = [r for r in h.records() if r.asset == "ADA"]
    assert ada.status == Status.SKIPPED and ada.error == result.banned
    assert ada_record.status == "rejected"
    assert ada.client_order_id == ada_record.client_id and ada.record_id == ada_record.id
    assert h.faults.count("POST", h.order_path) == 2 and h.free("ADA") == Decimal("12.3456")


# ------------------------------------------------------------------ the balance book after a send


def into_btc(make: HarnessFactory, asset: str, amount: str) -> Harness:
    """``asset`` sold into BTC (its USDT market halted), then the user's BTC dust into USDT."""
    policy = Policy(quote="USDT", dust_threshold="20", sell_quotes=("USDT", "BTC"))
    h = make("binance", {asset: amount, "BTC": "0.00015"}, policy=policy)
    h.dialect.set_symbol(f"{asset}USDT", status="HALT")
    return h


def test_an_order_that_expired_unfilled_leaves_its_quote_trusted_for_a_later_lost_order(
    make_harness: HarnessFactory,
) -> None:
    """ADA -> BTC finds no liquidity and expires with nothing executed (BTC did not move); the
    BTC dust order is then lost: unknown to the exchange and BTC did not fall, so it was never
    placed: sent once more."""
    h = into_btc(make_harness, "ADA", "15")
    h.dialect.set_liquidity("ADABTC", "0")
    snap, plan = h.plan()
    assert [(o.asset, o.quote_asset) for o in plan.orders] == [("ADA", "BTC"), ("BTC", "USDT")]
    h.faults.add("drop", h.order_path, method="POST", calls=2)
    result = execute_sells(plan, h.context(snap, concurrency=1, followup=False))
    ada, btc = result.outcomes
    assert ada.status == Status.REJECTED and ada.filled_qty == 0
    assert btc.status == Status.FILLED
    assert h.free("BTC") == 0 and h.free("ADA") == Decimal(15)
    assert h.faults.count("POST", h.order_path) == 3 and h.orders_placed() == 2


def test_a_fill_of_less_than_one_unit_still_counts_as_moving_its_quote(
    make_harness: HarnessFactory,
) -> None:
    """0.08 SOL -> BTC fills; the BTC dust order is then lost and unknown to the exchange.
    BTC did not fall, but SOL's proceeds could hide its sale: pending, never sent twice."""
    h = into_btc(make_harness, "SOL", "0.08")
    snap, plan = h.plan()
    assert [(o.asset, o.quote_asset) for o in plan.orders] == [("SOL", "BTC"), ("BTC", "USDT")]
    h.faults.add("drop", h.order_path, method="POST", calls=2)
    result = execute_sells(plan, h.context(snap, concurrency=1, followup=False))
    sol, btc = result.outcomes
    assert sol.status == Status.FILLED and sol.filled_qty == Decimal("0.08")
    assert btc.status == Status.UNKNOWN and btc.error is not None
    assert btc.error.endswith("so its balance proves nothing; left pending for the next run")
    assert statuses(h) == ["filled", "pending"]
    assert h.faults.count("POST", h.order_path) == 2 and h.orders_placed() == 1
