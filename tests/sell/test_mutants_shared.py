"""What the workers of one run share (sell/shared.py): the clock fix, the ban, the order
pacing, the rate gate and the rules a follow-up is planned with, where mutation testing found
no test guarding them. Through ``execute_sells`` with the real Binance adapter (the pybit one
for the pacing) against the simulator; ``ban_message``, ``OrderPacer`` and ``RateGate`` as
units with an injected clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from dustsweep.core.policy import Policy
from dustsweep.errors import Banned
from dustsweep.exchanges.base import OrderPacing
from dustsweep.run.outcome import Status
from dustsweep.sell.shared import OrderPacer, RateGate, ban_message
from tests.sell.test_execute import HarnessFactory
from tests.sell.test_execute import make_harness as make_harness  # the fixture

SKEW = {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
STAMP = "%Y-%m-%d %H:%M:%S UTC"


def test_a_clock_that_cannot_be_synchronised_skips_the_order_with_both_reasons(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    h.faults.add("http", h.order_path, method="POST", calls=1, status=400, body=SKEW)
    h.faults.add("http", "/api/v3/time", method="GET", status=503)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == Status.SKIPPED and outcome.error is not None
    skew, _sep, problem = outcome.error.partition("; the clock could not be synchronised: ")
    assert "recvWindow" in skew and "503" in problem
    [record] = h.records()
    assert record.status == "failed" and record.error == outcome.error
    assert h.faults.count("POST", h.order_path) == 1 and result.clock_offset_ms is None
    assert h.free("ADA") == Decimal("12.3456")


def test_a_synchronised_clock_is_logged_with_the_offset(
    make_harness: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    h.faults.add("http", h.order_path, method="POST", calls=1, status=400, body=SKEW)
    with caplog.at_level(logging.INFO, logger="dustsweep.sell.shared"):
        _plan, result = h.execute(concurrency=1)
    assert result.outcomes[0].status == Status.FILLED
    assert result.clock_offset_ms is not None
    logged = [r.getMessage() for r in caplog.records if r.name == "dustsweep.sell.shared"]
    assert logged == [f"main: clock offset now {result.clock_offset_ms} ms"]


def test_a_ban_is_logged_once_with_the_account_and_its_end(
    make_harness: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    h = make_harness("binance", {"ADA": "12.3456", "XRP": "3"})
    h.faults.ban(418, path=h.order_path, method="POST", call=1, retry_after=120)
    with caplog.at_level(logging.WARNING, logger="dustsweep.sell.shared"):
        _plan, result = h.execute(concurrency=1)
    assert result.banned is not None
    assert result.banned.startswith("IP banned by binance until ")
    logged = [r.getMessage() for r in caplog.records if r.name == "dustsweep.sell.shared"]
    assert logged == [f"main: {result.banned}"]


# ------------------------------------------------------------------ the ban's end, in UTC


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local time zone is 9 hours ahead of UTC: the message must not show it."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("far_from_utc")
def test_a_ban_end_from_retry_after_is_written_in_utc() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    message = ban_message("binance", Banned("418 I'm a teapot", retry_after=120))
    after = datetime.now(UTC)
    prefix, _sep, rest = message.partition(" until ")
    assert prefix == "IP banned by binance"
    when, _sep, tail = rest.partition(" UTC")
    assert tail == "; no further orders were sent"
    until = datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert before + timedelta(seconds=120) <= until <= after + timedelta(seconds=120)


@pytest.mark.usefixtures("far_from_utc")
def test_a_ban_end_from_the_message_is_written_in_utc() -> None:
    err = Banned("Way too many requests; IP banned until 1700000000000.")
    end = datetime.fromtimestamp(1_700_000_000, UTC)
    assert ban_message("binance", err) == (
        f"IP banned by binance until {end.strftime(STAMP)}; no further orders were sent"
    )
    assert end.strftime(STAMP) == "2023-11-14 22:13:20 UTC"


# ------------------------------------------------------------------ balances, rules, pacing


def test_a_lost_order_whose_asset_is_gone_from_the_balances_stays_pending(
    make_harness: HarnessFactory,
) -> None:
    """Binance leaves a zero balance out of its answer: the asset counts as 0, which fell."""
    h = make_harness("binance", {"ADA": "12.3456"})
    h.faults.add("drop", h.order_path, method="POST", calls=1)
    h.faults.add(
        "action", "/api/v3/order", method="GET", calls=1, action=lambda: h.set_free("ADA", 0)
    )
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == Status.UNKNOWN and outcome.error is not None
    assert outcome.error.endswith("but the free ADA fell from 12.34560000 to 0; left pending")
    assert [r.status for r in h.records()] == ["pending"]
    assert h.faults.count("POST", h.order_path) == 1


def test_refreshed_rules_are_handed_back_and_logged(
    make_harness: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A filter refusal refreshes the rules: the result carries them (the caller caches them)."""
    h = make_harness("binance", {"ADA": "12.3456"})
    refused = {"code": -1013, "msg": "Filter failure: NOTIONAL"}

    def coarser_step() -> None:
        h.dialect.set_symbol("ADAUSDT", filters={"LOT_SIZE": {"stepSize": "2"}})

    refuse_first_order_after(h, coarser_step, refused)
    with caplog.at_level(logging.INFO, logger="dustsweep.sell.shared"):
        _plan, result = h.execute(concurrency=1)
    assert result.rules_refreshed and result.refreshed_rules is not None
    assert result.refreshed_rules["ADAUSDT"].step == Decimal(2)
    logged = [r.getMessage() for r in caplog.records if r.name == "dustsweep.sell.shared"]
    assert logged == ["main: market rules refreshed"]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.mark.parametrize(("limit", "window_s"), [(0, 1.0), (1, 0.0), (2, -1.0), (0, 0.0)])
