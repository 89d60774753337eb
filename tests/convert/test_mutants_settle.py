"""Settling pending conversions of earlier runs (convert/settle.py): the paths the other tests
let pass.

Written for the mutants the other convert tests let survive (issue 9, tests/MUTANTS.md): a
small-balance conversion the exchange cannot be asked about, one without a trace (balances
moved, then a day later), the exact edges of "its quote may still be accepted" and "after a
day", and a Convert order found by its quote id or read while still processing. The real Binance
adapter against the simulator; records left by a crashed run, or written as such a run leaves
them (``pending_native``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from dustsweep.convert.execute import execute_conversion
from dustsweep.convert.settle import (
    CONVERT_QUOTE_MAX_MS,
    STALE_PENDING_MS,
    reconcile_pending_conversions,
)
from dustsweep.run.outcome import Status
from tests.convert.records import pending_convert
from tests.convert.test_execute import DRIBBLET, Desk, DeskFactory
from tests.convert.test_execute import desk as desk  # the fixture
from tests.convert.test_faults import Crash, CrashingLedger
from tests.convert.test_mutants_rfq_settle import assert_line_is_the_record
from tests.convert.test_rfq import STATUS, CrashBeforeOrderId, apt_section
from tests.convert.test_rfq_paths import ACCOUNT
from tests.convert.test_settle_convert import MARGIN_MS, crashed_run

D = Decimal
SENT_MS = 1_900_000_000_000  # when the earlier run sent it, on the exchange's clock
NO_TRACE_YET = "no trace of it on the exchange yet: the next run checks again"
AFTER_A_DAY = "no trace of it on the exchange after a day: check its conversion history"


def pending_native(
    d: Desk, asset: str, qty: str, exchange: str = "binance", account: str = "main"
) -> int:
    """The record a dust -> BNB conversion leaves while its outcome is unknown."""
    return d.ledger.add(
        exchange=exchange,
        account=account,
        kind="conversion",
        asset=asset,
        qty=D(qty),
        received_asset="BNB",
        fee_asset="BNB",
        market="native",
        client_id="ds-k3x9-1",
        time=datetime.fromtimestamp(SENT_MS / 1000, UTC),
    )


def at(d: Desk, server_ms: int, **kw: Any) -> Any:
    """A context whose exchange time stands at ``server_ms``."""
    offset = int(d.exchange.clock_offset_ms)
    return d.context(now_ms=lambda: server_ms - offset, **kw)


def settle_one(d: Desk, ctx: Any, record_id: int) -> tuple[Any, Any]:
    (line,) = reconcile_pending_conversions(ctx)
    record = d.ledger.get(record_id)
    assert record is not None
    return line, record


def assert_native_line(line: Any, record: Any, status: Status, error: str) -> None:
    assert (line.asset, line.route, line.target) == (record.asset, "native", "BNB")
    assert (line.status, line.amount, line.error) == (status, record.qty, error)
    assert (line.client_id, line.record_id) == (record.client_id, record.id)
    assert record.error == error


def test_a_conversion_the_exchange_cannot_be_asked_about_stays_pending(
    desk: DeskFactory,
) -> None:
    d = desk()
    record_id = pending_native(d, "XRP", "0.5")
    d.server.faults.add("http", DRIBBLET, status=503)
    line, record = settle_one(d, at(d, SENT_MS + 60_000), record_id)
    assert line.error is not None and line.error.startswith("could not check with the exchange: ")
    assert "503" in line.error and record.status == "pending"
    assert_native_line(line, record, Status.UNKNOWN, line.error)


def test_no_trace_with_the_balances_intact_is_not_converted(desk: DeskFactory) -> None:
    d = desk()
    record_id = pending_native(d, "XRP", "0.5")  # XRP's free balance is still 0.5
    line, record = settle_one(d, at(d, SENT_MS + 60_000), record_id)
    error = "not converted: the exchange has no record of it and the balances are intact"
    assert record.status == "failed"
    assert_native_line(line, record, Status.FAILED, error)


def test_only_this_accounts_records_are_settled(desk: DeskFactory) -> None:
    """Records of another account, or of the same account name on another exchange, are not
    this account's to settle: they stay pending, untouched."""
    d = desk()
    mine = pending_native(d, "XRP", "0.5")
    others = [
        pending_native(d, "XRP", "0.5", account="other"),
        pending_native(d, "XRP", "0.5", exchange="bybit"),
    ]
    lines = reconcile_pending_conversions(at(d, SENT_MS + 60_000))
    assert [line.record_id for line in lines] == [mine]
    for record_id in others:
        record = d.ledger.get(record_id)
        assert record is not None and (record.status, record.error) == ("pending", None)


