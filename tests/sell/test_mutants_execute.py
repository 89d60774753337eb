"""The waves of a sale (sell/execute.py) where mutation testing found no test guarding them.

An interrupt in the middle of a wave, a follow-up planning that fails, and the notes about
what a run received but did not sell on. The real Binance adapter against the simulator.
"""

from __future__ import annotations

import threading
from contextlib import closing
from decimal import Decimal

import pytest

from dustsweep.core.plan import PlannedOrder
from dustsweep.core.policy import Policy
from dustsweep.core.routes import Route
from dustsweep.errors import ExchangeError
from dustsweep.run.outcome import Status
from dustsweep.sell.execute import AccountSale, execute_sells, planned_outcomes, sale_waves
from tests.sell.test_execute import Harness, HarnessFactory, by_asset
from tests.sell.test_execute import make_harness as make_harness  # the fixture

ACCOUNT = "/api/v3/account"


def ada_into_bnb(make: HarnessFactory) -> Harness:
    policy = Policy(quote="USDT", sell_quotes=("USDT", "BNB"))
    h = make("binance", {"ADA": "12.3456"}, policy=policy)
    h.dialect.set_symbol("ADAUSDT", status="HALT")
    return h


def test_an_interrupt_during_a_wave_drops_the_orders_not_started(
    make_harness: HarnessFactory,
) -> None:
    """XRP's order is in flight when the user interrupts: it finishes and is recorded; ADA's,
    queued behind it, is dropped; no follow-up wave comes, and nothing more can be sent."""
    h = make_harness("binance", {"ADA": "12.3456", "XRP": "3"})
    in_flight, release = threading.Event(), threading.Event()

    def hold_the_send() -> None:
        in_flight.set()
        release.wait(10)

    h.faults.add("action", h.order_path, method="POST", calls=1, action=hold_the_send)
    snap, plan = h.plan()
    assert [o.asset for o in plan.orders] == ["XRP", "ADA"]
    sale = AccountSale(plan, h.context(snap, concurrency=1))
    waves_seen = 0
    futures = []
    with pytest.raises(KeyboardInterrupt), closing(sale_waves([sale])) as waves:
        for wave in waves:
            waves_seen += 1
            futures = [(job, pool.submit(job.run)) for pool, job in wave]
            assert in_flight.wait(10)
            threading.Timer(0.2, release.set).start()  # the exchange answers meanwhile
            raise KeyboardInterrupt
    assert waves_seen == 1
    (xrp_job, xrp_future), (ada_job, ada_future) = futures
    assert xrp_future.done() and xrp_job.outcome is not None
    assert xrp_job.outcome.status == Status.FILLED
    assert ada_future.cancelled() and ada_job.outcome is None
    assert [(r.asset, r.status) for r in h.records()] == [("XRP", "filled")]
    assert h.free("ADA") == Decimal("12.3456") and h.orders_placed() == 1
    # A job that had already started would find the run stopped: it sends nothing.
    late = ada_job.run()
    assert late.status == Status.SKIPPED and late.error == "interrupted"
    assert late.client_order_id is None and len(h.records()) == 1
    assert h.faults.count("POST", h.order_path) == 1
    with pytest.raises(RuntimeError):
        sale.pool.submit(ada_job.run)


def test_a_follow_up_planning_that_fails_is_the_sales_error_after_its_fills(
    make_harness: HarnessFactory,
) -> None:
    h = ada_into_bnb(make_harness)

    def unreadable(order: PlannedOrder) -> PlannedOrder:
        raise ExchangeError(f"average price of {order.symbol} unreadable")

    snap, plan = h.plan()
    with pytest.raises(ExchangeError) as raised:
        execute_sells(plan, h.context(snap, concurrency=1, vet=unreadable))
    assert str(raised.value) == "average price of BNBUSDT unreadable"
    [record] = h.records()
    assert record.asset == "ADA" and record.status == "filled"
    assert h.free("BNB") > 0 and h.orders_placed() == 1


def test_follow_ups_not_attempted_name_every_received_asset(
    make_harness: HarnessFactory,
) -> None:
    policy = Policy(quote="USDT", dust_threshold="20", sell_quotes=("USDT", "BNB", "BTC"))
    h = make_harness("binance", {"ADA": "15", "XRP": "4"}, policy=policy)
    for symbol in ("ADAUSDT", "XRPUSDT", "ADABNB"):
        h.dialect.set_symbol(symbol, status="HALT")
    snap, plan = h.plan()
    assert [o.symbol for o in plan.orders] == ["XRPBNB", "ADABTC"]
    h.faults.add("http", ACCOUNT, method="GET", status=503)
    result = execute_sells(plan, h.context(snap, concurrency=1))
    assert [o.status for o in result.outcomes] == [Status.FILLED, Status.FILLED]
    [note] = result.notes
    assert note.startswith("follow-up sale of BNB, BTC not attempted: ") and "503" in note
    assert not result.followups and h.orders_placed() == 2


@pytest.mark.parametrize(
    ("left", "shown"),
    [("0", "0"), ("0.0000001", "0.00000010")],
    ids=["no-balance-line", "a-tiny-balance"],
)
def test_a_received_asset_gone_before_the_follow_up_is_noted_with_what_is_left(
    make_harness: HarnessFactory, left: str, shown: str
) -> None:
    """The BNB that ADA brought is moved away before the follow-up reads balances (Binance
    omits a zero balance): nothing to sell on, and the note says what is left, in plain digits."""
    h = ada_into_bnb(make_harness)
    snap, plan = h.plan()
    reads = h.faults.count("GET", ACCOUNT)
    h.faults.add(
        "action", ACCOUNT, method="GET", calls=reads + 1, action=lambda: h.set_free("BNB", left)
    )
    result = execute_sells(plan, h.context(snap, concurrency=1))
    assert by_asset(result)["ADA"].status == Status.FILLED and not result.followups
    assert result.notes == [
        f"BNB received ({shown} free) is not sold on into USDT: "
        "too small for its markets, kept, or no market"
    ]
    assert h.orders_placed() == 1


def test_a_dry_run_outcome_is_a_sale(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    _snap, plan = h.plan()
    [outcome] = planned_outcomes(plan)
    assert outcome.route == Route.SELL and outcome.status == Status.PLANNED