def test_an_order_rate_needs_a_positive_limit_and_window(limit: int, window_s: float) -> None:
    clock = Clock()
    with pytest.raises(ValueError) as raised:
        OrderPacer(limit, window_s, clock.sleep, clock)
    assert str(raised.value) == "an order rate needs limit >= 1 and window_s > 0"


def test_one_order_per_short_window_is_spaced_by_the_window() -> None:
    clock = Clock()
    pacer = OrderPacer(1, 0.5, clock.sleep, clock)
    assert pacer.wait_turn() == 0
    assert pacer.wait_turn() == 0.5
    assert clock.slept == [0.5]


# ------------------------------------------------------------------ balances read again


INSUFFICIENT = {"code": -2010, "msg": "Account has insufficient balance for requested action."}
FILTER = {"code": -1013, "msg": "Filter failure: LOT_SIZE"}


def test_balances_read_again_leave_an_untouched_asset_as_evidence(
    make_harness: HarnessFactory,
) -> None:
    """XRP's balance refusal makes the run read balances again before ADA was ever sent; ADA's
    order is then lost and unknown to the exchange, and its free balance (read while no order
    touched it) did not fall: confirmed never placed, sent once more."""
    h = make_harness("binance", {"ADA": "12.3456", "XRP": "3"})
    h.faults.add("http", h.order_path, method="POST", calls=1, status=400, body=INSUFFICIENT)
    h.faults.add("drop", h.order_path, method="POST", calls=3)
    _plan, result = h.execute(concurrency=1)
    outcomes = {o.asset: o for o in result.outcomes}
    assert outcomes["XRP"].status == outcomes["ADA"].status == Status.FILLED
    ada = [r.status for r in h.records() if r.asset == "ADA"]
    assert ada == ["failed", "filled"] and h.free("ADA") == Decimal("0.0456")


def refuse_first_order_after(h: Any, change: Any, body: Any) -> None:
    """The first order changes the exchange's rules (``change``), then is refused with
    ``body``: the refusal the executor reacts to by refreshing the rules."""
    h.faults.add("action", h.order_path, method="POST", calls=1, action=change)
    h.faults.add("http", h.order_path, method="POST", calls=1, status=400, body=body)


def ada_into_bnb(make: HarnessFactory) -> Any:
    h = make(
        "binance", {"ADA": "12.3456"}, policy=Policy(quote="USDT", sell_quotes=("USDT", "BNB"))
    )
    h.dialect.set_symbol("ADAUSDT", status="HALT")
    return h


