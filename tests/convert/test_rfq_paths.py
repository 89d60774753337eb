"""The less travelled paths of one Convert quote (convert/rfq.py), with faults injected.

The real Binance adapter (python-binance) against the simulator; APT can only go through
Convert (tests/convert/test_rfq.py). Each test checks the line, the ledger record and what the
account ended with. Each was written for mutants that the other convert tests let survive
(tests/MUTANTS.md).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dustsweep.convert.execute import execute_conversion
from dustsweep.run.outcome import Status
from tests.convert.test_execute import DeskFactory
from tests.convert.test_execute import desk as desk  # the fixture
from tests.convert.test_rfq import ACCEPT, GET_QUOTE, POLICY, STATUS, apt_section

D = Decimal
ACCOUNT = "/api/v3/account"
ALL_APT = frozenset({"APT"})


def convert_apt(desk: DeskFactory, *faults: dict[str, Any], **context: Any) -> tuple[Any, Any]:
    """Plan APT -> BNB through Convert, inject ``faults`` after planning, convert."""
    d = desk(section=apt_section())
    plan = d.plan("BNB", POLICY, convert=True, assets=ALL_APT)
    for fault in faults:
        options = dict(fault)
        d.server.faults.add(options.pop("kind"), options.pop("path"), **options)
    outcome = execute_conversion(plan, d.context(**context))
    (line,) = outcome.lines
    return d, line


def test_no_quote_falls_back_to_the_native_conversion(desk: DeskFactory) -> None:
    """Nothing was sent to Convert, so the runner-up (dust -> BNB) takes the asset, and the
    note says why."""
    d = desk(section=apt_section())
    plan = d.plan("BNB", POLICY, convert=True, assets=ALL_APT)
    d.server.faults.add("http", GET_QUOTE, status=503)
    outcome = execute_conversion(plan, d.context())
    (line,) = outcome.lines
    assert (line.status, line.route) == (Status.CONVERTED, "native")
    [note] = [n for n in outcome.notes if n.startswith("APT: ")]
    assert note.startswith("APT: no Convert quote: ") and "503" in note
    assert note.endswith("; converted with the small-balance conversion instead")
    assert [r.market for r in d.ledger.records(kind="conversion")] == ["native"]
    assert d.count("POST", ACCEPT) == 0 and d.free("APT") == 0


def test_a_quote_that_expires_before_acceptance_is_asked_for_twice(desk: DeskFactory) -> None:
    expired = {"kind": "garble", "path": GET_QUOTE, "field": "validTimestamp", "value": 1}
    d, line = convert_apt(desk, expired)
    assert line.status == Status.FAILED and line.error is not None
    assert line.error.startswith("quote ") and line.error.endswith(
        " expired before it could be accepted (quoted twice)"
    )
    records = d.ledger.records(kind="conversion")
    assert [r.status for r in records] == ["failed", "failed"]
    assert records[1].client_id is not None and records[1].client_id in line.error
    assert d.count("POST", GET_QUOTE) == 2 and d.count("POST", ACCEPT) == 0
    assert d.free("APT") == D("2.5")


def test_a_refused_accept_fails_at_once(desk: DeskFactory) -> None:
    body = {"code": -5002, "msg": "Insufficient balance."}
    d, line = convert_apt(desk, {"kind": "http", "path": ACCEPT, "status": 400, "body": body})
    assert line.status == Status.FAILED and line.error is not None
    assert "Insufficient balance" in line.error
    (record,) = d.ledger.records(kind="conversion")
    assert record.status == "failed" and record.error == line.error
    assert line.client_id == record.client_id and line.record_id == record.id
    assert line.amount == D("2.5") and d.count("POST", GET_QUOTE) == 1


def test_an_accept_refused_as_expired_is_quoted_again(desk: DeskFactory) -> None:
    body = {"code": -345233, "msg": "Quote expired."}
    d, line = convert_apt(
        desk, {"kind": "http", "path": ACCEPT, "status": 400, "body": body, "calls": 1}
    )
    assert line.status == Status.CONVERTED and line.received == D("0.04")
    assert [r.status for r in d.ledger.records(kind="conversion")] == ["failed", "converted"]
    assert d.count("POST", GET_QUOTE) == 2 and d.count("POST", ACCEPT) == 2


def test_an_accept_banned_is_unknown_and_left_pending(desk: DeskFactory) -> None:
    body = {"code": -1003, "msg": "Way too much request weight used; IP banned."}
    ban = {"kind": "http", "path": ACCEPT, "status": 418, "body": body, "retry_after": 120}
    d, line = convert_apt(desk, ban)
    assert line.status == Status.UNKNOWN and line.error is not None
    assert line.error.startswith("outcome unknown (")
    assert line.error.endswith("; not asked while banned: the next run settles it")
    assert line.received is None and line.client_id is not None
    (record,) = d.ledger.records(kind="conversion")
    assert record.status == "pending" and record.error == line.error
    assert d.count("GET", STATUS) == 0


def test_a_lost_accept_that_never_arrived_is_failed_once_the_quote_is_dead(
    desk: DeskFactory,
) -> None:
    d, line = convert_apt(desk, {"kind": "drop", "path": ACCEPT})
    assert line.status == Status.FAILED and line.error is not None
    assert line.error == (
        f"not converted: quote {line.client_id} expired unaccepted (the balance is intact)"
    )
    (record,) = d.ledger.records(kind="conversion")
    assert record.status == "failed" and record.error == line.error
    assert d.free("APT") == D("2.5") and d.count("POST", ACCEPT) == 1
    assert sum(d.sleeps) > 0


def test_a_lost_accept_unknown_to_the_order_lookup_is_settled_by_the_balance(
    desk: DeskFactory,
) -> None:
    """The accept executed and its answer was lost; the order lookup is down: the balance that
    fell says it was accepted, amounts unknown."""
    d, line = convert_apt(
        desk,
        {"kind": "http_after", "path": ACCEPT, "status": 503},
        {"kind": "http", "path": STATUS, "status": 503},
    )
    assert line.status == Status.CONVERTED and line.received is None
    (record,) = d.ledger.records(kind="conversion")
    assert record.status == "converted" and record.fee == 0 and record.fee_asset == "BNB"
    assert record.error == "accepted (the balance moved); amounts not reported by the exchange"
    assert d.free("APT") == 0 and d.count("POST", ACCEPT) == 1


def test_a_lost_accept_with_unreadable_balances_stays_pending(desk: DeskFactory) -> None:
    d, line = convert_apt(
        desk,
        {"kind": "http_after", "path": ACCEPT, "status": 503},
        {"kind": "http", "path": STATUS, "status": 503},
        {"kind": "http", "path": ACCOUNT, "status": 503},
    )
    assert line.status == Status.UNKNOWN and line.error is not None
    assert line.error.startswith("outcome unknown (") and "; balance unreadable: " in line.error
    (record,) = d.ledger.records(kind="conversion")
    assert record.status == "pending" and record.error == line.error


def test_a_convert_order_still_processing_stays_pending(desk: DeskFactory) -> None:
    d, line = convert_apt(desk, {"kind": "http", "path": STATUS, "status": 503})
    assert line.status == Status.UNKNOWN and line.error is not None
    (record,) = d.ledger.records(kind="conversion")
    assert line.error == (f"Convert order {record.order_id} still PROCESS: the next run settles it")
    assert record.status == "pending" and record.error == line.error
    assert line.transfer_id == record.order_id and line.client_id == record.client_id


def test_a_failed_convert_order_is_recorded_failed(desk: DeskFactory) -> None:
    failed = {"kind": "garble", "path": STATUS, "field": "orderStatus", "value": "FAIL"}
    d, line = convert_apt(desk, failed)
    (record,) = d.ledger.records(kind="conversion")
    assert line.status == Status.FAILED
    assert line.error == f"Convert order {record.order_id} ended FAIL"
    assert record.status == "failed" and record.error == line.error
