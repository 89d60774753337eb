"""Settling Bybit small-balance conversions an earlier run left pending (convert/settle.py).

Bybit executes a small-balance conversion asynchronously: the history shows it ``processing``
for a while (the simulator's ``settle_ms``), then final. Written for the mutants of
``_settle_native`` and ``_absence`` tests/MUTANTS.md listed as real and not killed: a
conversion still processing when the next run looks (the run waits for it, within the reconcile
window), a record whose executed quote differs from its client id (left by an earlier version,
whose adapter replaced a quote in its last second), and a quote that never executed, given up
exactly when it can no longer be executed. The real pybit adapter against the simulator; the
exchange's time is the simulator's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from dustsweep.convert.caps import quote_ttl_ms
from dustsweep.convert.evidence import QUOTE_MARGIN_MS
from dustsweep.convert.execute import execute_conversion
from dustsweep.convert.settle import reconcile_pending_conversions
from dustsweep.run.outcome import Status
from dustsweep.storage.ledger import Ledger
from tests.convert.test_execute import DeskFactory
from tests.convert.test_execute import desk as desk  # the fixture
from tests.convert.test_execute_bybit import SB_EXECUTE, SB_HISTORY, bybit_section, dust
from tests.convert.test_faults import Crash
from tests.convert.test_mutants_settle import NO_TRACE_YET, at

D = Decimal
SETTLE_MS = 20_000  # Bybit shows the conversion processing this long after executing it
SLOW = {"settle_ms": SETTLE_MS, "processing_polls": 1_000}


class CrashAfterSend(Ledger):
    """The process dies as soon as anything is recorded after the request was sent."""

    def update(self, record_id: int, **changes: object) -> None:
        raise Crash


def by_asset(lines: Any) -> dict[str, Any]:
    return {line.asset: line for line in lines}


def assert_settled_from_the_history(d: Any, lines: Any, executed: Any) -> None:
    """Every coin converted with the history's own amounts, fee and quote id."""
    subs = {s.from_coin: s for s in executed.subs}
    lines = by_asset(lines)
    assert set(lines) == set(subs)
    records = d.records()
    for asset, line in lines.items():
        sub = subs[asset]
        assert (line.status, line.amount) == (Status.CONVERTED, sub.from_amount)
        assert (line.received, line.fee) == (sub.to_amount, sub.fee)
        assert line.transfer_id == executed.tx_id
        record = records[asset]
        assert (record.status, record.order_id) == ("converted", executed.tx_id)
        assert (record.received_qty, record.fee) == (sub.to_amount + sub.fee, sub.fee)
        assert record.error is None
    assert d.ledger.pending() == []


# -- still processing when the next run looks ---------------------------------------------------


def test_a_conversion_still_processing_after_a_crash_is_waited_for_and_recorded(
    desk: DeskFactory,
) -> None:
    d = desk("bybit", bybit_section(dust(["XRP", "ADA"]), **SLOW))
    plan = d.plan("USDT")
    crashing = CrashAfterSend(d.ledger.path)
    with pytest.raises(Crash):
        execute_conversion(plan, d.context(crashing))
    crashing.close()
    (executed,) = d.dialect.account("main").conversions
    assert executed.status == "processing"
    pending = d.ledger.pending()
    assert {r.asset for r in pending} == {"XRP", "ADA"}
    assert {(r.client_id, r.order_id) for r in pending} == {(executed.tx_id, None)}
    looks = d.count("GET", SB_HISTORY)
    d.advance(1_000)  # the next run starts: Bybit still shows it processing
    lines = reconcile_pending_conversions(d.context(reconcile_window_s=30.0))
    assert executed.status == "success"
    assert_settled_from_the_history(d, lines, executed)
    # It asked again and again (the first look still saw it processing) and waited for it.
    assert d.count("GET", SB_HISTORY) - looks > 2
    assert SETTLE_MS / 1000 - 1 <= sum(d.sleeps) <= 30.0
    assert d.count("POST", SB_EXECUTE) == 1