def test_a_lost_follow_up_is_judged_against_the_balance_read_for_it(
    make_harness: HarnessFactory,
) -> None:
    """The follow-up reads balances; its BNB order is lost, and BNB falls meanwhile (spent
    elsewhere): measured from that read, the fall may be this order: pending, never resent."""
    h = ada_into_bnb(make_harness)
    h.faults.add("drop", h.order_path, method="POST", calls=2)
    h.faults.add(
        "action", "/api/v3/order", method="GET", calls=1, action=lambda: h.set_free("BNB", "0.001")
    )
    _plan, result = h.execute(concurrency=1)
    [ada] = result.primary
    [followup] = result.followups
    received = ada.proceeds - ada.fee
    assert followup.status == Status.UNKNOWN and followup.error is not None
    assert followup.error.endswith(
        f"but the free BNB fell from {format(received, 'f')} to 0.00100000; left pending"
    )
    assert [r.status for r in h.records()] == ["filled", "pending"]
    assert h.faults.count("POST", h.order_path) == 2


def test_a_follow_up_is_planned_with_the_rules_the_run_refreshed(
    make_harness: HarnessFactory,
) -> None:
    """ADA's refusal refreshes the rules, which now say BNBUSDT trades in steps of 0.01: the
    follow-up is sized to them at once, never refused for the old step."""
    h = ada_into_bnb(make_harness)

    def coarser_bnb_step() -> None:
        h.dialect.set_symbol("BNBUSDT", filters={"LOT_SIZE": {"stepSize": "0.01"}})

    refuse_first_order_after(h, coarser_bnb_step, FILTER)
    _plan, result = h.execute(concurrency=1)
    [followup] = result.followups
    assert result.rules_refreshed and followup.status == Status.FILLED
    assert followup.filled_qty % Decimal("0.01") == 0
    assert [r.status for r in h.records() if r.asset == "BNB"] == ["filled"]


# ------------------------------------------------------------------ the completed run's survivors


def test_a_follow_up_is_planned_with_rules_the_refresh_made_sellable(
    make_harness: HarnessFactory,
) -> None:
    """BNBUSDT's minimum quantity was 1 BNB when the plan was made, so what ADA -> BNB brings
    (about 0.013 BNB) could not be sold on. ADA's refusal refreshes the rules, which now take
    0.001: the follow-up is planned from them, so the BNB is sold on, not left with a note."""
    h = ada_into_bnb(make_harness)
    h.dialect.set_symbol("BNBUSDT", filters={"LOT_SIZE": {"minQty": "1.00000000"}})

    def smaller_bnb_minimum() -> None:
        h.dialect.set_symbol("BNBUSDT", filters={"LOT_SIZE": {"minQty": "0.00100000"}})

    refuse_first_order_after(h, smaller_bnb_minimum, FILTER)
    _plan, result = h.execute(concurrency=1)
    [ada] = result.primary
    [followup] = result.followups
    assert result.rules_refreshed and ada.status == followup.status == Status.FILLED
    assert followup.asset == "BNB" and followup.market == "BNBUSDT" and result.notes == []
    assert [r.status for r in h.records() if r.asset == "BNB"] == ["filled"]


def test_an_adapters_order_pacing_spaces_the_sends_of_a_run(
    make_harness: HarnessFactory,
) -> None:
    """Bybit declares an order rate (18 per second). Declared as one order per 30 s, the second
    order of the run waits for the first one's window to pass before it is sent."""
    h = make_harness("bybit", {"XRP": "3", "DOT": "1.2345"})
    assert h.exchange.capabilities.order_pacing is not None
    slow = OrderPacing(orders=1, window_s=30.0)
    h.exchange.capabilities = replace(h.exchange.capabilities, order_pacing=slow)
    _plan, result = h.execute(concurrency=2)
    assert [o.status for o in result.outcomes] == [Status.FILLED, Status.FILLED]
    [paced] = [s for s in h.sleep.calls if s > 1]
    assert 25 < paced <= 30


def test_a_rate_gate_holds_for_less_than_a_second() -> None:
    clock = Clock()
    gate = RateGate(clock.sleep, clock)
    gate.hold(0.4)
    clock.now += 0.1
    gate.wait()
    assert clock.slept == [pytest.approx(0.3)]


def test_a_rate_gate_never_held_lets_every_send_go_whatever_the_clock_reads() -> None:
    clock = Clock()
    clock.now = 0.5  # a monotonic clock may start near 0
    gate = RateGate(clock.sleep, clock)
    gate.wait()
    assert clock.slept == []
