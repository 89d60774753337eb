"""Lot-size math: flooring, step combination and market-sell sizing, by table and by property."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dustsweep.core.lots import (
    Blocker,
    combine_steps,
    floor_to_step,
    fmt,
    plain,
    size_market_sell,
)
from dustsweep.core.models import MarketRules

D = Decimal


def rules(
    step: str = "0.1",
    min_qty: str = "0",
    min_notional: str = "0",
    max_qty: str | None = None,
    max_notional: str | None = None,
) -> MarketRules:
    return MarketRules(
        symbol="XUSDT",
        base="X",
        quote="USDT",
        step=D(step),
        min_qty=D(min_qty),
        max_qty=None if max_qty is None else D(max_qty),
        min_notional=D(min_notional),
        max_notional=None if max_notional is None else D(max_notional),
    )


@pytest.mark.parametrize(
    ("qty", "step", "expected"),
    [
        ("0.123456789", "0.00000001", "0.12345678"),  # tiny Binance step
        ("0.00000001", "0.00000001", "0.00000001"),  # exactly one tiny step
        ("0.000000009", "0.00000001", "0"),  # below one tiny step
        ("0.3", "0.1", "0.3"),  # exact multiple survives (no float 0.30000000000000004)
        ("1", "0.06", "0.96"),  # non-power-of-ten step
        ("0.05", "0.06", "0"),
        ("0.12", "0.04", "0.12"),
        ("0.13", "0.04", "0.12"),
        ("7.7", "2.5", "7.5"),
        ("25", "10", "20"),  # step above one
        ("1234.5678", "0", "1234.5678"),  # zero step: no rule
        ("0", "0.1", "0"),
        ("-1", "0.1", "0"),
        ("1234567890.123456789012345678", "0.01", "1234567890.12"),  # 28 digits (Bybit)
        ("12345678901234567890.123456789999", "0.000000001", "12345678901234567890.123456789"),
        ("0.99999999999999999999999999999999", "1", "0"),  # must not round up to 1
    ],
)
def test_floor_to_step_table(qty: str, step: str, expected: str) -> None:
    result = floor_to_step(D(qty), D(step))
    assert result == D(expected)
    assert result <= max(D(qty), D(0))


def test_floor_to_step_keeps_the_step_decimals_for_the_wire() -> None:
    assert fmt(floor_to_step(D("7"), D("0.00010000"))) == "7.00000000"
    assert fmt(floor_to_step(D("25"), D("1E+1"))) == "20"
    assert "E" not in fmt(floor_to_step(D("0.00000123"), D("0.00000001")))


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (("0.04", "0.06"), "0.12"),
        (("0.00000001", "0"), "0.00000001"),  # MARKET_LOT_SIZE step 0 = no rule
        (("0", "0.00100000"), "0.001"),
        (("0", "0"), "0"),
        ((), "0"),
        (("0.1", "0.25"), "0.5"),
        (("0.001", "0.01"), "0.01"),
        (("3", "0.5"), "3"),
        (("0.00000001", "0.00000001"), "0.00000001"),
        (("0.00010000", "0.00001000"), "0.0001"),
    ],
)
def test_combine_steps_table(steps: tuple[str, ...], expected: str) -> None:
    assert combine_steps(*(D(s) for s in steps)) == D(expected)


@given(
    st.lists(
        st.builds(
            lambda m, k: D(m).scaleb(-k),
            st.integers(1, 60),
            st.integers(0, 10),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_combined_step_is_the_least_common_multiple(steps: list[Decimal]) -> None:
    combined = combine_steps(*steps)
    assert all(combined % s == 0 for s in steps)
    # No smaller multiple of the finest step is a multiple of all of them.
    finest = min(steps)
    smaller = [combined - finest * i for i in range(1, 50) if combined - finest * i > 0]
    assert not any(all(c % s == 0 for s in steps) for c in smaller)


def test_plain_drops_trailing_zeros_and_exponents() -> None:
    assert plain(D("5.00000000")) == "5"
    assert plain(D("100")) == "100"
    assert plain(D("0E-8")) == "0"
    assert plain(D("0.00000100")) == "0.000001"


# -- sizing a market sell ---------------------------------------------------------------------


def test_sells_everything_that_fits_the_step() -> None:
    size = size_market_sell(D("12.34"), rules(step="0.1", min_notional="5"), D("1"), D("0.01"))
    assert (size.qty, size.blocker, size.capped) == (D("12.3"), None, False)


def test_exactly_at_the_minimum_value_with_margin_is_sellable() -> None:
    # 5 × 1.01 = 5.05 = 50.5 × 0.1
    size = size_market_sell(D("50.5"), rules(step="0.1", min_notional="5"), D("0.1"), D("0.01"))
    assert size.qty == D("50.5")


def test_one_step_below_the_minimum_value_is_dust() -> None:
    size = size_market_sell(D("50.4"), rules(step="0.1", min_notional="5"), D("0.1"), D("0.01"))
    assert (size.qty, size.floored, size.blocker) == (D(0), D("50.4"), Blocker.MIN_NOTIONAL)


def test_above_the_bare_minimum_but_inside_the_margin_is_dust() -> None:
    # 5.02 ≥ 5 by the last price, but the exchange's price may differ: keep the 1% margin.
    size = size_market_sell(D("50.2"), rules(step="0.1", min_notional="5"), D("0.1"), D("0.01"))
    assert size.blocker is Blocker.MIN_NOTIONAL
    assert size_market_sell(D("50.2"), rules(min_notional="5"), D("0.1"), D("0")).qty == D("50.2")


def test_quantity_equal_to_min_qty_is_sellable() -> None:
    assert size_market_sell(D("0.1"), rules(step="0.1", min_qty="0.1"), D("1"), D(0)).qty == D(
        "0.1"
    )


def test_below_min_qty_names_min_qty() -> None:
    size = size_market_sell(D("0.0412"), rules(step="0.1", min_qty="0.1"), D("1"), D(0))
    assert (size.qty, size.blocker) == (D(0), Blocker.MIN_QTY)


def test_below_one_step_without_min_qty_names_the_step() -> None:
    size = size_market_sell(D("0.004"), rules(step="0.01"), D("1"), D(0))
    assert (size.qty, size.blocker) == (D(0), Blocker.STEP)


def test_floored_quantity_below_an_odd_min_qty() -> None:
    # min_qty not a multiple of the step (one Bybit symbol has that): 0.055 -> 0.03 < 0.05
    size = size_market_sell(D("0.055"), rules(step="0.03", min_qty="0.05"), D("100"), D(0))
    assert (size.qty, size.floored, size.blocker) == (D(0), D("0.03"), Blocker.MIN_QTY)


def test_max_qty_caps_the_order() -> None:
    size = size_market_sell(D("1000.55"), rules(step="0.1", max_qty="168.82682004"), D(1), D(0))
    assert (size.qty, size.capped) == (D("168.8"), True)


def test_max_notional_caps_the_order_with_the_margin() -> None:
    size = size_market_sell(D("1000"), rules(step="1", max_notional="101"), D("1"), D("0.01"))
    assert (size.qty, size.capped) == (D("100"), True)


def test_zero_step_sells_the_whole_balance() -> None:
    assert size_market_sell(D("1.23456789"), rules(step="0"), D("10"), D(0)).qty == D("1.23456789")


def test_a_price_is_required() -> None:
    with pytest.raises(ValueError, match="positive price"):
        size_market_sell(D(1), rules(), D(0), D(0))


# -- properties -------------------------------------------------------------------------------

steps = st.one_of(
    st.just(D(0)),
    st.builds(
        lambda m, k: D(m).scaleb(-k),
        st.sampled_from([1, 1, 1, 2, 3, 5, 7, 25, 60]),
        st.integers(-1, 10),
    ),
)
amounts = st.builds(lambda n, k: D(n).scaleb(-k), st.integers(0, 10**15), st.integers(0, 18))
prices = st.builds(lambda n, k: D(n).scaleb(-k), st.integers(1, 10**9), st.integers(0, 12))
notionals = st.one_of(
    st.just(D(0)), st.builds(lambda n, k: D(n).scaleb(-k), st.integers(1, 10**5), st.integers(0, 6))
)
margins = st.sampled_from([D(0), D("0.01"), D("0.015"), D("0.02"), D("0.1")])


@st.composite
def market_rules(draw: st.DrawFn) -> MarketRules:
    step = draw(steps)
    min_qty = draw(
        st.one_of(
            st.just(D(0)),
            st.just(step),
            st.builds(lambda i: step * i, st.integers(1, 5)),
            amounts,
        )
    )
    max_qty = draw(st.one_of(st.none(), amounts.filter(lambda a: a > 0)))
    return MarketRules(
        symbol="XUSDT",
        base="X",
        quote="USDT",
        step=step,
        min_qty=min_qty,
        max_qty=max_qty,
        min_notional=draw(notionals),
    )


@settings(max_examples=400, deadline=None)
@given(free=amounts, rules=market_rules(), price=prices, margin=margins)
def test_sell_size_is_always_valid_or_zero(
    free: Decimal, rules: MarketRules, price: Decimal, margin: Decimal
) -> None:
    qty = size_market_sell(free, rules, price, margin).qty
    if qty == 0:
        return
    assert 0 < qty <= free
    if rules.step > 0:
        assert qty % rules.step == 0
    assert qty >= rules.min_qty
    assert Fraction(qty) * Fraction(price) >= Fraction(rules.min_notional) * (1 + Fraction(margin))
    assert rules.max_qty is None or qty <= rules.max_qty


@settings(max_examples=400, deadline=None)
@given(free=amounts, rules=market_rules(), price=prices, margin=margins)
def test_sell_size_misses_no_sellable_quantity(
    free: Decimal, rules: MarketRules, price: Decimal, margin: Decimal
) -> None:
    """Compared with an exact rational computation of the largest valid quantity."""
    size = size_market_sell(free, rules, price, margin)
    limit = Fraction(free)
    if rules.max_qty is not None:
        limit = min(limit, Fraction(rules.max_qty))
    step = Fraction(rules.step)
    best = (limit // step) * step if step else limit
    meets = (
        best > 0
        and best >= Fraction(rules.min_qty)
        and best * Fraction(price) >= Fraction(rules.min_notional) * (1 + Fraction(margin))
    )
    assert Fraction(size.qty) == (best if meets else 0)


# -- edges found by mutation testing (tests/MUTANTS.md) -----------------------------------------

M = D("0")  # no margin: the edges below are about the rules, not the safety margin


def test_a_non_finite_step_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="not a finite number: Infinity"):
        combine_steps(D("Infinity"))


def test_plain_never_prints_a_negative_zero() -> None:
    assert plain(D("-0.000")) == "0"


def test_exact_product_keeps_every_digit() -> None:
    from dustsweep.core.lots import exact_product

    # 3 x 3 digits can make 6: one digit less would round 10.0899 to 10.090.
    assert str(exact_product(D("9.99"), D("1.01"))) == "10.0899"


def test_zero_maxima_mean_no_rule() -> None:
    size = size_market_sell(D("12.3"), rules(max_qty="0", max_notional="0"), D("2"), M)
    assert (size.qty, size.floored, size.blocker, size.capped) == (
        D("12.3"),
        D("12.3"),
        None,
        False,
    )


def test_a_balance_exactly_at_a_maximum_is_not_capped() -> None:
    at_qty = size_market_sell(D("12.3"), rules(max_qty="12.3"), D("2"), M)
    assert (at_qty.qty, at_qty.capped) == (D("12.3"), False)
    at_value = size_market_sell(D("12.3"), rules(max_notional="24.6"), D("2"), M)
    assert (at_value.qty, at_value.capped) == (D("12.3"), False)


def test_a_max_notional_below_one_still_caps() -> None:
    size = size_market_sell(D("12.3"), rules(max_notional="0.5"), D("2"), M)
    assert (size.qty, size.floored, size.blocker, size.capped) == (D("0.2"), D("0.2"), None, True)


def test_a_balance_equal_to_min_qty_but_below_one_step_names_the_step() -> None:
    size = size_market_sell(D("0.5"), rules(step="1", min_qty="0.5"), D("2"), M)
    assert (size.qty, size.floored, size.blocker, size.capped) == (D(0), D(0), Blocker.STEP, False)


def test_every_blocked_size_says_whether_a_maximum_cut_it() -> None:
    # Capped to nothing by max_qty smaller than one step.
    nothing = size_market_sell(D("12.3"), rules(step="1", max_qty="0.5"), D("2"), M)
    assert (nothing.qty, nothing.floored, nothing.blocker, nothing.capped) == (
        D(0), D(0), Blocker.STEP, True)  # fmt: skip
    # Capped below min_qty.
    short = size_market_sell(D("12.3"), rules(max_qty="1", min_qty="2"), D("2"), M)
    assert (short.qty, short.floored, short.blocker, short.capped) == (
        D(0), D("1.0"), Blocker.MIN_QTY, True)  # fmt: skip
    # Capped below the minimum value.
    cheap = size_market_sell(D("12.3"), rules(max_qty="1", min_notional="5"), D("2"), M)
    assert (cheap.qty, cheap.floored, cheap.blocker, cheap.capped) == (
        D(0), D("1.0"), Blocker.MIN_NOTIONAL, True)  # fmt: skip
    # Sellable: floored is the quantity.
    ok = size_market_sell(D("12.34"), rules(), D("2"), M)
    assert (ok.qty, ok.floored, ok.blocker, ok.capped) == (D("12.3"), D("12.3"), None, False)
