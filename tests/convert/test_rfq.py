"""The Convert-quote route (Binance Convert: getQuote, acceptQuote, orderStatus).

APT here is worth 20 USDT with every market's minimum raised out of reach: it cannot be sold,
it is small enough for dust->BNB (2 % fee), and it is above the Convert pair's minimum (1.3 APT),
where a quote costs no explicit fee. Convert must win, and run exactly once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from dustsweep.convert.execute import Route, execute_conversion, reconcile_pending_conversions
from dustsweep.core.policy import Policy
from dustsweep.errors import ExitCode
from dustsweep.storage.ledger import Ledger
from tests.convert.test_execute import BINANCE_BALANCES, DeskFactory, binance_section
from tests.convert.test_execute import desk as desk  # the fixture
from tests.convert.test_faults import Crash, CrashingLedger

D = Decimal
GET_QUOTE = "/sapi/v1/convert/getQuote"
ACCEPT = "/sapi/v1/convert/acceptQuote"
STATUS = "/sapi/v1/convert/orderStatus"
POLICY = Policy(quote="USDT", dust_threshold=D("50"), keep=frozenset({"DOGE"}))
UNSELLABLE = {"filters": {"NOTIONAL": {"minNotional": "100000"}}}


def apt_section(**account: Any) -> dict[str, Any]:
    section = binance_section(
        balances={**BINANCE_BALANCES, "APT": "2.5"},
        prices={"APTUSDT": "8", "APTBTC": "0.0001"},
        symbols={"APTUSDT": UNSELLABLE, "APTBTC": UNSELLABLE, "APTETH": UNSELLABLE},
    )
    section["accounts"][0].update(account)
    return section


def test_convert_quote_beats_the_native_fee_above_the_pair_minimum(desk: DeskFactory) -> None:
    d = desk(section=apt_section())
    plan = d.plan("BNB", POLICY, convert=True)
    routes = {c.asset: c.route for c in plan.conversions}
    assert routes == {"APT": Route.CONVERT, "XRP": Route.NATIVE, "TRX": Route.NATIVE}
    apt = next(c for c in plan.conversions if c.asset == "APT")
    assert apt.received == D("0.04") and apt.fee == 0  # 2.5 x 8 / 500, no fee
    assert apt.choice.runner_up is Route.NATIVE
    assert apt.choice.runner_up_net == D("19.6")  # the same 20 USDT less 2 %
    xrp = next(c for c in plan.conversions if c.asset == "XRP")
    assert "below the Convert minimum" in xrp.choice.reason


def test_convert_order_is_polled_until_success_and_recorded(desk: DeskFactory) -> None:
    d = desk(section=apt_section())
    bnb = d.free("BNB")
    outcome = execute_conversion(d.plan("BNB", POLICY, convert=True), d.context())
    line = next(x for x in outcome.lines if x.asset == "APT")
    assert line.status == "converted" and line.route == "convert"
    assert (line.amount, line.received, line.fee) == (D("2.5"), D("0.04"), D(0))
    assert d.count("GET", STATUS) == 2  # PROCESS first, then SUCCESS
    assert d.free("APT") == 0
    assert d.free("BNB") - bnb == D("0.04") + D("0.00196") + D("0.001813")  # Convert + dust
    (order,) = d.dialect.account("main").convert_orders
    record = d.records()["APT"]
    assert record.client_id == order.quote.quote_id and record.order_id == str(order.order_id)
    assert (record.status, record.received_qty, record.fee) == ("converted", D("0.04"), D(0))
    assert outcome.exit_code_hint is ExitCode.OK


def test_expired_convert_quote_is_quoted_again_once(desk: DeskFactory) -> None:
    d = desk(section=apt_section())
    plan = d.plan("BNB", POLICY, convert=True, assets=frozenset({"APT"}))
    convert = d.dialect.convert

    def expire_quotes() -> None:
        for quote in convert._quotes.values():
            quote.valid_until_ms = 0

    d.server.faults.add("action", ACCEPT, calls=1, action=expire_quotes)
    outcome = execute_conversion(plan, d.context())
    (line,) = outcome.lines
    assert line.status == "converted"
    assert d.count("POST", GET_QUOTE) == 2 and d.count("POST", ACCEPT) == 2
    statuses = [r.status for r in d.ledger.records(kind="conversion")]
    assert statuses == ["failed", "converted"]
    assert len(d.dialect.account("main").convert_orders) == 1


def test_lost_accept_is_settled_from_the_exchange_by_quote_id(desk: DeskFactory) -> None:
    d = desk(section=apt_section())
    plan = d.plan("BNB", POLICY, convert=True, assets=frozenset({"APT"}))
    d.server.faults.add("lose", ACCEPT, calls=1)
    outcome = execute_conversion(plan, d.context())
    (line,) = outcome.lines
    (order,) = d.dialect.account("main").convert_orders
    # The exchange's own order (looked up by quote id) gives the amounts the lost answer had.
    assert line.status == "converted" and line.received is not None and line.received > 0
    assert outcome.totals().unreported == 0
    assert sum(d.sleeps) >= 10  # waited until the 10 s quote could no longer be accepted
    assert d.count("POST", ACCEPT) == 1
    record = d.records()["APT"]
    assert record.status == "converted" and record.received_qty == line.received
    assert str(record.order_id) == str(getattr(order, "order_id", record.order_id))


def test_rerun_after_a_crash_reads_the_convert_order(desk: DeskFactory) -> None:
    d = desk(section=apt_section())
    plan = d.plan("BNB", POLICY, convert=True, assets=frozenset({"APT"}))
    crashing = CrashingLedger(d.ledger.path)
    with pytest.raises(Crash):
        execute_conversion(plan, d.context(crashing))
    crashing.close()
    (pending,) = d.ledger.pending()
    assert pending.order_id is not None  # known from the accept's answer
    (line,) = reconcile_pending_conversions(d.context())
    assert (line.status, line.received) == ("converted", D("0.04"))
    assert d.records()["APT"].received_qty == D("0.04")
    assert d.count("POST", ACCEPT) == 1


class CrashBeforeOrderId(Ledger):
    """Dies right after the accept was sent, before its answer (the order id) is recorded."""

    def update(self, record_id: int, **changes: object) -> None:
        if "order_id" in changes:
            raise Crash
        super().update(record_id, **changes)


def test_rerun_after_a_crash_before_the_order_id_was_recorded_asks_by_quote_id(
    desk: DeskFactory,
) -> None:
    d = desk(section=apt_section())
    plan = d.plan("BNB", POLICY, convert=True, assets=frozenset({"APT"}))
    crashing = CrashBeforeOrderId(d.ledger.path)
    with pytest.raises(Crash):
        execute_conversion(plan, d.context(crashing))
    crashing.close()
    (pending,) = d.ledger.pending()
    assert pending.order_id is None and pending.client_id  # only the quote id is known
    (line,) = reconcile_pending_conversions(d.context())
    assert (line.status, line.received) == ("converted", D("0.04"))
    assert d.records()["APT"].order_id is not None
    assert d.count("POST", ACCEPT) == 1


def test_without_convert_access_the_native_conversion_takes_over(desk: DeskFactory) -> None:
    d = desk(section=apt_section(convert_access=False))
    plan = d.plan("BNB", POLICY, convert=True)  # the pair list is public: Convert looks best
    apt = next(c for c in plan.conversions if c.asset == "APT")
    assert apt.route is Route.CONVERT
    outcome = execute_conversion(plan, d.context())
    line = next(x for x in outcome.lines if x.asset == "APT")
    assert (line.status, line.route) == ("converted", "native")
    assert line.received == D("0.04") * D("0.98")  # the 2 % the quote would have saved
    assert any("APT" in note and "not authorized" in note for note in outcome.notes)
    assert d.count("POST", GET_QUOTE) == 1 and d.count("POST", ACCEPT) == 0
    assert d.free("APT") == 0 and len(d.dialect.account("main").dribblets) == 1
