"""The pure conversion plan (convert/plan.py): what is left out and why, in the user's words,
the scope and cap guards, the routes' order and the plan's totals. Edges found by mutation
testing; the plan is made from the real Binance adapter's snapshot and previews.

The account (tests/convert/test_execute.py): XRP 0.5 (1 USDT) and TRX 3.7 (0.925 USDT) are
dust the exchange converts into BNB at 2 %; ADA 12.3 (6.15 USDT) sells; DOGE is kept; BTC 0.5
is worth 40,000 USDT; the exchange will not convert GAL."""

from __future__ import annotations

from typing import Any

import pytest

from dustsweep.convert.caps import fetch_previews
from dustsweep.convert.plan import NOT_LISTED, ConversionPlan, plan_conversion
from dustsweep.core.classify import classify
from dustsweep.core.models import ConvertLimit
from dustsweep.core.policy import Policy
from dustsweep.core.routes import Route
from tests.convert.test_execute import (
    BINANCE_BALANCES,
    POLICY,
    D,
    Desk,
    DeskFactory,
    binance_section,
    desk,
)
from tests.convert.test_execute_bybit import bybit_section, dust
from tests.convert.test_rfq import apt_section

__all__ = ["desk"]  # the fixture


def plan(d: Desk, target: str = "BNB", policy: Policy = POLICY, **kw: Any) -> ConversionPlan:
    snapshot = d.snapshot()
    previews: Any = kw.pop("previews", None) or fetch_previews(d.exchange, target)
    return plan_conversion(
        classify(snapshot, policy), snapshot, previews, policy, target=target, **kw
    )


def test_what_is_never_converted_is_named_with_its_reason(desk: DeskFactory) -> None:
    d = desk()
    got = plan(
        d,
        "bnb",
        assets=frozenset({"bnb", "xrp", "trx", "doge", "usdt", "ada"}),
        keep=frozenset({"trx"}),
        never=frozenset({"xrp"}),
    )
    assert got.target == "BNB" and got.quote == "USDT"
    assert dict(got.skipped) == {
        "BNB": "it is the conversion target (BNB)",
        "DOGE": "in keep list",
        "TRX": "in keep list",
        "USDT": "the quote asset (USDT) is never converted",
        "XRP": "in the never-convert list",
        "ADA": dict(got.skipped)["ADA"],
    }
    assert dict(got.skipped)["ADA"].startswith("selling nets more (")
    assert dict(got.skipped)["ADA"].endswith("): use `dustsweep sell`")
    assert got.empty and got.conversions == ()
    assert (got.exchange, got.account) == ("binance", "main")


def test_a_named_balance_locked_in_orders_is_left_with_classifys_reason(
    desk: DeskFactory,
) -> None:
    d = desk()
    d.dialect.account("main").wallet.set("XRP", "0", "0.5")
    got = plan(d, assets=frozenset({"XRP", "TRX"}))
    assert dict(got.skipped) == {"XRP": "all 0.5 XRP is locked in open orders"}
    assert [c.asset for c in got.conversions] == ["TRX"]


def test_a_named_balance_the_exchange_does_not_list_is_not_eligible(desk: DeskFactory) -> None:
    got = plan(desk(), assets=frozenset({"BTC", "GAL"}))
    assert dict(got.skipped) == {"BTC": NOT_LISTED, "GAL": NOT_LISTED}
    assert NOT_LISTED == "not offered by the exchange's small-balance conversion (not eligible)"


def test_dust_over_the_threshold_stays_unless_named(desk: DeskFactory) -> None:
    d = desk()
    strict = Policy(quote="USDT", dust_threshold=D("0.95"), keep=frozenset({"DOGE"}))
    got = plan(d, policy=strict)
    assert [c.asset for c in got.conversions] == ["TRX"]  # 0.925 USDT
    assert dict(got.skipped)["XRP"] == (
        "worth 1 USDT, over the dust threshold 0.95; name it with --asset to convert it"
    )
    named = plan(d, policy=strict, assets=frozenset({"XRP"}))
    assert [c.asset for c in named.conversions] == ["XRP"]


