"""The planner values proceeds through the policy's own bridges, not only the default ones.

An order sold on a market whose quote has no market against the policy's quote is valued
through a bridge (TRY -> EUR -> USDT here): only a policy whose ``bridges`` name EUR can value
it. Written for the surviving mutants ``Valuer(..., policy.bridges)`` -> ``Valuer(...)`` in
``plan_sells`` and ``replan_asset`` (tests/MUTANTS.md).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from dustsweep.core.classify import classify
from dustsweep.core.models import Snapshot
from dustsweep.core.plan import PlannedOrder, plan_sells, replan_asset
from dustsweep.core.policy import DEFAULT_BRIDGES, Policy
from tests.core.test_plan import MARKETS, PRICES, mk, snapshot

D = Decimal
# SOL is dust on SOLUSDT (2 USDT, minimum 5) but sells on SOLTRY; TRY has no USDT market, only
# EURTRY (1 EUR = 40 TRY) and EUR has EURUSDT (1 EUR = 1.1 USDT).
TRY_MARKETS = [
    *MARKETS,
    mk("SOLTRY", "SOL", "TRY", min_notional="1"),
    mk("EURTRY", "EUR", "TRY", min_notional="10"),
    mk("EURUSDT", "EUR", "USDT", min_notional="5"),
]
TRY_PRICES = {**PRICES, "SOLTRY": "4000", "EURTRY": "40", "EURUSDT": "1.1"}
TRY_PER_USDT = D("1.1") / D("40")  # what one TRY is worth in USDT, through EUR
VIA_EUR = Policy(sell_quotes=("USDT", "TRY"), bridges=("EUR",))


def try_snapshot() -> Snapshot:
    return replace(
        snapshot({"SOL": "0.02", "USDC": "8"}),
        markets={m.symbol: m for m in TRY_MARKETS},
        prices={s: D(p) for s, p in TRY_PRICES.items()},
    )


def sol_order(policy: Policy) -> PlannedOrder:
    snap = try_snapshot()
    p = plan_sells(classify(snap, policy), snap, policy)
    (order,) = [o for o in p.orders if o.asset == "SOL"]
    return order


def test_the_default_bridges_cannot_value_the_try_market() -> None:
    """The premise: EUR is no default bridge, so without the policy's bridges TRY has no
    value (the order is still planned, of unknown value)."""
    assert "EUR" not in DEFAULT_BRIDGES
    order = sol_order(Policy(sell_quotes=("USDT", "TRY")))
    assert (order.symbol, order.expected_value) == ("SOLTRY", None)


def test_a_sell_plan_values_proceeds_through_the_policys_own_bridge() -> None:
    snap = try_snapshot()
    p = plan_sells(classify(snap, VIA_EUR), snap, VIA_EUR)
    orders = {o.asset: o for o in p.orders}
    sol = orders["SOL"]
    assert (sol.symbol, sol.quote_asset, sol.expected_proceeds) == ("SOLTRY", "TRY", D("80"))
    assert sol.expected_value == D("80") * TRY_PER_USDT == D("2.2")
    # Valued, it is sorted among the valued orders (2.2 before USDC's 8) and counted.
    assert [o.asset for o in p.orders] == ["SOL", "USDC"]
    assert p.expected_value == D("2.2") + orders["USDC"].expected_value
    fee_value = D("80") * VIA_EUR.fee_rate * TRY_PER_USDT
    assert p.est_fee_value == fee_value + orders["USDC"].est_fee


def test_a_replanned_order_is_valued_through_the_policys_own_bridge() -> None:
    order = sol_order(VIA_EUR)
    snap = try_snapshot()
    markets = dict(snap.markets)
    markets["SOLTRY"] = replace(markets["SOLTRY"], step=D("0.015"), min_qty=D("0.015"))
    again = replan_asset(order, snap, VIA_EUR, markets=markets)
    assert isinstance(again, PlannedOrder)
    assert (again.symbol, again.qty, again.expected_proceeds) == ("SOLTRY", D("0.015"), D("60"))
    assert again.expected_value == D("60") * TRY_PER_USDT == D("1.65")
