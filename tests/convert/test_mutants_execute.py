"""Running a conversion plan (convert/execute.py): the dry run's lines and the plan/context
check. Edges found by mutation testing; the real Binance adapter against the simulator.

APT (tests/convert/test_rfq.py) is worth 20 USDT and cannot be sold: Convert quotes it at
2.5 x 8 / 500 = 0.04 BNB with no fee; XRP (0.5 x 0.004 BNB less 2 %) and TRX go native."""

from __future__ import annotations

from typing import Any

import pytest

from dustsweep.convert.execute import UNRESOLVED, execute_conversion, planned_conversion_outcomes
from dustsweep.convert.plan import fallback_to_native
from dustsweep.core.routes import Route
from dustsweep.run.outcome import ActionOutcome, Status
from tests.convert.test_execute import BINANCE_BALANCES, D, DeskFactory, binance_section, desk
from tests.convert.test_rfq import GET_QUOTE, POLICY, UNSELLABLE, apt_section

__all__ = ["desk"]  # the fixture


def test_a_dry_run_shows_each_conversion_with_its_route_amount_and_expected_yield(
    desk: DeskFactory,
) -> None:
    d = desk(section=apt_section())
    plan = d.plan("BNB", POLICY, convert=True)
    lines = {x.asset: x for x in planned_conversion_outcomes(plan)}
    assert set(lines) == {"APT", "XRP", "TRX"}
    apt, xrp = lines["APT"], lines["XRP"]
    assert (apt.route, apt.amount, apt.status) == ("convert", D("2.5"), Status.PLANNED)
    assert (apt.received, apt.fee) == (D("0.04"), D("0"))
    assert (xrp.route, xrp.amount) == ("native", D("0.5"))
    assert (xrp.received, xrp.fee) == (D("0.00196"), D("0.00004"))
    for x in lines.values():
        assert (x.received_asset, x.fee_asset, x.target) == ("BNB", "BNB", "BNB")
    assert d.count("POST", "/sapi/v1/asset/dust") == 0  # nothing was sent


def test_a_plan_for_another_account_or_exchange_is_refused(desk: DeskFactory) -> None:
    d = desk()
    plan = d.plan("BNB")
    ctx = d.context()
    ctx.account = "savings"
    with pytest.raises(ValueError) as err:
        execute_conversion(plan, ctx)
    assert str(err.value) == (
        "a plan for binance account 'main' cannot run on binance account 'savings'"
    )
    ctx = d.context()
    ctx.exchange_name = "bybit"
    with pytest.raises(ValueError, match="cannot run on bybit account 'main'"):
        execute_conversion(plan, ctx)
    assert d.count("POST", "/sapi/v1/asset/dust") == 0


def test_the_native_fallback_of_a_convert_quote_is_the_native_conversion_of_all_of_it(
    desk: DeskFactory,
) -> None:
    d = desk(section=apt_section())
    plan = d.plan("BNB", POLICY, convert=True)
    apt = next(c for c in plan.conversions if c.asset == "APT")
    native = fallback_to_native(apt)
    assert native is not None
    assert (native.asset, native.route, native.amount, native.target) == (
        "APT",
        Route.NATIVE,
        D("2.5"),
        "BNB",
    )
    # 0.04 BNB gross less 2 %: 0.0392 arrives, 0.0008 is the fee; 19.6 and 0.4 USDT at 500
    assert (native.received, native.fee, native.fee_rate) == (D("0.0392"), D("0.0008"), D("0.02"))
    assert (native.received_value, native.fee_value) == (D("19.6"), D("0.4"))
    assert native.value == apt.value == D("20")


def test_an_asset_whose_runner_up_is_to_leave_it_has_no_fallback(desk: DeskFactory) -> None:
    d = desk(section=apt_section())
    plan = d.plan("BNB", POLICY, convert=True)
    xrp = next(c for c in plan.conversions if c.asset == "XRP")
    assert xrp.choice.runner_up is Route.LEAVE
    assert fallback_to_native(xrp) is None


def convert_only_section() -> dict[str, Any]:
    """APT and NEAR (20 USDT each) can only go through Convert: no market sells them and they
    are over the exchange's small-balance conversion ceiling."""
    section = binance_section(
        balances={**BINANCE_BALANCES, "APT": "2.5", "NEAR": "5"},
        prices={
            "APTUSDT": "8",
            "APTBTC": "0.0001",
            "NEARUSDT": "4",
            "NEARBTC": "0.00005",
            "NEARBNB": "0.008",
        },
        symbols={
            s: UNSELLABLE
            for s in ("APTUSDT", "APTBTC", "APTETH", "NEARUSDT", "NEARBTC", "NEARBNB", "NEARETH")
        },
        conversion={"max_value": "0.0002"},  # 16 USDT: XRP and TRX are listed, not APT or NEAR
    )
    return section


def test_without_a_quote_or_a_runner_up_each_asset_is_left_with_the_reason(
    desk: DeskFactory,
) -> None:
    d = desk(section=convert_only_section())
    plan = d.plan("BNB", POLICY, convert=True)
    converts = [c for c in plan.conversions if c.route is Route.CONVERT]
    assert [c.asset for c in converts] == ["APT", "NEAR"]
    assert all(c.choice.runner_up is Route.LEAVE for c in converts)
    d.server.faults.add("http", GET_QUOTE, status=503)
    outcome = execute_conversion(plan, d.context())
    lines = {x.asset: x for x in outcome.lines}
    assert set(lines) == {"APT", "NEAR", "TRX", "XRP"}  # one line per planned asset
    for asset, amount in (("APT", D("2.5")), ("NEAR", D("5"))):
        line = lines[asset]
        assert (line.status, line.route, line.amount, line.target) == (
            Status.SKIPPED,
            "convert",
            amount,
            "BNB",
        )
        assert line.error is not None and line.error.startswith("no Convert quote: ")
        assert "503" in line.error
    assert (lines["XRP"].status, lines["TRX"].status) == (Status.CONVERTED, Status.CONVERTED)
    assert outcome.target == "BNB" and outcome.notes == []
    assert d.free("APT") == D("2.5") and d.free("NEAR") == D("5")


def test_records_the_caller_already_settled_are_not_looked_up_again(desk: DeskFactory) -> None:
    d = desk()
    plan = d.plan("BNB")
    still_unknown = ActionOutcome(
        asset="XRP", route="native", amount=D("0.5"), status=Status.UNKNOWN
    )
    outcome = execute_conversion(plan, d.context(), settled=[still_unknown])
    assert outcome.settled == [still_unknown]
    lines = {x.asset: x for x in outcome.lines}
    assert lines["XRP"].status == Status.SKIPPED and lines["XRP"].error == UNRESOLVED
    assert (lines["XRP"].target, lines["XRP"].amount) == ("BNB", D("0.5"))
    assert lines["TRX"].status == Status.CONVERTED
    assert d.free("XRP") == D("0.5")  # not risked twice


def test_the_native_fallback_converts_the_whole_balance_not_the_floored_quote_amount(
    desk: DeskFactory,
) -> None:
    d = desk(section=apt_section())
    d.dialect.account("main").wallet.set("APT", "2.123456789")
    plan = d.plan("BNB", POLICY, convert=True, assets=frozenset({"APT"}))
    (apt,) = plan.conversions
    assert (apt.route, apt.amount) == (Route.CONVERT, D("2.12345678"))  # 8 decimals
    native = fallback_to_native(apt)
    assert native is not None and native.amount == D("2.123456789")