def test_a_balance_of_unknown_worth_that_the_exchange_does_not_list_stays(
    desk: DeskFactory,
) -> None:
    d = desk(section=binance_section(balances={**BINANCE_BALANCES, "ZZZ": "5"}))  # no market
    limits = {"ZZZ": ConvertLimit(asset="ZZZ", target="BNB", min_amount=D("0.1"))}
    got = plan(d, convert_limits=limits)
    assert dict(got.skipped)["ZZZ"] == (
        "value unknown and not listed by the exchange's small-balance conversion; "
        "name it with --asset to convert it"
    )
    assert "ZZZ" not in {c.asset for c in got.conversions}


def test_without_a_preview_nothing_is_eligible(desk: DeskFactory) -> None:
    d = desk()
    snapshot = d.snapshot()
    got = plan_conversion(classify(snapshot, POLICY), snapshot, None, POLICY, target="BNB")
    assert got.empty and got.skipped == () and got.previews == ()
    assert got.totals.received == 0 and got.totals.unpriced == 0


def test_one_preview_plans_like_a_list_of_one(desk: DeskFactory) -> None:
    d = desk()
    (preview,) = fetch_previews(d.exchange, "BNB")
    one = plan(d, previews=preview)
    listed = plan(d, previews=[preview])
    assert one.conversions == listed.conversions and one.previews == (preview,)


def test_a_preview_into_another_target_cannot_plan(desk: DeskFactory) -> None:
    d = desk()
    (preview,) = fetch_previews(d.exchange, "USDT")
    with pytest.raises(ValueError) as err:
        plan(d, "BNB", previews=[preview])
    assert str(err.value) == "a preview into USDT cannot plan a conversion to BNB"
    assert plan(d, "usdt", previews=[preview]).target == "USDT"


def test_the_plans_totals_in_the_target_and_the_quote(desk: DeskFactory) -> None:
    got = plan(desk())
    # XRP: 0.002 BNB gross, 0.00004 fee; TRX: 3.7 x 0.0005 = 0.00185 gross, 0.000037 fee;
    # at 500 USDT per BNB
    assert got.totals.received == D("0.00196") + D("0.001813")
    assert got.totals.fee == D("0.00004") + D("0.000037")
    assert got.totals.received_value == D("0.98") + D("0.9065")
    assert got.totals.fee_value == D("0.02") + D("0.0185")
    assert got.totals.unpriced == 0


def test_native_conversions_come_first_then_convert_quotes(desk: DeskFactory) -> None:
    d = desk(section=apt_section())
    policy = Policy(quote="USDT", dust_threshold=D("50"), keep=frozenset({"DOGE"}))
    from dustsweep.convert.caps import fetch_convert_limits

    got = plan(d, policy=policy, convert_limits=fetch_convert_limits(d.exchange, "BNB"))
    assert [(c.asset, c.route) for c in got.conversions] == [
        ("TRX", Route.NATIVE),
        ("XRP", Route.NATIVE),
        ("APT", Route.CONVERT),
    ]
    assert [c.asset for c in got.native] == ["TRX", "XRP"]
    assert [c.asset for c in got.converts] == ["APT"]
    assert not got.empty


def test_a_convert_amount_is_floored_to_8_decimals(desk: DeskFactory) -> None:
    d = desk(section=apt_section())
    d.dialect.account("main").wallet.set("APT", "2.123456789")
    policy = Policy(quote="USDT", dust_threshold=D("50"), keep=frozenset({"DOGE"}))
    from dustsweep.convert.caps import fetch_convert_limits

    limits = fetch_convert_limits(d.exchange, "BNB")
    got = plan(d, policy=policy, convert_limits=limits, assets=frozenset({"APT"}))
    (apt,) = got.conversions
    assert (apt.route, apt.amount) == (Route.CONVERT, D("2.12345678"))


def test_the_per_asset_cap_leaves_a_bigger_conversion(desk: DeskFactory) -> None:
    got = plan(desk(), max_value_per_asset=D("0.95"))
    assert [c.asset for c in got.conversions] == ["TRX"]
    assert dict(got.skipped)["XRP"] == ("worth 1 USDT, over the --max-value-per-asset cap 0.95")


