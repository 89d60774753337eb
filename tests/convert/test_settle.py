"""Every conversion outcome is settled, once (issue 9, item 4).

- A lost answer from dust-convert/convert is settled even when no exchange log shows it: from
  the balances (every asset at zero, the target credited by about the expected amount).
- A ban, 429 or 5xx answered after the conversion executed is an unknown outcome to settle,
  never ``failed``; a ban asks nothing more in that run.
- Ambiguous balances (an asset rose again from elsewhere) leave the record pending with one
  line, and the conversion is never sent again.

The simulator converts, then loses the answer (``lose``) or answers an error (``http_after``);
``log_dust_convert: False`` keeps dust-convert conversions out of the dribblet log, as Binance
may (its docs do not say they are logged).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from dustsweep.convert.execute import execute_conversion, reconcile_pending_conversions
from dustsweep.errors import ExitCode
from dustsweep.exchanges.bans import REGISTRY
from tests.convert.test_execute import DRIBBLET, DUST, DUST_CONVERT, DeskFactory, binance_section
from tests.convert.test_execute import desk as desk  # the fixture
from tests.convert.test_faults import Crash, CrashingLedger
from tests.convert.test_rfq import apt_section

D = Decimal
ACCEPT = "/sapi/v1/convert/acceptQuote"
BAN = {"code": -1003, "msg": "Way too many requests; IP banned until 1999999999999."}


def unlogged() -> dict[str, Any]:
    return binance_section(conversion={"log_dust_convert": False})


def statuses(lines: Any) -> dict[str, str]:
    return {line.asset: line.status for line in lines}


def test_lost_dust_convert_without_a_log_is_settled_from_the_balances(desk: DeskFactory) -> None:
    d = desk("binance", unlogged())
    plan = d.plan("USDC")
    usdc_before = d.free("USDC")
    d.server.faults.add("lose", DUST_CONVERT, calls=1)
    outcome = execute_conversion(plan, d.context(reconcile_window_s=2.0))
    assert statuses(outcome.lines) == {"XRP": "converted", "TRX": "converted"}
    assert d.count("POST", DUST_CONVERT) == 1  # never sent again
    assert d.dialect.account("main").dribblets == []  # no log: the balances decided
    assert d.free("XRP") == 0 and d.free("TRX") == 0 and d.free("USDC") > usdc_before
    records = d.records()
    assert {r.status for r in records.values()} == {"converted"}
    assert all(r.price is None for r in records.values())  # the evidence is not left behind
    assert outcome.exit_code_hint is ExitCode.OK
    assert d.ledger.pending() == []


def test_the_next_run_settles_a_crashed_dust_convert_from_the_balances(desk: DeskFactory) -> None:
    d = desk("binance", unlogged())
    plan = d.plan("USDC")
    crashing = CrashingLedger(d.ledger.path)
    with pytest.raises(Crash):
        execute_conversion(plan, d.context(crashing))
    crashing.close()
    pending = d.ledger.pending()
    assert {r.asset for r in pending} == {"XRP", "TRX"}
    assert all(r.price is not None and r.received_qty for r in pending)  # evidence kept
    settled = reconcile_pending_conversions(d.context())
    assert statuses(settled) == {"XRP": "converted", "TRX": "converted"}
    assert d.ledger.pending() == []
    assert d.count("POST", DUST_CONVERT) == 1


def test_ambiguous_balances_leave_it_pending_with_one_line_and_never_resend(
    desk: DeskFactory,
) -> None:
    d = desk("binance", unlogged())
    plan = d.plan("USDC")
    wallet = d.dialect.account("main").wallet
    d.server.faults.add("lose", DUST_CONVERT, calls=1)
    # After the conversion, XRP arrives again from elsewhere before anything could be found.

    def rise_again() -> None:
        if wallet.get("XRP")[0] == 0:
            wallet.set("XRP", "7")

    d.server.faults.add("action", "/api/v3/account", action=rise_again)
    outcome = execute_conversion(plan, d.context(reconcile_window_s=2.0))
    assert set(statuses(outcome.lines).values()) == {"unknown"}
    (line, *_) = outcome.lines
    assert "cannot tell" in (line.error or "") and "never sent again" in (line.error or "")
    assert "\n" not in (line.error or "")
    assert {r.asset for r in d.ledger.pending()} == {"XRP", "TRX"}
    # The next run cannot tell either: still pending, nothing sent.
    settled = reconcile_pending_conversions(d.context())
    assert set(statuses(settled).values()) == {"unknown"}
    assert all("cannot tell" in (x.error or "") for x in settled)
    assert d.count("POST", DUST_CONVERT) == 1
    assert d.free("XRP") == 7


@pytest.mark.parametrize(("status", "body"), [(500, None), (429, {"code": -1003, "msg": "slow"})])
def test_an_error_answered_after_the_conversion_executed_is_settled_not_failed(
    desk: DeskFactory, status: int, body: Any
) -> None:
    d = desk()
    plan = d.plan("BNB")
    d.server.faults.add("http_after", DUST, calls=1, status=status, body=body, retry_after=1)
    outcome = execute_conversion(plan, d.context(reconcile_window_s=2.0))
    assert statuses(outcome.lines) == {"XRP": "converted", "TRX": "converted"}
    assert d.count("POST", DUST) == 1
    assert {r.status for r in d.records().values()} == {"converted"}


def test_a_ban_after_the_conversion_executed_is_unknown_and_the_next_run_settles_it(
    desk: DeskFactory,
) -> None:
    d = desk()
    plan = d.plan("BNB")
    d.server.faults.add("http_after", DUST, calls=1, status=418, body=BAN, retry_after=120)
    outcome = execute_conversion(plan, d.context(reconcile_window_s=2.0))
    assert set(statuses(outcome.lines).values()) == {"unknown"}
    assert all("banned" in (x.error or "").lower() for x in outcome.lines)
    assert d.count("GET", DRIBBLET) == 0  # a banned caller asks nothing more
    assert {r.status for r in d.records().values()} == {"pending"}
    assert d.free("XRP") == 0  # it did execute
    REGISTRY.clear()  # the next run comes after the ban ended (a ban is process-wide)
    settled = reconcile_pending_conversions(d.context())
    assert statuses(settled) == {"XRP": "converted", "TRX": "converted"}
    assert d.count("POST", DUST) == 1


def test_a_ban_after_a_convert_accept_is_unknown_not_failed(desk: DeskFactory) -> None:
    d = desk(section=apt_section())
    plan = d.plan("BNB", convert=True, assets=frozenset({"APT"}))
    assert [c.route.value for c in plan.conversions] == ["convert"]
    d.server.faults.add("http_after", ACCEPT, calls=1, status=418, body=BAN, retry_after=120)
    outcome = execute_conversion(plan, d.context(reconcile_window_s=2.0))
    assert statuses(outcome.lines) == {"APT": "unknown"}
    assert d.count("POST", ACCEPT) == 1
    assert [r.status for r in d.records().values()] == ["pending"]
