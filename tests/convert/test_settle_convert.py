"""Settling pending Convert records in a later run (convert/settle.py, the Convert branch).

A run that died after accepting a quote leaves a pending record; the next run asks the
exchange (by order id, or by quote id when the order id was never recorded), and only once the
quote can no longer be accepted lets the balance decide. Real Binance adapter against the
simulator, whose clock the tests move (``Desk.advance``). Each test was written for mutants
that the other convert tests let survive (tests/MUTANTS.md).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from dustsweep.convert.execute import execute_conversion
from dustsweep.convert.settle import CONVERT_QUOTE_MAX_MS, reconcile_pending_conversions
from dustsweep.run.outcome import Status
from tests.convert.records import pending_convert
from tests.convert.test_execute import Desk, DeskFactory
from tests.convert.test_execute import desk as desk  # the fixture
from tests.convert.test_faults import Crash, CrashingLedger
from tests.convert.test_rfq import POLICY, STATUS, CrashBeforeOrderId, apt_section

D = Decimal
ALL_APT = frozenset({"APT"})
MARGIN_MS = 2_000  # evidence.QUOTE_MARGIN_MS: how long after its expiry a quote is surely dead


def crashed_run(desk: DeskFactory, ledger_class: type = CrashingLedger) -> Desk:
    """APT accepted through Convert, then the run died before recording the outcome."""
    d = desk(section=apt_section())
    plan = d.plan("BNB", POLICY, convert=True, assets=ALL_APT)
    crashing = ledger_class(d.ledger.path)
    with pytest.raises(Crash):
        execute_conversion(plan, d.context(crashing))
    crashing.close()
    return d


def test_an_order_that_cannot_be_read_stays_pending(desk: DeskFactory) -> None:
    d = crashed_run(desk)
    (pending,) = d.ledger.pending()
    assert pending.order_id is not None
    d.server.faults.add("http", STATUS, status=503)
    (line,) = reconcile_pending_conversions(d.context())
    assert line.status == Status.UNKNOWN and line.error is not None
    assert line.error.startswith("could not check with the exchange: ") and "503" in line.error
    assert (line.asset, line.amount, line.target) == ("APT", D("2.5"), "BNB")
    assert (line.client_id, line.transfer_id) == (pending.client_id, pending.order_id)
    assert line.record_id == pending.id and line.route == "convert"
    record = d.ledger.get(pending.id)
    assert record is not None and record.status == "pending" and record.error == line.error


def test_a_quote_that_may_still_be_accepted_is_checked_next_run(desk: DeskFactory) -> None:
    """Only the quote id is known and the exchange cannot be asked: while the quote could still
    be accepted nothing is concluded; after that the fallen balance says it was accepted."""
    d = crashed_run(desk, CrashBeforeOrderId)
    (pending,) = d.ledger.pending()
    assert pending.order_id is None
    d.server.faults.add("http", STATUS, status=503)
    (line,) = reconcile_pending_conversions(d.context())
    assert line.status == Status.UNKNOWN
    assert line.error == "its quote may still be accepted: checked next run"
    record = d.ledger.get(pending.id)
    assert record is not None and (record.status, record.error) == ("pending", line.error)
    d.advance(CONVERT_QUOTE_MAX_MS + MARGIN_MS + 1_000)
    (line,) = reconcile_pending_conversions(d.context())
    assert line.status == Status.CONVERTED and line.received is None
    record = d.ledger.get(pending.id)
    assert record is not None and record.status == "converted"


def test_a_quote_never_accepted_is_failed_once_it_is_dead(desk: DeskFactory) -> None:
    d = desk(section=apt_section())
    now = d.context().server_now()
    record_id = pending_convert(d, now, client_id="q-never-accepted", fee_asset=None)
    (line,) = reconcile_pending_conversions(d.context())
    assert line.status == Status.UNKNOWN  # the quote might still be accepted
    d.advance(CONVERT_QUOTE_MAX_MS + MARGIN_MS - 1_000)  # a second before the edge
    (line,) = reconcile_pending_conversions(d.context())
    assert line.status == Status.UNKNOWN
    d.advance(2_000)  # a second after it
    (line,) = reconcile_pending_conversions(d.context())
    assert line.status == Status.FAILED
    assert (
        line.error
        == "not converted: quote q-never-accepted expired unaccepted (the balance is intact)"
    )
    record = d.ledger.get(record_id)
    assert record is not None and record.status == "failed" and d.free("APT") == D("2.5")


def test_an_order_found_by_quote_id_gets_its_order_id_recorded(desk: DeskFactory) -> None:
    d = crashed_run(desk, CrashBeforeOrderId)
    (pending,) = d.ledger.pending()
    (line,) = reconcile_pending_conversions(d.context())
    (order,) = d.dialect.account("main").convert_orders
    assert (line.status, line.received) == (Status.CONVERTED, D("0.04"))
    record = d.ledger.get(pending.id)
    assert record is not None and record.order_id == str(order.order_id)
    assert line.transfer_id == str(order.order_id)
