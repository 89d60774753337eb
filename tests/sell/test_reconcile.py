"""Settling orders whose outcome is unknown (sell/reconcile.py), edge by edge.

The lookup and the pending-record settler run against the simulator through the real Binance
adapter (python-binance), with faults injected on its HTTP server; time is injected (``now``)
and every wait is recorded, so no test leans on the wall clock. The recording helpers are pure
and are tested on hand-made exchange answers. Each test here kills mutants that the sell tests
let survive (tests/MUTANTS.md).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from dustsweep.core.models import OrderResult
from dustsweep.errors import Banned
from dustsweep.run.context import RunContext
from dustsweep.run.outcome import Status
from dustsweep.sell.reconcile import (
    STALE_PENDING_S,
    Lookup,
    OrderLookup,
    average_price,
    reconcile_pending,
    record_final,
)
from dustsweep.sell.steps import final_error, outcome_status
from dustsweep.storage.ledger import Ledger
from tests.sell.test_execute import Harness, HarnessFactory
from tests.sell.test_execute import make_harness as make_harness  # the fixture

QUERY = ("GET", "/api/v3/order")
ACCOUNT = ("GET", "/api/v3/account")
NOT_FOUND = {"code": -2013, "msg": "Order does not exist."}
WRITTEN = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
CID = "ds-deadbeef00-ADA"


class Waits:
    """Records the waits asked for, without waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def queries(h: Harness) -> int:
    return h.faults.count(*QUERY)


# ---------------------------------------------------------------------------- the lookup


class Lookups:
    """An OrderLookup on the harness's adapter that records waits, bans and clock fixes."""

    def __init__(self, h: Harness, clock_fix: str | None = None, **kw: Any) -> None:
        self.waits = Waits()
        self.bans: list[Banned] = []
        self.clock_fixes = 0
        self._clock_fix = clock_fix
        self.lookup = OrderLookup(
            h.exchange, self.waits, on_banned=self._banned, fix_clock=self._fix, **kw
        )

    def _banned(self, err: Banned) -> str:
        self.bans.append(err)
        return "stop: banned"

    def _fix(self) -> str | None:
        self.clock_fixes += 1
        return self._clock_fix