def test_no_trace_with_moved_balances_waits_a_day_to_the_millisecond(desk: DeskFactory) -> None:
    """XRP fell below the amount sent (spent elsewhere) and no log shows a conversion: nothing
    can be concluded until a day has passed, then the record is closed with advice."""
    d = desk()
    record_id = pending_native(d, "XRP", "0.6")  # only 0.5 XRP is left
    line, record = settle_one(d, at(d, SENT_MS + STALE_PENDING_MS), record_id)
    assert record.status == "pending"
    assert_native_line(line, record, Status.UNKNOWN, NO_TRACE_YET)
    line, record = settle_one(d, at(d, SENT_MS + STALE_PENDING_MS + 1), record_id)
    assert record.status == "failed"
    assert_native_line(line, record, Status.FAILED, f"not converted: {AFTER_A_DAY}")
    assert d.free("XRP") == D("0.5") and d.count("POST", "/sapi/v1/asset/dust") == 0


def test_a_conversion_found_in_the_log_costs_no_balance_read(desk: DeskFactory) -> None:
    d = desk()
    plan = d.plan("BNB")
    crashing = CrashingLedger(d.ledger.path)
    with pytest.raises(Crash):
        execute_conversion(plan, d.context(crashing))
    crashing.close()
    pending = {r.asset: r for r in d.ledger.pending()}
    assert set(pending) == {"XRP", "TRX"}
    reads = d.count("GET", ACCOUNT)
    lines = reconcile_pending_conversions(d.context())
    assert {line.asset: line.status for line in lines} == {"XRP": "converted", "TRX": "converted"}
    for line in lines:
        assert (line.route, line.target, line.amount) == ("native", "BNB", pending[line.asset].qty)
        assert line.received is not None and line.received > 0
    assert d.count("GET", ACCOUNT) == reads
    assert d.ledger.pending() == []


def test_a_quote_is_given_up_only_after_the_longest_validity_to_the_millisecond(
    desk: DeskFactory,
) -> None:
    d = desk(section=apt_section())
    record_id = pending_convert(d, datetime.fromtimestamp(SENT_MS / 1000, UTC))
    edge = SENT_MS + CONVERT_QUOTE_MAX_MS + MARGIN_MS
    line, record = settle_one(d, at(d, edge), record_id)
    assert (line.status, record.status) == (Status.UNKNOWN, "pending")
    assert line.error == "its quote may still be accepted: checked next run"
    line, record = settle_one(d, at(d, edge + 1), record_id)
    assert (line.status, record.status) == (Status.FAILED, "failed")
    assert_line_is_the_record(line, record)


def test_an_order_found_by_quote_but_unreadable_keeps_its_order_id(desk: DeskFactory) -> None:
    """Found by the quote id (still processing), then every read of it fails: the record keeps
    the order id for the next run, and the line says what is known."""
    d = crashed_run(desk, CrashBeforeOrderId)
    (pending,) = d.ledger.pending()
    assert pending.order_id is None
    first = d.count("GET", STATUS) + 1
    d.server.faults.add("garble", STATUS, field="orderStatus", value="PROCESS", calls=first)
    d.server.faults.add("http", STATUS, status=503, calls=tuple(range(first + 1, first + 99)))
    line, record = settle_one(d, d.context(), pending.id)
    (order,) = d.dialect.account("main").convert_orders
    assert (line.status, line.amount, line.received) == (Status.UNKNOWN, D("2.5"), 0)
    assert line.error == f"Convert order {order.order_id} still PROCESS: the next run settles it"
    assert record.status == "pending" and record.order_id == str(order.order_id)
    assert_line_is_the_record(line, record)


def test_a_processing_order_is_read_again_until_it_succeeds(desk: DeskFactory) -> None:
    """By its order id: PROCESS twice, then one read that fails, then SUCCESS."""
    d = crashed_run(desk)
    (pending,) = d.ledger.pending()
    assert pending.order_id is not None
    first = d.count("GET", STATUS) + 1
    process = (first, first + 1)
    d.server.faults.add("garble", STATUS, field="orderStatus", value="PROCESS", calls=process)
    d.server.faults.add("http", STATUS, status=503, calls=(first + 2, first + 3, first + 4))
    line, record = settle_one(d, d.context(), pending.id)
    assert (line.status, line.amount, line.received) == (Status.CONVERTED, D("2.5"), D("0.04"))
    assert record.status == "converted"
    assert_line_is_the_record(line, record)
    assert sum(d.sleeps) > 0  # it waited between reads


def test_a_failed_order_read_by_its_id_keeps_the_recorded_amount(desk: DeskFactory) -> None:
    d = crashed_run(desk)
    (pending,) = d.ledger.pending()
    d.server.faults.add("garble", STATUS, field="orderStatus", value="FAIL")
    line, record = settle_one(d, d.context(), pending.id)
    assert (line.status, line.amount, line.received) == (Status.FAILED, D("2.5"), 0)
    assert record.status == "failed"
    assert_line_is_the_record(line, record)