def test_the_run_cap_keeps_the_smallest_first(desk: DeskFactory) -> None:
    got = plan(desk(), max_value=D("1.5"))
    assert [c.asset for c in got.conversions] == ["TRX"]  # 0.925 first; XRP would pass 1.5
    assert dict(got.skipped)["XRP"] == "over the --max-value cap"
    both = plan(desk(), max_value=D("1.925"))
    assert [c.asset for c in both.conversions] == ["TRX", "XRP"]


def test_a_dearer_sale_lets_the_conversion_win(desk: DeskFactory) -> None:
    d = desk()
    assert "ADA" not in {c.asset for c in plan(d).conversions}  # selling nets more at 0.1 %
    got = plan(d, sell_fee_rate=D("0.05"))  # 5.84 USDT sold against 6.03 converted
    ada = next(c for c in got.conversions if c.asset == "ADA")
    assert ada.route is Route.NATIVE and ada.amount == D("12.3")
    assert ada.choice.runner_up is Route.SELL


def test_every_compared_asset_keeps_its_route_comparison_in_the_quote(desk: DeskFactory) -> None:
    d = desk(section=apt_section())
    policy = Policy(quote="USDT", dust_threshold=D("50"), keep=frozenset({"DOGE"}))
    from dustsweep.convert.caps import fetch_convert_limits

    got = plan(d, policy=policy, convert_limits=fetch_convert_limits(d.exchange, "BNB"))
    choices = {c.asset: c for c in got.choices}
    assert sorted(choices) == ["ADA", "APT", "TRX", "XRP"]  # ADA too, though better sold
    assert choices["XRP"].reason.startswith("native conversion to BNB nets 0.98 USDT")
    assert "Convert quote to BNB: 12.3 ADA is below the Convert minimum" in choices["ADA"].reason


# -- Bybit: balances with more than 8 decimals, coins and targets without a price ---------------


def test_a_convert_amount_with_more_decimals_is_floored_never_rounded_up(
    desk: DeskFactory,
) -> None:
    """Bybit balances carry up to 18 decimals; a Convert quote takes 8. 5.123456789 XRP is
    asked as 5.12345678: rounding to the nearest would ask for more XRP than is held."""
    d = desk("bybit", bybit_section({"XRP": "5.123456789", "USDT": "1"}))
    assert d.free("XRP") == D("5.123456789")
    got = d.plan("USDC", Policy(quote="USDT"), convert=True, assets=frozenset({"XRP"}))
    (xrp,) = got.conversions
    assert (xrp.route, xrp.amount) == (Route.CONVERT, D("5.12345678"))
    assert xrp.choice.runner_up is Route.SELL  # the same XRP sold would net less


def test_conversions_whose_target_has_no_price_are_counted_unpriced(desk: DeskFactory) -> None:
    """MNT has no ticker (Bybit still values it for its small-balance conversion): what the
    two conversions yield in MNT is known, its worth in USDT is not, and the totals say so."""
    section = bybit_section(dust(["XRP", "ADA"]), usd_prices={"MNT": "0.8"})
    section["drop_prices"] = ["MNTUSDT", "MNTUSDC", "MNTBTC"]
    d = desk("bybit", section)
    got = d.plan("MNT", Policy(quote="USDT"))
    assert [c.asset for c in got.conversions] == ["ADA", "XRP"]
    assert all(c.received_value is None and c.received for c in got.conversions)
    assert got.totals.unpriced == 2
    assert got.totals.received == sum(c.received or 0 for c in got.conversions)
    assert (got.totals.received_value, got.totals.fee_value) == (0, 0)


def test_under_a_run_cap_the_unknown_values_are_listed_after_the_valued_ones(
    desk: DeskFactory,
) -> None:
    """ZZZ has no market (Bybit's own index values it, so its small-balance conversion lists
    it): under --max-value the cap walks the valued conversions first, smallest first, and the
    ones whose value is unknown come last."""
    balances = {**dust(["XRP", "ADA"]), "ZZZ": "100"}
    d = desk("bybit", bybit_section(balances, usd_prices={"ZZZ": "0.001"}))
    got = d.plan("USDC", Policy(quote="USDT"), max_value=D("0.6"))
    assert [c.asset for c in got.conversions] == ["ADA"]  # 0.50000000106, XRP 0.500000004
    assert list(got.skipped) == [
        ("XRP", "over the --max-value cap"),
        ("ZZZ", "value unknown, so the --max-value cap cannot be checked"),
    ]