def test_a_conversion_still_processing_at_the_end_of_the_window_stays_pending(
    desk: DeskFactory,
) -> None:
    """The wait ends before Bybit does: the records stay pending with the quote id (never
    settled from the balances while the exchange says it is executing), and the next run
    records it."""
    d = desk("bybit", bybit_section(dust(["XRP", "ADA"]), **SLOW))
    crashing = CrashAfterSend(d.ledger.path)
    with pytest.raises(Crash):
        execute_conversion(d.plan("USDT"), d.context(crashing))
    crashing.close()
    (executed,) = d.dialect.account("main").conversions
    lines = reconcile_pending_conversions(d.context(reconcile_window_s=5.0))
    assert executed.status == "processing"
    for line in lines:
        assert (line.status, line.received, line.transfer_id) == (Status.UNKNOWN, 0, executed.tx_id)
        assert line.error == "submitted, outcome not known yet: the next run settles it"
    assert {(r.asset, r.order_id) for r in d.ledger.pending()} == {
        ("XRP", executed.tx_id),
        ("ADA", executed.tx_id),
    }
    d.advance(SETTLE_MS)
    assert_settled_from_the_history(d, reconcile_pending_conversions(d.context()), executed)


# -- the executed quote is not the client id ----------------------------------------------------


def test_the_quote_that_executed_is_looked_up_not_the_one_first_recorded(
    desk: DeskFactory,
) -> None:
    """Records an earlier version left: its adapter replaced a quote that had under a second
    left by a new one and executed that, so the records hold the first quote as client id and,
    from the answer (still processing), the executed one as order id. The next run looks up
    the executed one: the first never executed and has no trace."""
    d = desk("bybit", bybit_section(dust(["XRP", "ADA"]), **SLOW))
    first = d.exchange.quote_conversion("USDT", ["XRP", "ADA"])
    second = d.exchange.quote_conversion("USDT", ["XRP", "ADA"])
    result = d.exchange.convert(second, ["XRP", "ADA"], "ds-k3x9-1")
    assert result.status == "pending" and result.transfer_id == second.quote_id
    (executed,) = d.dialect.account("main").conversions
    sent = d.context().server_now()
    for line in first.lines:
        d.ledger.add(
            exchange="bybit",
            account="main",
            kind="conversion",
            asset=line.asset,
            qty=line.amount,
            received_asset="USDT",
            fee_asset="USDT",
            market="native",
            client_id=first.quote_id,
            order_id=executed.tx_id,
            time=sent,
        )
    d.advance(SETTLE_MS)
    lines = reconcile_pending_conversions(d.context())
    assert_settled_from_the_history(d, lines, executed)
    assert {line.client_id for line in lines} == {first.quote_id}
    assert not d.dialect.small_balance.quotes[str(first.quote_id)].used
    assert d.count("POST", SB_EXECUTE) == 1


# -- a quote that never executed ----------------------------------------------------------------


def test_a_quote_with_no_trace_is_given_up_only_once_it_can_no_longer_execute(
    desk: DeskFactory,
) -> None:
    """A run recorded the quote and died before executing it; XRP was partly spent since, so
    the balances prove nothing. Up to the quote's validity plus the margin (to the millisecond)
    it could still execute: pending. One millisecond later it is closed as never executed."""
    d = desk("bybit", bybit_section(dust(["XRP"])))
    (preview,) = d.plan("USDT").previews
    quote = str(preview.quote_id)
    sent_ms = d.context().server_now_ms()
    record_id = d.ledger.add(
        exchange="bybit",
        account="main",
        kind="conversion",
        asset="XRP",
        qty=d.free("XRP") * 2,  # more than is left now
        received_asset="USDT",
        fee_asset="USDT",
        market="native",
        client_id=quote,
        time=datetime.fromtimestamp(sent_ms / 1000, UTC),
    )
    edge = sent_ms + (quote_ttl_ms(d.exchange) or 0) + QUOTE_MARGIN_MS
    assert edge == sent_ms + 32_000
    (line,) = reconcile_pending_conversions(at(d, edge))
    record = d.ledger.get(record_id)
    assert record is not None and record.status == "pending"
    assert (line.status, line.error, record.error) == (Status.UNKNOWN, NO_TRACE_YET, NO_TRACE_YET)
    (line,) = reconcile_pending_conversions(at(d, edge + 1))
    record = d.ledger.get(record_id)
    error = f"not converted: quote {quote} expired with no record of it on the exchange"
    assert record is not None and (record.status, record.error) == ("failed", error)
    assert (line.status, line.error, line.client_id) == (Status.FAILED, error, quote)
    assert d.dialect.account("main").conversions == []
