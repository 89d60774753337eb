"""The minimum-value check at the exchange's own price (sell/notional.py), edge by edge.

Real Binance adapter (python-binance) against the simulator, whose ``/api/v3/avgPrice`` is
set per test. Orders are planned by the real planner, or written by hand where a test needs a
planning price or value that no balance gives. Each test here kills mutants that the sell and
CLI tests let survive (tests/MUTANTS.md).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal

import pytest

from dustsweep.core.models import Snapshot
from dustsweep.core.plan import PlannedOrder, SellPlan, Skip
from dustsweep.core.policy import Policy
from dustsweep.sell.notional import HEADROOM, NotionalCheck
from tests.sell.test_execute import Harness, HarnessFactory
from tests.sell.test_execute import make_harness as make_harness  # the fixture

AVG = ("GET", "/api/v3/avgPrice")


def asked(h: Harness) -> int:
    """avgPrice requests that reached the simulator, faulted ones included."""
    return h.faults.count(*AVG)


def set_avg(h: Harness, symbol: str, price: str) -> None:
    h.dialect.market.set_avg_price(symbol, price)


def order_on(snap: Snapshot, asset: str, symbol: str, qty: str, price: str) -> PlannedOrder:
    """A hand-made order planned at ``price`` (the ticker price the plan would have used)."""
    rules = snap.markets[symbol]
    proceeds = Decimal(qty) * Decimal(price)
    return PlannedOrder(
        asset=asset,
        symbol=symbol,
        quote_asset=rules.quote,
        qty=Decimal(qty),
        price=Decimal(price),
        expected_proceeds=proceeds,
        est_fee=proceeds / 1000,
        expected_value=proceeds if rules.quote == "USDT" else None,
        residual=Decimal(0),
    )


def plan_of(*orders: PlannedOrder) -> SellPlan:
    return SellPlan("USDT", orders, (Skip("DOGE", "kept"),), Decimal(-1), Decimal(-1))


def checker(h: Harness, snap: Snapshot, quotes: tuple[str, ...] | None = None) -> NotionalCheck:
    return NotionalCheck(h.exchange, snap, h.policy, quotes)  # type: ignore[arg-type]


def test_an_order_far_above_the_minimum_is_not_asked_about_and_the_plan_is_kept(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "15", "XRP": "4"})  # about 9.4 and 8.3 USDT
    snap, plan = h.plan()
    assert {o.symbol for o in plan.orders} == {"ADAUSDT", "XRPUSDT"}
    assert checker(h, snap).apply(plan) is plan
    assert asked(h) == 0


def test_headroom_boundary_decides_whether_the_average_price_is_asked(
    make_harness: HarnessFactory,
) -> None:
    """Exactly HEADROOM above the margin-adjusted minimum needs no check; a hair below does."""
    h = make_harness("binance", {"ADA": "10"})
    snap = h.snapshot()
    needed = Decimal(5) * (1 + h.policy.notional_margin) * HEADROOM  # 5.5555 for 10 ADA
    at_edge = order_on(snap, "ADA", "ADAUSDT", "10", format(needed / 10, "f"))
    assert checker(h, snap).check(at_edge) is at_edge
    assert asked(h) == 0
    below = order_on(snap, "ADA", "ADAUSDT", "10", format(needed / 10 - Decimal("0.0001"), "f"))
    assert checker(h, snap).check(below) is below  # the average price (0.6252) is fine
    assert asked(h) == 1


def test_the_margin_boundary_at_the_average_price(make_harness: HarnessFactory) -> None:
    """qty x average price equal to minimum x (1 + margin) passes; any less is not sent there."""
    h = make_harness("binance", {"ADA": "10"})
    snap = h.snapshot()
    order = order_on(snap, "ADA", "ADAUSDT", "10", "0.5")
    set_avg(h, "ADAUSDT", "0.505")  # 10 x 0.505 = 5.05 = 5 x 1.01
    assert checker(h, snap).check(order) is order
    for price in ("0.5049", "0.5"):  # 5.049: above the bare minimum, below the margin
        set_avg(h, "ADAUSDT", price)
        checked = checker(h, snap, ("USDT",)).check(order)
        assert isinstance(checked, str) and "on ADAUSDT" in checked


def test_the_reason_names_the_value_rule_margin_and_market(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "8.55"})  # 8.5 ADA planned at 0.6252: 5.31 USDT
    snap, plan = h.plan()
    set_avg(h, "ADAUSDT", "0.45")
    checked = checker(h, snap, ("USDT",)).apply(plan)
    assert checked.orders == ()
    assert checked.skipped == (
        Skip(
            "ADA",
            "worth 3.825 USDT at the exchange's average price, below NOTIONAL minNotional 5 "
            "(+1% margin) on ADAUSDT",
        ),
    )
    # Money stays Decimal even when nothing is left to add up.
    assert isinstance(checked.expected_value, Decimal) and checked.expected_value == 0
    assert isinstance(checked.est_fee_value, Decimal) and checked.est_fee_value == 0
    assert asked(h) == 1


def test_the_reason_uses_the_policys_margin_and_the_orders_quote(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "15"}, policy=Policy(quote="USDT", notional_margin="0.5"))
    snap = h.snapshot()
    order = order_on(snap, "ADA", "ADABTC", "15", "0.00000738")  # 0.0001107 BTC: checked
    set_avg(h, "ADABTC", "0.000006")
    checked = checker(h, snap, ("BTC",)).check(order)
    assert checked == (
        "worth 0.00009 BTC at the exchange's average price, below NOTIONAL minNotional 0.0001 "
        "(+50% margin) on ADABTC"
    )


def test_an_order_below_at_the_average_price_is_replanned_and_the_totals_recomputed(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "8.55", "XRP": "3"})
    snap, plan = h.plan()
    set_avg(h, "ADAUSDT", "0.59")  # 8.5 x 0.59 = 5.015 < 5.05
    checked = checker(h, snap).apply(plan)
    by_asset = {o.asset: o for o in checked.orders}
    assert by_asset["ADA"].symbol != "ADAUSDT" and by_asset["ADA"].quote_asset != "USDT"
    assert by_asset["XRP"] is next(o for o in plan.orders if o.asset == "XRP")
    assert checked.skipped == plan.skipped
    ada, xrp = by_asset["ADA"], by_asset["XRP"]
    assert ada.expected_value is not None and xrp.expected_value is not None
    assert checked.expected_value == ada.expected_value + xrp.expected_value
    # Fees are valued like the proceeds: ADA's fee is in its new quote, not in USDT.
    assert ada.expected_proceeds != ada.expected_value
    ada_fee = ada.est_fee * ada.expected_value / ada.expected_proceeds
    assert checked.est_fee_value == ada_fee + xrp.est_fee
    assert checked.est_fee_value != ada.est_fee + xrp.est_fee


def test_unknown_values_and_zero_proceeds_add_nothing_to_the_totals(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "10", "XRP": "3"})
    snap = h.snapshot()
    replanned = order_on(snap, "ADA", "ADAUSDT", "10", "0.5")
    unvalued = replace(
        order_on(snap, "XRP", "XRPBTC", "3", "0.0000244"), symbol="XRPXYZ", expected_value=None
    )
    nothing = replace(
        order_on(snap, "XRP", "XRPUSDT", "3", "2"),
        expected_proceeds=Decimal(0),
        expected_value=Decimal(7),
        est_fee=Decimal(1),
    )
    set_avg(h, "ADAUSDT", "0.4")
    checked = checker(h, snap).apply(plan_of(replanned, unvalued, nothing))
    ada = checked.orders[0]
    assert ada.asset == "ADA" and ada.symbol != "ADAUSDT"
    assert checked.orders[1:] == (unvalued, nothing)
    assert ada.expected_value is not None
    assert checked.expected_value == ada.expected_value + 7
    assert checked.est_fee_value == ada.est_fee * ada.expected_value / ada.expected_proceeds
    assert checked.skipped == (Skip("DOGE", "kept"),)


def test_when_every_market_fails_the_reason_is_the_last_markets_problem(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "15"})
    snap = h.snapshot()
    order = order_on(snap, "ADA", "ADABTC", "15", "0.00000738")
    set_avg(h, "ADABTC", "0.000006")
    checked = checker(h, snap, ("BTC",)).check(order)
    assert isinstance(checked, str) and checked.endswith("on ADABTC")
    assert asked(h) == 1  # ADABTC was asked once, then excluded: no market into BTC is left


def test_a_market_without_a_minimum_or_without_rules_is_not_checked(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "10"})
    snap = h.snapshot()
    free_rules = replace(snap.markets["ADAUSDT"], min_notional=Decimal(0))
    no_minimum = replace(snap, markets={**snap.markets, "ADAUSDT": free_rules})
    order = order_on(snap, "ADA", "ADAUSDT", "10", "0.1")
    set_avg(h, "ADAUSDT", "0.1")
    assert checker(h, no_minimum).check(order) is order
    unknown = replace(order, symbol="ADAXYZ")
    assert checker(h, snap).check(unknown) is unknown
    assert asked(h) == 0


def test_each_markets_average_price_is_asked_once(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "10"})
    snap = h.snapshot()
    check = checker(h, snap)
    order = order_on(snap, "ADA", "ADAUSDT", "10", "0.51")
    assert check.check(order) is order
    assert check.check(replace(order, qty=Decimal(9))) != order
    assert asked(h) == 1


def test_a_ban_on_the_average_price_skips_the_order(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "10"})
    snap = h.snapshot()
    h.faults.ban(418, path=AVG[1], retry_after=120)
    order = order_on(snap, "ADA", "ADAUSDT", "10", "0.51")
    checked = checker(h, snap, ("USDT",)).check(order)
    assert isinstance(checked, str) and "418" in checked
    assert len(h.faults.banned_requests) == 1  # not asked again, nothing else sent


def test_an_unreadable_average_price_lets_the_order_go_as_planned(
    make_harness: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    h = make_harness("binance", {"ADA": "10"})
    snap = h.snapshot()
    h.faults.add("http", AVG[1], method="GET", status=503)
    order = order_on(snap, "ADA", "ADAUSDT", "10", "0.51")
    check = checker(h, snap)
    with caplog.at_level(logging.WARNING, logger="dustsweep.sell.notional"):
        assert check.check(order) is order
    first = asked(h)
    assert first >= 1
    assert check.check(order) is order  # the unknown is remembered, not asked again
    assert asked(h) == first
    [message] = [r.getMessage() for r in caplog.records if r.name == "dustsweep.sell.notional"]
    assert message.startswith("ADAUSDT: NOTIONAL minNotional check unknown: ")
    assert "503" in message


def test_a_ban_skips_the_order_and_every_later_one_without_re_planning(
    make_harness: HarnessFactory,
) -> None:
    """With several quotes a failed check would re-plan onto another market; after a ban the
    order is skipped with the ban's reason instead, and so is the next one, unasked."""
    h = make_harness("binance", {"ADA": "10", "XRP": "3"})
    snap = h.snapshot()
    h.faults.ban(418, path=AVG[1], retry_after=120)
    check = checker(h, snap, ("USDT", "BTC", "ETH", "BNB"))
    first = check.check(order_on(snap, "ADA", "ADAUSDT", "10", "0.51"))
    assert isinstance(first, str) and "418" in first
    second = check.check(order_on(snap, "XRP", "XRPUSDT", "3", "1.7"))
    assert second == first
    assert len(h.faults.banned_requests) == 1  # one price request, then nothing at all
