"""The sell plan: which orders, in which order, and why the rest is left out."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from dustsweep.core.caps import MAX_VALUE_REASON
from dustsweep.core.classify import classify
from dustsweep.core.models import Balance, MarketRules, Snapshot
from dustsweep.core.plan import (
    PlannedOrder,
    SellPlan,
    plan_followup,
    plan_sells,
    replan_asset,
)
from dustsweep.core.policy import Policy

D = Decimal
POLICY = Policy()


def mk(
    symbol: str, base: str, quote: str, step: str = "0.01", min_notional: str = "5"
) -> MarketRules:
    return MarketRules(
        symbol=symbol,
        base=base,
        quote=quote,
        step=D(step),
        min_qty=D(step),
        min_notional=D(min_notional),
        step_rule="LOT_SIZE stepSize",
        min_qty_rule="LOT_SIZE minQty",
        min_notional_rule="NOTIONAL minNotional",
    )


MARKETS = [
    mk("USDCUSDT", "USDC", "USDT", step="1"),
    mk("ADAUSDT", "ADA", "USDT", step="1"),
    mk("ADABTC", "ADA", "BTC", step="1", min_notional="0.0001"),
    mk("DOTUSDT", "DOT", "USDT"),
    mk("DOTBTC", "DOT", "BTC", min_notional="0.0001"),
    mk("SOLUSDT", "SOL", "USDT"),
    mk("BNBUSDT", "BNB", "USDT", step="0.001"),
    mk("BNBBTC", "BNB", "BTC", step="0.001", min_notional="0.0001"),
    mk("BTCUSDT", "BTC", "USDT", step="0.00001"),
    mk("ETHUSDT", "ETH", "USDT", step="0.0001"),
]
PRICES = {
    "USDCUSDT": "1",
    "ADAUSDT": "1",
    "ADABTC": "0.0000125",
    "DOTUSDT": "4",
    "DOTBTC": "0.00005",
    "SOLUSDT": "100",
    "BNBUSDT": "600",
    "BNBBTC": "0.0075",
    "BTCUSDT": "80000",
    "ETHUSDT": "1600",
}


def snapshot(balances: dict[str, str | tuple[str, str]] | None = None) -> Snapshot:
    balances = balances or {
        "USDT": "50",  # quote: never sold
        "USDC": "8",  # sellable, 8
        "ADA": "9.5",  # partial on ADAUSDT (9), 9.5
        "DOT": "20",  # sellable, 80: not small
        "SOL": "0.02",  # dust, 2
        "BNB": "0.015",  # sellable, 9
        "BTC": ("0.0001", "0.5"),  # sellable 0.0001 = 8; the locked 0.5 makes it large
        "ETH": "0.005",  # sellable, 8
    }
    rows = []
    for asset, amount in balances.items():
        free, locked = (amount, "0") if isinstance(amount, str) else amount
        rows.append(Balance(asset, D(free), D(locked)))
    return Snapshot(
        exchange="binance",
        account="main",
        balances=tuple(rows),
        markets={m.symbol: m for m in MARKETS},
        prices={s: D(p) for s, p in PRICES.items()},
    )


def plan(policy: Policy = POLICY, snap: Snapshot | None = None, **options: object) -> SellPlan:
    snap = snap or snapshot()
    return plan_sells(classify(snap, policy), snap, policy, **options)  # type: ignore[arg-type]


def assets(p: SellPlan) -> list[str]:
    return [o.asset for o in p.orders]


def skipped(p: SellPlan) -> dict[str, str]:
    return dict(p.skipped)


def test_plan_takes_small_sellable_and_partial_assets_by_value() -> None:
    p = plan()
    # ETH 8, USDC 8, ADA 9, BNB 9 (value ascending, ties by name); DOT (80), BTC (40008 with
    # its locked part), SOL (dust) and USDT (quote) are not in it. ADA ties on ADAUSDT and
    # ADABTC (9 each): USDT comes first in sell_quotes.
    assert assets(p) == ["ETH", "USDC", "ADA", "BNB"]
    assert p.skipped == ()
    ada = p.orders[2]
    assert ada == PlannedOrder(
        asset="ADA",
        symbol="ADAUSDT",
        quote_asset="USDT",
        qty=D(9),
        price=D(1),
        expected_proceeds=D(9),
        est_fee=D("0.009"),
        expected_value=D(9),
        residual=D("0.5"),
    )
    assert p.expected_value == D(8) + D(8) + D(9) + D(9)
    assert p.est_fee_value == p.expected_value * D("0.001")
    assert p.quote == "USDT"


def test_threshold_comes_from_the_policy() -> None:
    assert assets(plan(Policy(dust_threshold=D("8")))) == ["ETH", "USDC"]
    assert "DOT" in assets(plan(Policy(dust_threshold=D("100"))))


def test_named_asset_is_sold_whatever_its_size_and_restricts_the_plan() -> None:
    p = plan(assets=frozenset({"dot"}))  # names as typed on the command line
    assert assets(p) == ["DOT"]
    assert p.orders[0].qty == D(20)


def test_named_assets_that_cannot_be_sold_are_listed_with_the_reason() -> None:
    p = plan(assets=frozenset({"SOL", "USDT", "NOPE"}))
    assert p.orders == ()
    reasons = skipped(p)
    assert reasons["SOL"].startswith("worth 2 USDT, below NOTIONAL minNotional 5")
    assert reasons["USDT"] == "quote asset"
    assert reasons["NOPE"] == "no balance"


def test_locked_amount_is_never_sold() -> None:
    p = plan(assets=frozenset({"BTC"}))
    (order,) = p.orders
    assert order.qty == D("0.0001")
    assert order.residual == 0  # of the free amount; the locked 0.5 is not touched


def test_to_asset_restricts_markets_to_that_quote() -> None:
    p = plan(to_asset="btc")
    assert {o.quote_asset for o in p.orders} == {"BTC"}
    assert assets(p) == ["ADA", "BNB"]  # USDC and ETH have no BTC market: silently out
    ada = p.orders[0]
    assert (ada.symbol, ada.qty, ada.residual) == ("ADABTC", D(9), D("0.5"))
    assert ada.expected_proceeds == D("0.0001125")
    assert ada.expected_value == D(9)


def test_to_asset_itself_is_never_sold() -> None:
    p = plan(to_asset="BTC", assets=frozenset({"BTC", "DOT"}))
    assert assets(p) == ["DOT"]
    assert skipped(p) == {"BTC": "BTC is the --to asset"}


def test_max_value_cap_walks_by_value_and_stops() -> None:
    p = plan(max_value=D("20"))
    assert assets(p) == ["ETH", "USDC"]  # 8 + 8 = 16; ADA (9) would make 25
    assert skipped(p) == {"ADA": MAX_VALUE_REASON, "BNB": MAX_VALUE_REASON}
    assert p.expected_value == D(16)


def test_max_value_cap_is_inclusive() -> None:
    assert assets(plan(max_value=D("16"))) == ["ETH", "USDC"]
    assert assets(plan(max_value=D("15.99"))) == ["ETH"]
    assert assets(plan(max_value=D("0"))) == []


def test_max_value_stops_rather_than_skipping_ahead() -> None:
    # After the first asset over the cap, nothing later is added even if it would fit.
    p = plan(max_value=D("5"))
    assert assets(p) == []
    assert set(skipped(p)) == {"BNB", "ETH", "USDC", "ADA"}
    assert set(skipped(p).values()) == {MAX_VALUE_REASON}


def test_per_asset_cap_skips_with_a_reason() -> None:
    p = plan(max_value_per_asset=D("8"))
    assert assets(p) == ["ETH", "USDC"]
    assert skipped(p) == {
        "ADA": "worth 9 USDT, over the --max-value-per-asset cap 8",
        "BNB": "worth 9 USDT, over the --max-value-per-asset cap 8",
    }


def test_never_sell_and_keep() -> None:
    p = plan(Policy(keep=frozenset({"ETH"})), never_sell=frozenset({"BNB"}))
    assert assets(p) == ["USDC", "ADA"]
    # The keep list is already reported as "ignored" by classify: not repeated unless named.
    assert skipped(p) == {"BNB": "in never_sell list"}
    named_keep = plan(Policy(keep=frozenset({"ETH"})), assets=frozenset({"ETH"}))
    assert skipped(named_keep) == {"ETH": "in keep list"}
    named = plan(never_sell=frozenset({"DOT"}), assets=frozenset({"DOT"}))
    assert named.orders == () and skipped(named) == {"DOT": "in never_sell list"}


def test_only_is_an_allow_list() -> None:
    p = plan(only=frozenset({"USDC", "ADA", "DOT"}))
    assert assets(p) == ["USDC", "ADA"]  # DOT is allowed but not small
    assert skipped(p) == {
        "BNB": "not in the allow list (only)",
        "ETH": "not in the allow list (only)",
    }
    assert assets(plan(only=frozenset())) == assets(plan())  # empty = everything


def test_unpriced_sellable_asset_needs_to_be_named() -> None:
    snap = snapshot({"XYZ": "100"})
    snap = replace(
        snap,
        markets={**snap.markets, "XYZBNB": mk("XYZBNB", "XYZ", "BNB", "1", "0.01")},
        prices={"XYZBNB": D("0.001")},  # and BNB has no price in USDT now
    )
    p = plan(snap=snap)
    assert p.orders == ()
    assert "value unknown" in skipped(p)["XYZ"]
    named = plan(snap=snap, assets=frozenset({"XYZ"}))
    assert assets(named) == ["XYZ"] and named.orders[0].expected_value is None
    capped = plan(snap=snap, assets=frozenset({"XYZ"}), max_value=D(100))
    assert capped.orders == () and "cannot be checked" in skipped(capped)["XYZ"]


def test_plan_is_deterministic() -> None:
    assert plan() == plan()


# -- follow-up --------------------------------------------------------------------------------


def test_followup_sells_only_what_the_run_received() -> None:
    snap = snapshot({"BTC": "0.00031"})  # the user's own 0.0002 plus 0.00011 from the run
    (order,) = plan_followup({"BTC": D("0.00011")}, snap, POLICY, dust_assets=frozenset())
    assert (order.symbol, order.qty, order.residual) == ("BTCUSDT", D("0.00011"), D("0.0002"))
    assert order.expected_value == D("8.8")


def test_followup_never_exceeds_the_free_balance() -> None:
    snap = snapshot({"BTC": "0.0001"})
    (order,) = plan_followup({"BTC": D("0.0003")}, snap, POLICY, dust_assets=frozenset())
    assert order.qty == D("0.0001")


def test_followup_of_a_dust_asset_takes_its_whole_balance() -> None:
    snap = snapshot({"BNB": "0.0152"})
    (order,) = plan_followup({"BNB": D("0.001")}, snap, POLICY, dust_assets=frozenset({"BNB"}))
    assert (order.qty, order.residual) == (D("0.015"), D("0.0002"))


def test_followup_below_the_minimums_or_protected_is_left() -> None:
    snap = snapshot({"BNB": "0.0152", "BTC": "1", "USDT": "5"})
    received = {"BNB": D("0.001"), "USDT": D("5"), "BTC": D("0.00001")}
    # 0.001 BNB = 0.6 USDT and 0.00001 BTC = 0.8 USDT: below BNBUSDT/BTCUSDT's 5.05.
    assert plan_followup(received, snap, POLICY, dust_assets=frozenset()) == []
    kept = Policy(keep=frozenset({"BNB"}))
    assert plan_followup(received, snap, kept, dust_assets=frozenset({"BNB"})) == []
    assert (
        plan_followup(
            received, snap, POLICY, dust_assets=frozenset({"BNB"}), never_sell=frozenset({"BNB"})
        )
        == []
    )


def test_followup_only_sells_into_the_policy_quote() -> None:
    # BNB could go to BTC too; the follow-up's purpose is to end in USDT.
    snap = snapshot({"BNB": "0.02"})
    (order,) = plan_followup({"BNB": D("0.02")}, snap, POLICY, dust_assets=frozenset())
    assert order.symbol == "BNBUSDT"


# -- re-planning one asset --------------------------------------------------------------------


def ada_order() -> PlannedOrder:
    p = plan(assets=frozenset({"ADA"}))
    (order,) = p.orders
    return order


def test_replan_after_rules_changed_to_a_bigger_minimum() -> None:
    snap = snapshot()
    markets = dict(snap.markets)
    markets["ADAUSDT"] = replace(markets["ADAUSDT"], min_notional=D("10"))
    result = replan_asset(ada_order(), snap, POLICY, markets=markets, quotes=("USDT",))
    assert result == "worth 9 USDT, below NOTIONAL minNotional 10 (+1% margin) on ADAUSDT"


def test_replan_after_rules_changed_step() -> None:
    snap = snapshot()
    markets = dict(snap.markets)
    markets["ADAUSDT"] = replace(markets["ADAUSDT"], step=D("0.5"), min_qty=D("0.5"))
    result = replan_asset(ada_order(), snap, POLICY, markets=markets, quotes=("USDT",))
    assert isinstance(result, PlannedOrder)
    # Never more than the confirmed 9, even though 9.5 now fits the step.
    assert (result.qty, result.residual) == (D(9), D("0.5"))


def test_replan_after_the_balance_fell() -> None:
    result = replan_asset(ada_order(), snapshot(), POLICY, free=D("7.7"))
    assert isinstance(result, PlannedOrder)
    assert (result.qty, result.residual, result.expected_value) == (D(7), D("0.7"), D(7))
    assert replan_asset(ada_order(), snapshot(), POLICY, free=D(0)) == "no free ADA left"


def test_replan_moves_off_a_halted_market() -> None:
    result = replan_asset(ada_order(), snapshot(), POLICY, exclude={"ADAUSDT"})
    assert isinstance(result, PlannedOrder)
    assert (result.symbol, result.qty) == ("ADABTC", D(9))
    assert replan_asset(ada_order(), snapshot(), POLICY, exclude={"ADAUSDT"}, quotes=("USDT",)) == (
        "no market into USDT"
    )


@pytest.mark.parametrize("free", ["9", "9.5", "100"])
def test_replan_with_unchanged_rules_gives_the_same_order(free: str) -> None:
    order = ada_order()
    result = replan_asset(order, snapshot(), POLICY, free=D(free))
    assert isinstance(result, PlannedOrder)
    assert (result.symbol, result.qty) == (order.symbol, order.qty)
    assert result.residual == D(free) - order.qty


# -- edges found by mutation testing (tests/MUTANTS.md) -----------------------------------------


def test_an_empty_plan_sums_to_decimal_zero() -> None:
    p = plan(assets=frozenset({"NOPE"}))
    assert p.orders == () and p.expected_value == D(0) and p.est_fee_value == D(0)
    assert isinstance(p.expected_value, Decimal) and isinstance(p.est_fee_value, Decimal)


def test_skip_reasons_are_worded_exactly() -> None:
    unpriced = snapshot({"ADA": "9.5", "USDT": "1"})
    unpriced = replace(unpriced, prices={s: p for s, p in unpriced.prices.items() if s != "ADABTC"})
    no_value = replace(unpriced, prices={"ADAUSDT": D(1)})
    p = plan(snap=no_value, max_value_per_asset=D("100"), assets=frozenset({"ADA"}))
    assert p.orders and not p.skipped  # valued through ADAUSDT itself
    p = plan(max_value=D("100"), snap=snapshot({"XRP": "1"}))
    assert p.orders == ()
    cap = Policy()
    from dustsweep.core.caps import apply_run_cap, per_asset_cap_reason

    assert per_asset_cap_reason(None, D("1"), "USDT") == (
        "value unknown, so the --max-value-per-asset cap cannot be checked"
    )
    assert per_asset_cap_reason(D("2"), D("1"), "USDT") == (
        "worth 2 USDT, over the --max-value-per-asset cap 1"
    )
    kept, left = apply_run_cap([ada_order()], D("100"), lambda _o: None)
    assert kept == [] and left == [
        ("ADA", "value unknown, so the --max-value cap cannot be checked")
    ]
    assert cap.quote == "USDT"


def test_an_unpriced_asset_says_how_to_sell_it() -> None:
    markets = [*MARKETS, mk("XYZBTC", "XYZ", "BTC", step="1", min_notional="0.0001")]
    snap = replace(
        snapshot({"XYZ": "100"}),
        markets={m.symbol: m for m in markets},
        prices={**{s: D(p) for s, p in PRICES.items() if s != "BTCUSDT"}, "XYZBTC": D("0.001")},
    )
    p = plan_sells(classify(snap, POLICY), snap, POLICY)
    assert skipped(p)["XYZ"] == "value unknown; name it with --asset to sell it"


def test_an_order_needs_a_market() -> None:
    from dustsweep.core.plan import order_from_report

    report = classify(snapshot({"SOL": "0.02"}), POLICY).get("SOL")
    assert report is not None
    with pytest.raises(ValueError, match="SOL has no market to sell on"):
        order_from_report(replace(report, market=None), POLICY, _valuer())


def _valuer() -> object:
    from dustsweep.core.valuation import Valuer

    snap = snapshot()
    return Valuer(snap.markets, snap.prices, POLICY.quote, POLICY.bridges)


def test_followup_orders_name_their_asset_and_skip_only_what_is_protected() -> None:
    snap = snapshot({"BNB": "0.02", "ETH": "0.005", "USDT": "5"})
    received = {"BNB": D("0.02"), "ETH": D("0.005"), "USDT": D("5"), "DOT": D("1")}
    never = frozenset({"BNB"})  # sorted first: skipping it must not stop the walk
    orders = plan_followup(received, snap, POLICY, dust_assets=frozenset(), never_sell=never)
    assert [(o.asset, o.symbol) for o in orders] == [("ETH", "ETHUSDT")]  # DOT: no balance


def test_replan_names_the_asset_and_its_amount() -> None:
    order = ada_order()
    assert isinstance(replan_asset(order, snapshot(), POLICY, free=D("0.5")), str)
    assert replan_asset(order, snapshot(), POLICY, free=D("0.5")) == (
        "0.5 ADA is below LOT_SIZE minQty 1 on ADAUSDT"
    )
    result = replan_asset(order, snapshot(), POLICY, free=D("8"))
    assert isinstance(result, PlannedOrder) and result.asset == "ADA"
    moved = replan_asset(order, snapshot(), POLICY, exclude={"ADAUSDT"})
    assert isinstance(moved, PlannedOrder) and moved.asset == "ADA"
    nowhere = replan_asset(order, snapshot(), POLICY, exclude={"ADAUSDT", "ADABTC"})
    assert nowhere == "no market into USDT/USDC/FDUSD/BTC/BNB/ETH"


def test_replan_lists_why_each_market_is_unusable() -> None:
    snap = snapshot()
    markets = dict(snap.markets)
    for symbol in ("ADAUSDT", "ADABTC"):
        markets[symbol] = replace(markets[symbol], trading=False)
    assert replan_asset(ada_order(), snap, POLICY, markets=markets) == (
        "ADAUSDT is halted; ADABTC is halted"
    )


def test_an_order_of_unknown_value_goes_after_every_valued_one() -> None:
    # SOL is dust on SOLUSDT but sells on SOLXYZ, whose proceeds nothing values in USDT.
    markets = [*MARKETS, mk("SOLXYZ", "SOL", "XYZ", min_notional="0.0001")]
    snap = replace(
        snapshot({"SOL": "0.02", "USDC": "8"}),
        markets={m.symbol: m for m in markets},
        prices={**{s: D(p) for s, p in PRICES.items()}, "SOLXYZ": D("10")},
    )
    policy = Policy(sell_quotes=("USDT", "XYZ"))
    p = plan_sells(classify(snap, policy), snap, policy)
    assert [(o.asset, o.symbol) for o in p.orders] == [("USDC", "USDCUSDT"), ("SOL", "SOLXYZ")]
    assert p.orders[1].expected_value is None