def test_an_order_found_final_is_asked_about_once(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    placed = h.exchange.market_sell("ADAUSDT", Decimal("12.3"), CID)
    ask = Lookups(h)
    found = ask.lookup.poll("ADAUSDT", CID, 5.0)
    assert found.order is not None and found.order.status == "filled"
    assert found.order.order_id == placed.order_id and found.order.filled_qty == Decimal("12.3")
    assert (found.not_found, found.waited_s, found.error, found.stopped) == (False, 0.0, None, None)
    assert ask.waits.calls == [] and queries(h) == 1


def test_not_found_is_asked_for_the_whole_window(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    ask = Lookups(h)
    found = ask.lookup.poll("ADAUSDT", CID, 0.75)
    assert found == Lookup(None, True, pytest.approx(0.75), None)  # type: ignore[arg-type]
    assert ask.waits.calls == pytest.approx([0.2, 0.5, 0.05])
    assert queries(h) == 4
    assert Lookups(h).lookup.poll("ADAUSDT", CID, 0.0) == Lookup(None, True, 0.0, None)
    assert queries(h) == 5  # a window of 0: asked once


def test_an_open_order_is_followed_until_it_is_final(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    order = h.dialect.open_order("main", "ADAUSDT", "SELL", "12", "9", CID)
    h.faults.add(
        "action",
        QUERY[1],
        method="GET",
        calls=3,
        action=lambda: h.dialect.orders.cancel(h.dialect.account("main"), order),
    )
    ask = Lookups(h)
    found = ask.lookup.poll("ADAUSDT", CID, 30.0)
    assert found.order is not None and found.order.status == "cancelled"
    assert found.not_found is False and found.waited_s == pytest.approx(0.7)
    assert queries(h) == 3  # open, open, cancelled: then no more


def test_an_order_seen_open_is_never_not_found(make_harness: HarnessFactory) -> None:
    """Once the exchange showed the order, a later "does not exist" (a lagging replica) does
    not make it "not found"."""
    h = make_harness("binance", {"ADA": "12.3456"})
    h.dialect.open_order("main", "ADAUSDT", "SELL", "12", "9", CID)
    h.faults.add("http", QUERY[1], method="GET", calls=2, status=400, body=NOT_FOUND)
    found = Lookups(h).lookup.poll("ADAUSDT", CID, 0.2)
    assert found.order is not None and found.order.status == "new"
    assert found.not_found is False and found.error is None
    assert queries(h) == 2


def test_no_answer_is_not_not_found_until_the_exchange_answers(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    h.faults.add("http", QUERY[1], method="GET", status=503)
    ask = Lookups(h)
    found = ask.lookup.poll("ADAUSDT", CID, 0.0)
    assert found.order is None and found.not_found is False
    assert found.error is not None and "503" in found.error
    # The adapter tried the read three times; an answer after that clears the error.
    h.faults.clear()
    h.faults.reset_counts()
    h.faults.add("http", QUERY[1], method="GET", calls=(1, 2, 3), status=503)
    found = Lookups(h).lookup.poll("ADAUSDT", CID, 0.2)
    assert found == Lookup(None, True, pytest.approx(0.2), None)  # type: ignore[arg-type]
    assert queries(h) == 4


def test_a_rate_limit_waits_its_retry_after_within_the_bound(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    limited = {"code": -1003, "msg": "Too many requests."}
    h.faults.add("http", QUERY[1], method="GET", calls=1, status=429, body=limited)
    ask = Lookups(h)
    found = ask.lookup.poll("ADAUSDT", CID, 0.0)  # no Retry-After: one second
    assert ask.waits.calls == [1.0] and found.waited_s == 1.0
    assert found.not_found is False and found.error is not None and "429" in found.error
    h.faults.add("http", QUERY[1], method="GET", calls=2, status=429, body=limited, retry_after=60)
    ask = Lookups(h, max_rate_wait_s=7.0)
    found = ask.lookup.poll("ADAUSDT", CID, 0.2)  # 60 s asked, 7 s the bound
    assert ask.waits.calls == [7.0, 0.2]
    assert found == Lookup(None, True, pytest.approx(7.2), None)  # type: ignore[arg-type]
    # The default bound is 30 s, and a wait after a back-off adds to it.
    h.faults.add("http", QUERY[1], method="GET", calls=5, status=429, body=limited, retry_after=60)
    ask = Lookups(h)
    found = ask.lookup.poll("ADAUSDT", CID, 0.2)  # call 4: not found; call 5: 429
    assert ask.waits.calls == [0.2, 30.0] and found.waited_s == pytest.approx(30.2)
    assert found.not_found is True and found.error is not None and "429" in found.error


def test_a_ban_stops_the_lookup_and_keeps_what_was_seen(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    h.dialect.open_order("main", "ADAUSDT", "SELL", "12", "9", CID)
    h.faults.ban(418, path=QUERY[1], method="GET", call=2, retry_after=120)
    ask = Lookups(h)
    found = ask.lookup.poll("ADAUSDT", CID, 30.0)
    assert found.order is not None and found.order.status == "new"
    assert found.stopped == "stop: banned" and found.not_found is False
    assert found.error is not None and found.error == str(ask.bans[0])
    assert found.waited_s == pytest.approx(0.2) and len(ask.bans) == 1
    assert len(h.faults.banned_requests) == 1


def test_a_rejected_clock_is_fixed_and_asked_again(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    skew = {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
    h.faults.add("http", QUERY[1], method="GET", calls=1, status=400, body=skew)
    ask = Lookups(h)
    assert ask.lookup.poll("ADAUSDT", CID, 0.2) == Lookup(
        None,
        True,
        pytest.approx(0.2),  # type: ignore[arg-type]
        None,
    )
    assert ask.clock_fixes == 1 and queries(h) == 2
    h.faults.add("http", QUERY[1], method="GET", status=400, body=skew)
    found = Lookups(h).lookup.poll("ADAUSDT", CID, 0.0)
    assert found.error is not None and "recvWindow" in found.error, found.error
    found = Lookups(h, clock_fix="still wrong").lookup.poll("ADAUSDT", CID, 0.0)
    assert found.error == "still wrong" and found.not_found is False


def test_a_refusal_is_not_asked_again(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    h.dialect.open_order("main", "ADAUSDT", "SELL", "12", "9", CID)
    refused = {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
    h.faults.add("http", QUERY[1], method="GET", calls=2, status=401, body=refused)
    ask = Lookups(h)
    found = ask.lookup.poll("ADAUSDT", CID, 30.0)
    assert found.order is not None and found.order.status == "new"
    assert found.not_found is False and found.waited_s == pytest.approx(0.2)
    assert found.error is not None and "API-key" in found.error, found.error
    assert queries(h) == 2 and found.stopped is None


# ---------------------------------------------------------------------------- recording


def result(status: str, filled: str = "0", quote: str = "0") -> OrderResult:
    return OrderResult(
        "ADAUSDT", CID, "77", status, Decimal(filled), Decimal(quote), Decimal("0.01"), "BNB"
    )


def test_average_price_is_quote_over_filled_to_twelve_places() -> None:
    assert average_price(result("filled", "3", "1")) == Decimal("0.333333333333")
    assert str(average_price(result("filled", "4", "2.50"))) == "0.625"
    assert average_price(result("partially_filled", "0.5", "2")) == Decimal(4)
    assert average_price(result("cancelled")) is None
    assert average_price(result("cancelled", "0.5", "0.25")) == Decimal("0.5")


def test_outcome_status_and_error_of_every_final_status() -> None:
    cases = [
        (result("filled", "3", "1"), Status.FILLED, None),
        (
            result("partially_filled"),
            Status.PARTIALLY_FILLED,
            "partially_filled by the exchange with nothing executed",
        ),
        (
            result("cancelled", "0.00000001", "1"),
            Status.PARTIALLY_FILLED,
            "only 0.00000001 filled (not enough liquidity)",  # never an exponent
        ),
        (
            result("partially_filled", "2.50", "1"),
            Status.PARTIALLY_FILLED,
            "only 2.50 filled (not enough liquidity)",
        ),
        (
            result("cancelled", "0.1", "1"),
            Status.PARTIALLY_FILLED,
            "only 0.1 filled (not enough liquidity)",
        ),
        (result("cancelled"), Status.REJECTED, "cancelled by the exchange with nothing executed"),
        (result("rejected"), Status.REJECTED, "rejected by the exchange with nothing executed"),
    ]
    for answer, status, error in cases:
        assert (outcome_status(answer), final_error(answer)) == (status, error), answer


@pytest.mark.parametrize(
    ("status", "filled", "stored"),
    [
        ("filled", "3", "filled"),
        ("partially_filled", "2", "partially_filled"),
        ("partially_filled", "0.5", "partially_filled"),
        ("cancelled", "0", "cancelled"),
        ("rejected", "0", "rejected"),
        ("expired", "0", "failed"),
    ],
)
def test_record_final_writes_what_was_executed(
    tmp_path: Any, status: str, filled: str, stored: str
) -> None:
    ledger = Ledger(tmp_path / "history.sqlite3")
    record_id = ledger.add(
        exchange="binance",
        account="main",
        kind="order",
        asset="ADA",
        qty=Decimal("12.3"),
        price=Decimal("0.6"),
        market="ADAUSDT",
        client_id=CID,
        error="earlier",
    )
    answer = result(status, filled, "1.5" if filled != "0" else "0")
    record_final(ledger, record_id, answer)
    record = ledger.get(record_id)
    assert record is not None and record.status == stored
    assert record.order_id == "77" and record.fee == Decimal("0.01") and record.fee_asset == "BNB"
    assert record.received_qty == answer.quote_qty
    if filled != "0":
        assert record.qty == Decimal(filled) and record.price == Decimal("1.5") / Decimal(filled)
        assert record.error is None  # the shortfall is the outcome's to say, not an error
    else:
        assert record.qty == Decimal("12.3") and record.price == Decimal("0.6")
        assert record.error == f"{status} by the exchange with nothing executed"
    ledger.close()


# ---------------------------------------------------------------------------- pending records


def pending(
    h: Harness,
    *,
    qty: str = "12.3",
    market: str | None = "ADAUSDT",
    cid: str | None = CID,
    kind: str = "order",
) -> int:
    return h.ledger.add(
        exchange=h.name,
        account="main",
        kind=kind,
        asset="ADA",
        qty=Decimal(qty),
        received_asset="USDT",
        market=market,
        client_id=cid,
        time=WRITTEN,
    )


def settle(h: Harness, age_s: float, window: float = 0.3) -> list[Any]:
    ctx = RunContext(
        exchange=h.exchange,
        ledger=h.ledger,
        exchange_name=h.name,
        account="main",
        sleep=h.sleep,
        reconcile_window_s=window,
    )
    now: Callable[[], datetime] = lambda: WRITTEN + timedelta(seconds=age_s)  # noqa: E731
    return reconcile_pending(ctx, now=now)


def status_of(h: Harness, record_id: int) -> tuple[str, str | None]:
    record = h.ledger.get(record_id)
    assert record is not None
    return record.status, record.error


def test_only_pending_order_records_of_this_exchange_and_account_are_settled(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    others = [
        pending(h, kind="conversion"),
        h.ledger.add(
            exchange="bybit",
            account="main",
            kind="order",
            asset="ADA",
            qty=Decimal(1),
            market="ADAUSDT",
            client_id="ds-other00000-ADA",
        ),
        h.ledger.add(
            exchange="binance",
            account="other",
            kind="order",
            asset="ADA",
            qty=Decimal(1),
            market="ADAUSDT",
            client_id="ds-other00001-ADA",
        ),
    ]
    assert settle(h, 0.0) == []
    assert h.faults.counts() == {}
    assert [status_of(h, record_id)[0] for record_id in others] == ["pending"] * 3


def test_a_found_fill_settles_the_record_with_what_executed(
    make_harness: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    h.dialect.market.set_liquidity("ADAUSDT", "10")
    record_id = pending(h)
    placed = h.exchange.market_sell("ADAUSDT", Decimal("12.3"), CID)
    with caplog.at_level(logging.INFO, logger="dustsweep.sell.reconcile"):
        [outcome] = settle(h, 0.0)
    assert f"settled pending order {CID}: partially_filled" in caplog.messages
    assert outcome.asset == "ADA" and outcome.market == "ADAUSDT"
    assert outcome.qty == Decimal("12.3") and outcome.filled_qty == Decimal(10)
    assert outcome.status == Status.PARTIALLY_FILLED
    assert outcome.error == "only 10.00000000 filled (not enough liquidity)"
    assert outcome.client_order_id == CID and outcome.order_id == placed.order_id
    assert outcome.proceeds == placed.quote_qty > 0
    assert outcome.fee == placed.fee and outcome.fee_asset == placed.fee_asset
    assert outcome.quote_asset == "USDT" and outcome.record_id == record_id
    record = h.ledger.get(record_id)
    assert record is not None and record.status == "partially_filled"
    assert record.qty == Decimal(10) and record.received_qty == placed.quote_qty
    assert h.sleep.calls == []


def test_an_order_still_open_stays_pending(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    record_id = h.ledger.add(
        exchange="binance",
        account="main",
        kind="order",
        asset="ADA",
        qty=Decimal("12.3"),
        received_asset="USDT",
        market="ADAUSDT",
        client_id=CID,
        order_id="555",
    )
    h.dialect.open_order("main", "ADAUSDT", "SELL", "12.3", "9", CID)
    [outcome] = settle(h, 0.0, window=0.0)
    assert outcome.status == Status.UNKNOWN and outcome.error == f"order {CID} is still open"
    assert (outcome.asset, outcome.qty, outcome.order_id) == ("ADA", Decimal("12.3"), "555")
    assert outcome.record_id == record_id and outcome.quote_asset == "USDT"
    assert status_of(h, record_id) == ("pending", None)


def test_a_ban_leaves_every_record_pending_and_stops_asking(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    first = pending(h)
    second = pending(h, cid="ds-deadbeef00-ADA-2")
    h.faults.ban(418, path=QUERY[1], method="GET", retry_after=120)
    outcomes = settle(h, 0.0)
    assert [o.status for o in outcomes] == [Status.UNKNOWN, Status.UNKNOWN]
    assert outcomes[0].error == outcomes[1].error
    assert outcomes[0].error is not None
    assert outcomes[0].error.startswith("IP banned by binance until ")
    assert [o.record_id for o in outcomes] == [first, second]
    assert len(h.faults.banned_requests) == 1
    assert status_of(h, first)[0] == status_of(h, second)[0] == "pending"


@pytest.mark.parametrize(("market", "cid"), [(None, CID), ("ADAUSDT", None)])
def test_a_record_that_cannot_be_looked_up_is_closed(
    make_harness: HarnessFactory, market: str | None, cid: str | None
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    record_id = pending(h, market=market, cid=cid)
    [outcome] = settle(h, 0.0)
    reason = "no market or client id was recorded, so it cannot be looked up"
    assert outcome.status == Status.SKIPPED and outcome.error == reason
    assert outcome.market == (market or "") and outcome.client_order_id == cid
    assert status_of(h, record_id) == ("failed", reason)
    assert h.faults.counts() == {}


def test_a_fresh_record_is_asked_about_for_the_rest_of_its_window(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    record_id = pending(h)
    [outcome] = settle(h, 0.1, window=0.8)
    assert sum(h.sleep.calls) == pytest.approx(0.7)
    reason = (
        f"never placed: binance does not know order {CID} 0.8 s after it was recorded, "
        "and the free ADA (12.34560000) still covers the 12.3 it was for"
    )
    assert outcome.status == Status.SKIPPED and outcome.error == reason
    assert status_of(h, record_id) == ("failed", reason)


def test_an_old_record_is_asked_about_once(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "12.3"})  # the free balance covers it exactly
    pending(h)
    [outcome] = settle(h, 120.0)
    assert h.sleep.calls == [] and queries(h) == 1
    assert outcome.status == Status.SKIPPED
    assert f"does not know order {CID} 2 min after it was recorded" in outcome.error
    assert "the free ADA (12.30000000) still covers the 12.3 it was for" in outcome.error


def test_a_record_written_in_the_future_waits_the_whole_window(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    pending(h)
    [outcome] = settle(h, -100.0, window=0.3)
    assert sum(h.sleep.calls) == pytest.approx(0.3)
    assert "0.3 s after it was recorded" in outcome.error


def test_a_record_with_an_unreadable_time_waits_the_whole_window(
    make_harness: HarnessFactory, tmp_path: Any
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    record_id = pending(h)
    with sqlite3.connect(h.ledger.path) as db:
        db.execute("UPDATE records SET time = 'yesterday' WHERE id = ?", (record_id,))
    [outcome] = settle(h, 3600.0, window=0.3)
    assert sum(h.sleep.calls) == pytest.approx(0.3)
    assert "0.3 s after it was recorded" in outcome.error


def test_not_found_while_the_balance_fell_stays_pending_until_it_is_stale(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.2"})
    record_id = pending(h)
    [outcome] = settle(h, STALE_PENDING_S - 1)
    assert outcome.status == Status.UNKNOWN
    assert outcome.error == (
        f"binance does not know order {CID} 1440 min after it was recorded, but the free ADA "
        "(12.20000000) no longer covers 12.3; left pending for the next run"
    )
    assert status_of(h, record_id) == ("pending", None)
    [outcome] = settle(h, STALE_PENDING_S)
    reason = (
        f"not confirmed: binance does not know order {CID} 1440 min after it was recorded, "
        "and the free ADA no longer covers 12.3; check the exchange's order history"
    )
    assert outcome.status == Status.SKIPPED and outcome.error == reason
    assert status_of(h, record_id) == ("failed", reason)


def test_amounts_in_reasons_never_have_an_exponent(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "0.00000001"})  # str() would say 1E-8
    covered = pending(h, qty="0.00000001")
    fell = pending(h, qty="0.00000002", cid="ds-deadbeef00-ADA-2")
    outcomes = settle(h, 600.0)
    assert outcomes[0].error.endswith(
        "the free ADA (0.00000001) still covers the 0.00000001 it was for"
    )
    assert outcomes[1].error.endswith(
        "but the free ADA (0.00000001) no longer covers 0.00000002; left pending for the next run"
    )
    assert status_of(h, covered)[0] == "failed" and status_of(h, fell)[0] == "pending"
    [stale] = settle(h, STALE_PENDING_S)
    assert stale.error is not None
    assert stale.error.endswith("no longer covers 0.00000002; check the exchange's order history")


def test_an_asset_without_any_balance_does_not_cover_the_order(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"XRP": "3"})
    record_id = pending(h)
    [outcome] = settle(h, 600.0)
    assert outcome.status == Status.UNKNOWN and outcome.error is not None
    assert outcome.error.endswith(
        "but the free ADA (0) no longer covers 12.3; left pending for the next run"
    )
    assert status_of(h, record_id)[0] == "pending"


def test_unreadable_balances_leave_the_record_pending(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    record_id = pending(h)
    h.faults.add("http", ACCOUNT[1], method="GET", status=503)
    [outcome] = settle(h, 600.0)
    assert outcome.status == Status.UNKNOWN
    assert outcome.error.startswith(
        f"binance does not know order {CID} 10 min after it was recorded; "
        "balances could not be read: "
    )
    assert "503" in outcome.error
    assert status_of(h, record_id) == ("pending", None)


def test_balances_are_read_once_for_every_record(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    pending(h)
    pending(h, cid="ds-deadbeef00-ADA-2")
    outcomes = settle(h, 600.0)
    assert [o.status for o in outcomes] == [Status.SKIPPED, Status.SKIPPED]
    assert h.faults.count(*ACCOUNT) == 1


def test_the_clock_is_synchronised_once_per_settling(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    skew = {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
    h.faults.add("http", QUERY[1], method="GET", status=400, body=skew)
    record_id = pending(h)
    pending(h, cid="ds-deadbeef00-ADA-2")
    first, second = settle(h, 0.0, window=0.2)
    expected = "no answer from the exchange (the clock is still rejected after synchronising it)"
    assert first.status == second.status == Status.UNKNOWN
    assert first.error == second.error == expected
    assert h.faults.count("GET", "/api/v3/time") == 1
    assert status_of(h, record_id) == ("pending", None)


def test_a_clock_that_cannot_be_synchronised_is_said(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    skew = {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
    h.faults.add("http", QUERY[1], method="GET", status=400, body=skew)
    h.faults.add("http", "/api/v3/time", method="GET", status=503)
    pending(h)
    [outcome] = settle(h, 600.0)
    assert outcome.status == Status.UNKNOWN
    assert outcome.error.startswith(
        "no answer from the exchange (the clock could not be synchronised: "
    )
