"""Settling one Convert quote (convert/rfq_settle.py): every field of the line and the record.

Written for the mutants the other convert tests let survive (issue 9, tests/MUTANTS.md): the
amounts the order's answer gives (or leaves out), the target, ids and record of each outcome,
and the note of a lost accept settled without any answer. The real Binance adapter against the
simulator; APT can only go through Convert (tests/convert/test_rfq.py).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dustsweep.convert.settle import CONVERT_QUOTE_MAX_MS, reconcile_pending_conversions
from dustsweep.run.outcome import ActionOutcome, Status
from tests.convert.records import pending_convert
from tests.convert.test_execute import DeskFactory
from tests.convert.test_execute import desk as desk  # the fixture
from tests.convert.test_rfq import STATUS, CrashBeforeOrderId, apt_section
from tests.convert.test_rfq_paths import ACCOUNT, convert_apt
from tests.convert.test_settle_convert import MARGIN_MS, crashed_run

D = Decimal


def assert_line_is_the_record(line: ActionOutcome, record: Any) -> None:
    """The line names the asset, the target, the quote, the order and the record the history
    holds, with no fee beyond the quoted rate."""
    assert (line.asset, line.route, line.target) == ("APT", "convert", "BNB")
    assert line.asset == record.asset and line.target == record.received_asset
    assert (line.fee, line.fee_asset) == (0, "BNB")
    assert line.client_id is not None and line.client_id == record.client_id
    assert line.record_id == record.id
    assert line.transfer_id == record.order_id


def garbled(field: str, value: str) -> dict[str, Any]:
    return {"kind": "garble", "path": STATUS, "field": field, "value": value}


def test_the_order_answer_amounts_are_recorded_over_the_quoted_ones(desk: DeskFactory) -> None:
    """What the exchange says it converted is what the history keeps."""
    d, line = convert_apt(desk, garbled("fromAmount", "2.4"), garbled("toAmount", "0.0384"))
    (record,) = d.ledger.records(kind="conversion")
    assert line.status == Status.CONVERTED and line.error is None
    assert (line.amount, line.received) == (D("2.4"), D("0.0384"))
    assert (record.status, record.qty, record.received_qty) == ("converted", D("2.4"), D("0.0384"))
    assert (record.fee, record.fee_asset, record.error) == (0, "BNB", None)
    assert record.order_id is not None
    assert_line_is_the_record(line, record)


def test_an_order_answer_without_amounts_keeps_the_quoted_ones(desk: DeskFactory) -> None:
    """A quote is firm: when the answer leaves the amounts out, the quote's stand in."""
    d, line = convert_apt(desk, garbled("fromAmount", ""), garbled("toAmount", ""))
    (record,) = d.ledger.records(kind="conversion")
    assert line.status == Status.CONVERTED
    assert (line.amount, line.received) == (D("2.5"), D("0.04"))
    assert (record.qty, record.received_qty, record.fee_asset) == (D("2.5"), D("0.04"), "BNB")
    assert_line_is_the_record(line, record)
    assert d.free("APT") == 0


def test_a_failed_order_line_names_the_quote_order_and_record(desk: DeskFactory) -> None:
    d, line = convert_apt(desk, garbled("orderStatus", "FAIL"))
    (record,) = d.ledger.records(kind="conversion")
    assert (line.status, line.amount, line.received) == (Status.FAILED, D("2.5"), 0)
    assert record.status == "failed" and record.order_id is not None
    assert_line_is_the_record(line, record)


def test_an_order_still_processing_line_names_the_quote_order_and_record(
    desk: DeskFactory,
) -> None:
    d, line = convert_apt(desk, {"kind": "http", "path": STATUS, "status": 503})
    (record,) = d.ledger.records(kind="conversion")
    assert (line.status, line.amount, line.received) == (Status.UNKNOWN, D("2.5"), 0)
    assert record.status == "pending" and record.order_id is not None
    assert_line_is_the_record(line, record)


def test_a_later_run_settles_the_order_and_clears_the_earlier_note(desk: DeskFactory) -> None:
    """The first try could not read the order (the record keeps why); the next one reads it:
    converted, the order's amounts, and the note is gone."""
    d = crashed_run(desk)
    (pending,) = d.ledger.pending()
    d.server.faults.add("http", STATUS, status=503, calls=(1, 2, 3, 4, 5))
    (first,) = reconcile_pending_conversions(d.context())
    assert first.status == Status.UNKNOWN
    noted = d.ledger.get(pending.id)
    assert noted is not None and noted.error is not None
    (line,) = reconcile_pending_conversions(d.context())
    record = d.ledger.get(pending.id)
    assert record is not None
    assert (line.status, line.amount, line.received) == (Status.CONVERTED, D("2.5"), D("0.04"))
    assert (record.status, record.error, record.fee_asset) == ("converted", None, "BNB")
    assert (record.qty, record.received_qty) == (D("2.5"), D("0.04"))
    assert_line_is_the_record(line, record)


def dead_unanswered_quote(desk: DeskFactory, *faults: dict[str, Any]) -> tuple[Any, Any]:
    """APT accepted, the run died before the order id was recorded, the order cannot be found
    by its quote id, and the quote is long dead: the balance decides."""
    d = crashed_run(desk, CrashBeforeOrderId)
    (pending,) = d.ledger.pending()
    d.server.faults.add("http", STATUS, status=503)
    for fault in faults:
        options = dict(fault)
        d.server.faults.add(options.pop("kind"), options.pop("path"), **options)
    d.advance(CONVERT_QUOTE_MAX_MS + MARGIN_MS + 1_000)
    return d, pending


def test_a_dead_quote_with_unreadable_balances_says_there_was_no_answer(
    desk: DeskFactory,
) -> None:
    d, pending = dead_unanswered_quote(desk, {"kind": "http", "path": ACCOUNT, "status": 503})
    (line,) = reconcile_pending_conversions(d.context())
    assert line.status == Status.UNKNOWN and line.error is not None
    assert line.error.startswith("outcome unknown (no answer); balance unreadable: ")
    assert (line.amount, line.received) == (D("2.5"), 0)
    record = d.ledger.get(pending.id)
    assert record is not None and (record.status, record.error) == ("pending", line.error)
    assert_line_is_the_record(line, record)


def test_a_dead_quote_with_a_fallen_balance_line_names_the_record(desk: DeskFactory) -> None:
    d, pending = dead_unanswered_quote(desk)
    (line,) = reconcile_pending_conversions(d.context())
    record = d.ledger.get(pending.id)
    assert record is not None and record.status == "converted"
    assert (line.status, line.amount, line.received) == (Status.CONVERTED, D("2.5"), None)
    assert_line_is_the_record(line, record)


def test_a_dead_quote_with_an_intact_balance_line_names_the_record(desk: DeskFactory) -> None:
    d = desk(section=apt_section())
    now = d.context().server_now()
    record_id = pending_convert(d, now, client_id="q-never-accepted")
    d.advance(CONVERT_QUOTE_MAX_MS + MARGIN_MS + 1_000)
    (line,) = reconcile_pending_conversions(d.context())
    record = d.ledger.get(record_id)
    assert record is not None and record.status == "failed"
    assert (line.status, line.amount, line.received) == (Status.FAILED, D("2.5"), 0)
    assert line.error == record.error
    assert_line_is_the_record(line, record)
    assert d.free("APT") == D("2.5")
