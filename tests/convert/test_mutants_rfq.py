"""One Convert quote through convert/rfq.py: the paths and fields the other tests let pass.

Written for the mutants the other convert tests let survive (issue 9, tests/MUTANTS.md): the
record a quote opens (run, time, rate, fee asset), the exact edge of a quote's validity, how long
a lost accept waits, the error each refusal leaves in the history, a ban seen by another worker
between quote and accept, and the log lines of lookups that failed. The real Binance adapter
against the simulator; APT can only go through Convert (tests/convert/test_rfq.py).
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from dustsweep.convert.execute import execute_conversion
from dustsweep.convert.types import ConversionContext
from dustsweep.errors import Banned
from dustsweep.exchanges.bans import REGISTRY
from dustsweep.run.outcome import Status
from tests.convert.test_execute import Desk, DeskFactory
from tests.convert.test_execute import desk as desk  # the fixture
from tests.convert.test_mutants_rfq_settle import assert_line_is_the_record
from tests.convert.test_rfq import ACCEPT, GET_QUOTE, POLICY, STATUS, apt_section
from tests.convert.test_rfq_paths import ACCOUNT, ALL_APT, convert_apt

D = Decimal
EXPIRED = {"code": -345233, "msg": "Quote expired."}
RFQ_LOGGER = "dustsweep.convert.rfq"
AFTER_THE_FIRST = tuple(range(2, 100))  # every call but the first (reads are retried)


def frozen_context(d: Desk, **kw: Any) -> tuple[ConversionContext, int]:
    """A context whose local clock stands still (only the Desk's sleeps move the exchange's
    time), and the exchange's time it starts at."""
    start_ms = 1_900_000_000_000
    ctx = d.context(now_ms=lambda: start_ms, **kw)
    return ctx, ctx.server_now_ms()


def plan_apt(d: Desk) -> Any:
    return d.plan("BNB", POLICY, convert=True, assets=ALL_APT)


def test_the_record_a_quote_opens_names_the_run_time_rate_and_fee_asset(
    desk: DeskFactory,
) -> None:
    """The pending record (here left pending by a ban on the accept) carries the run, the
    exchange's time, the quoted rate and the target as fee asset."""
    d = desk(section=apt_section())
    plan = plan_apt(d)
    run_id = d.ledger.begin_run("convert", False)
    ban = {"code": -1003, "msg": "Way too much request weight used; IP banned."}
    d.server.faults.add("http", ACCEPT, status=418, body=ban, retry_after=120)
    d.advance(3_600_000)  # the exchange's clock runs an hour ahead of ours
    ctx = ConversionContext(
        exchange=d.exchange,
        ledger=d.ledger,
        run_id=run_id,
        exchange_name="binance",
        account="main",
        sleep=d.sleep,
    )
    outcome = execute_conversion(plan, ctx)
    (line,) = outcome.lines
    (record,) = d.ledger.records(kind="conversion")
    assert (line.status, line.amount, line.received) == (Status.UNKNOWN, D("2.5"), None)
    assert record.status == "pending" and record.run_id == run_id
    assert (record.fee_asset, record.received_asset, record.market) == ("BNB", "BNB", "convert")
    (quote,) = d.dialect.convert._quotes.values()
    assert record.price == quote.to_amount / quote.from_amount == D("0.016")
    stamped = datetime.fromisoformat(record.time).timestamp() * 1000
    assert abs(stamped - ctx.server_now_ms()) < 60_000  # the exchange's time, not ours
    assert_line_is_the_record(line, record)


def test_a_quote_at_the_very_end_of_its_validity_is_not_accepted(desk: DeskFactory) -> None:
    d = desk(section=apt_section())
    plan = plan_apt(d)
    ctx, now = frozen_context(d)
    d.server.faults.add("garble", GET_QUOTE, field="validTimestamp", value=now)
    (line,) = execute_conversion(plan, ctx).lines
    assert line.status == Status.FAILED
    assert d.count("POST", GET_QUOTE) == 2 and d.count("POST", ACCEPT) == 0
    records = d.ledger.records(kind="conversion")
    assert [r.status for r in records] == ["failed", "failed"]
    for record in records:
        assert record.error == f"quote {record.client_id} expired before it could be accepted"
    assert d.free("APT") == D("2.5")


def test_a_lost_accept_waits_exactly_until_the_quote_is_surely_dead(desk: DeskFactory) -> None:
    """The quote is valid 7 s more; the wait is those 7 s plus the 2 s margin, not the whole
    (long) reconcile window."""
    d = desk(section=apt_section())
    plan = plan_apt(d)
    ctx, now = frozen_context(d, reconcile_window_s=60.0)
    d.server.faults.add("garble", GET_QUOTE, field="validTimestamp", value=now + 7_000)
    d.server.faults.add("lose", ACCEPT)
    (line,) = execute_conversion(plan, ctx).lines
    assert line.status == Status.CONVERTED and line.received == D("0.04")
    assert d.sleeps[0] == 9.0
    assert d.count("POST", ACCEPT) == 1


def test_an_accept_refused_as_expired_twice_says_so(desk: DeskFactory) -> None:
    d, line = convert_apt(desk, {"kind": "http", "path": ACCEPT, "status": 400, "body": EXPIRED})
    assert line.status == Status.FAILED and line.error is not None
    assert "Quote expired." in line.error and line.error.endswith(" (quoted twice)")
    assert (line.asset, line.route, line.target, line.amount) == ("APT", "convert", "BNB", D("2.5"))
    records = d.ledger.records(kind="conversion")
    assert [r.status for r in records] == ["failed", "failed"]
    assert all(r.error is not None and "Quote expired." in r.error for r in records)
    assert d.free("APT") == D("2.5")


def test_no_second_quote_after_an_expired_one_is_a_failed_line(desk: DeskFactory) -> None:
    """A quote was had (so no fallback route takes the asset); the second cannot be had."""
    expired = {"kind": "garble", "path": GET_QUOTE, "field": "validTimestamp", "value": 1}
    d, line = convert_apt(
        desk, expired, {"kind": "http", "path": GET_QUOTE, "status": 503, "calls": AFTER_THE_FIRST}
    )
    assert (line.asset, line.route, line.target) == ("APT", "convert", "BNB")
    assert (line.status, line.amount) == (Status.FAILED, D("2.5"))
    assert line.error is not None and line.error.startswith("no Convert quote: ")
    assert "503" in line.error
    assert d.count("POST", ACCEPT) == 0 and d.free("APT") == D("2.5")


def test_an_accept_refused_for_the_key_is_failed_with_the_reason(desk: DeskFactory) -> None:
    body = {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
    d, line = convert_apt(desk, {"kind": "http", "path": ACCEPT, "status": 401, "body": body})
    (record,) = d.ledger.records(kind="conversion")
    assert (line.status, line.amount) == (Status.FAILED, D("2.5"))
    assert line.error is not None and "Invalid API-key" in line.error
    assert (record.status, record.error) == ("failed", line.error)
    assert_line_is_the_record(line, record)
    assert d.free("APT") == D("2.5")


def test_a_ban_seen_by_another_worker_between_quote_and_accept_sends_nothing(
    desk: DeskFactory,
) -> None:
    d = desk(section=apt_section())
    plan = plan_apt(d)
    host = d.exchange._transport.host

    def banned_elsewhere() -> None:
        REGISTRY.record("binance", host, Banned("IP banned", retry_after=120))

    d.server.faults.add("action", GET_QUOTE, action=banned_elsewhere)
    (line,) = execute_conversion(plan, d.context()).lines
    (record,) = d.ledger.records(kind="conversion")
    assert (line.status, line.amount) == (Status.FAILED, D("2.5"))
    assert line.error is not None and line.error.startswith("not sent: ")
    assert "banned" in line.error
    assert record.status == "failed" and record.error is not None
    assert "banned" in record.error and not record.error.startswith("not sent")
    assert_line_is_the_record(line, record)
    assert d.count("POST", ACCEPT) == 0 and d.free("APT") == D("2.5")


def test_a_lost_accept_with_nothing_readable_names_the_lost_answer(desk: DeskFactory) -> None:
    d, line = convert_apt(
        desk,
        {"kind": "http_after", "path": ACCEPT, "status": 503},
        {"kind": "http", "path": STATUS, "status": 503},
        {"kind": "http", "path": ACCOUNT, "status": 503},
    )
    (record,) = d.ledger.records(kind="conversion")
    assert line.status == Status.UNKNOWN and line.error is not None
    assert line.error.startswith("outcome unknown (") and "no answer" not in line.error
    assert "503" in line.error.split("; balance unreadable: ")[0]
    assert_line_is_the_record(line, record)


def test_a_lost_accept_found_by_quote_keeps_its_order_id_while_processing(
    desk: DeskFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by the quote id, then every status read fails: the order id is recorded for the
    next run, and each failed read is logged with the order."""
    d = desk(section=apt_section())
    plan = plan_apt(d)
    d.server.faults.add("lose", ACCEPT)
    d.server.faults.add("http", STATUS, status=503, calls=AFTER_THE_FIRST)
    with caplog.at_level(logging.INFO, logger=RFQ_LOGGER):
        (line,) = execute_conversion(plan, d.context()).lines
    (record,) = d.ledger.records(kind="conversion")
    (order,) = d.dialect.account("main").convert_orders
    assert line.status == Status.UNKNOWN
    assert record.status == "pending" and record.order_id == str(order.order_id)
    assert_line_is_the_record(line, record)
    unavailable = [r.getMessage() for r in caplog.records if "status unavailable" in r.getMessage()]
    assert unavailable and all(
        m.startswith(f"Convert order {order.order_id} status unavailable: ") and "503" in m
        for m in unavailable
    )


def test_a_failed_lookup_by_quote_is_logged_with_the_quote(
    desk: DeskFactory, caplog: pytest.LogCaptureFixture
) -> None:
    d = desk(section=apt_section())
    plan = plan_apt(d)
    d.server.faults.add("http_after", ACCEPT, status=503)
    d.server.faults.add("http", STATUS, status=503)
    with caplog.at_level(logging.INFO, logger=RFQ_LOGGER):
        (line,) = execute_conversion(plan, d.context()).lines
    assert line.status == Status.CONVERTED and line.received is None
    messages = [r.getMessage() for r in caplog.records if r.name == RFQ_LOGGER]
    assert any(
        m.startswith(f"Convert status by quote {line.client_id} unavailable: ") and "503" in m
        for m in messages
    )
