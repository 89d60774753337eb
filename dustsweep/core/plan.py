"""Pure: which market sells ``dustsweep sell`` will place, and why the others are left out.

The plan is what the user confirms, so it is deterministic (same input, same orders in the
same order) and every asset the user asked about but that will not be sold is listed with the
reason. Nothing here sends anything; the executor runs the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from dustsweep.core.caps import Skip, apply_run_cap, per_asset_cap_reason
from dustsweep.core.classify import (
    AccountReport,
    AssetReport,
    MarketBook,
    MarketChoice,
    choose_market,
    classify,
    dust_reason,
)
from dustsweep.core.models import ZERO, Balance, MarketRules, Snapshot, Verdict
from dustsweep.core.valuation import Valuer

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from decimal import Decimal

    from dustsweep.core.policy import Policy

_SELLING = frozenset({Verdict.SELLABLE, Verdict.PARTIAL})


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    """One MARKET SELL to place.

    ``expected_proceeds`` is gross ``qty × price`` in ``quote_asset``; ``est_fee`` is the
    policy's fee estimate on it, also in ``quote_asset``; ``expected_value`` is the proceeds in
    the policy's quote (None when no price reaches ``quote_asset``). ``residual`` is what stays
    of the free balance after this order.
    """

    asset: str
    symbol: str
    quote_asset: str
    qty: Decimal
    price: Decimal
    expected_proceeds: Decimal
    est_fee: Decimal
    expected_value: Decimal | None
    residual: Decimal


@dataclass(frozen=True, slots=True)
class SellPlan:
    """The orders in execution order (value ascending, then name) and what was left out.

    ``expected_value`` and ``est_fee_value`` are in ``quote`` (orders whose value is unknown
    add nothing).
    """

    quote: str
    orders: tuple[PlannedOrder, ...]
    skipped: tuple[Skip, ...]
    expected_value: Decimal
    est_fee_value: Decimal


def plan_sells(
    report: AccountReport,
    snapshot: Snapshot,
    policy: Policy,
    *,
    to_asset: str | None = None,
    assets: frozenset[str] = frozenset(),
    max_value: Decimal | None = None,
    only: frozenset[str] | None = None,
    max_value_per_asset: Decimal | None = None,
    never_sell: frozenset[str] = frozenset(),
    urgent: frozenset[str] = frozenset(),
) -> SellPlan:
    """The sell plan: every small sellable/partial asset, or exactly the ``assets`` named.
    ``urgent`` assets (delisting soon) are candidates whatever their size, as if named.

    Never sold: the policy's quote, ``to_asset``, ``never_sell``, the keep list, locked
    amounts (only ``free`` is ever sized). ``to_asset`` re-chooses markets among those quoted
    in it. ``only`` is an allow list. ``max_value_per_asset`` skips an order worth more;
    ``max_value`` caps the run, walking orders by value ascending then name.
    """
    assets, never_sell = _upper(assets), _upper(never_sell)
    only = None if only is None else _upper(only)
    valuer = Valuer(snapshot.markets, snapshot.prices, policy.quote, policy.bridges)
    if to_asset is not None:
        to_asset = to_asset.upper()
        report = classify(snapshot, replace(policy, sell_quotes=(to_asset,)))
    rules = _Exclusions(policy, to_asset, never_sell, only)
    held = {item.asset for item in report.assets}
    skipped = [Skip(name, "no balance") for name in sorted(assets - held)]
    orders: list[PlannedOrder] = []
    for item in report.assets:
        named = item.asset in assets
        if assets and not named:
            continue
        reason = rules.reason(item, named or item.asset in urgent, policy)
        if reason is None:
            order = order_from_report(item, policy, valuer)
            reason = per_asset_cap_reason(order.expected_value, max_value_per_asset, policy.quote)
            if reason is None:
                orders.append(order)
                continue
        if reason:
            skipped.append(Skip(item.asset, reason))
    orders.sort(key=_execution_order)
    kept, over_cap = apply_run_cap(orders, max_value, _order_value)
    skipped.extend(over_cap)
    return SellPlan(
        quote=policy.quote,
        orders=tuple(kept),
        skipped=tuple(skipped),
        expected_value=sum((o.expected_value or ZERO for o in kept), ZERO),
        est_fee_value=sum((_fee_value(o, valuer) for o in kept), ZERO),
    )


def _upper(names: frozenset[str]) -> frozenset[str]:
    return frozenset(name.upper() for name in names)


class _Exclusions:
    """Why an asset of the report stays out of the plan ("" = silently: not a candidate)."""

    def __init__(
        self,
        policy: Policy,
        to_asset: str | None,
        never_sell: frozenset[str],
        only: frozenset[str] | None,
    ) -> None:
        self.forbidden: dict[str, str] = {a: "in never_sell list" for a in never_sell}
        self.forbidden.update({a: "in keep list" for a in policy.keep})
        if to_asset is not None:
            self.forbidden[to_asset] = f"{to_asset} is the --to asset"
        self.forbidden[policy.quote] = "quote asset"
        self.only = only or None  # empty allow list = everything (as in the config)

    def reason(self, item: AssetReport, named: bool, policy: Policy) -> str | None:
        candidate = item.status in _SELLING and policy.in_scope(item.value, named=named)
        if item.asset in self.forbidden:
            return self.forbidden[item.asset] if named or candidate else ""
        if self.only is not None and item.asset not in self.only:
            return "not in the allow list (only)" if named or candidate else ""
        if item.status not in _SELLING:
            return item.reason if named else ""
        if named or candidate:
            return None
        if item.value is None:
            return "value unknown; name it with --asset to sell it"
        return ""  # worth more than the dust threshold: not dust


def _execution_order(order: PlannedOrder) -> tuple[bool, Decimal, str]:
    return (order.expected_value is None, order.expected_value or ZERO, order.asset)


def _order_value(order: PlannedOrder) -> Decimal | None:
    return order.expected_value


def order_from_report(item: AssetReport, policy: Policy, valuer: Valuer) -> PlannedOrder:
    """The order for a sellable/partial :class:`AssetReport` (its chosen market and quantity)."""
    if item.market is None or item.market_quote is None or item.price is None:
        raise ValueError(f"{item.asset} has no market to sell on ({item.status})")
    return _order(
        item.asset,
        item.market,
        item.market_quote,
        item.sell_qty,
        item.price,
        item.free,
        policy,
        valuer,
    )


def _order(
    asset: str,
    symbol: str,
    quote_asset: str,
    qty: Decimal,
    price: Decimal,
    free: Decimal,
    policy: Policy,
    valuer: Valuer,
) -> PlannedOrder:
    proceeds = qty * price
    return PlannedOrder(
        asset=asset,
        symbol=symbol,
        quote_asset=quote_asset,
        qty=qty,
        price=price,
        expected_proceeds=proceeds,
        est_fee=proceeds * policy.fee_rate,
        expected_value=valuer.value(quote_asset, proceeds),
        residual=free - qty,
    )


def _order_from_choice(
    asset: str, choice: MarketChoice, free: Decimal, policy: Policy, valuer: Valuer
) -> PlannedOrder:
    rules = choice.rules
    return _order(
        asset, rules.symbol, rules.quote, choice.size.qty, choice.price, free, policy, valuer
    )


def _fee_value(order: PlannedOrder, valuer: Valuer) -> Decimal:
    return valuer.value(order.quote_asset, order.est_fee) or ZERO


def plan_followup(
    received: Mapping[str, Decimal],
    snapshot: Snapshot,
    policy: Policy,
    *,
    dust_assets: frozenset[str],
    never_sell: frozenset[str] = frozenset(),
) -> list[PlannedOrder]:
    """Sell on into ``policy.quote`` what a run received in intermediate quotes (BTC, BNB...).

    ``snapshot`` holds the balances read after the primary orders. Never more of an asset than
    the run itself received (``min(received, free)``) — the user's own BTC is not dust —
    unless that asset was itself dust (in ``dust_assets``): then its whole free amount may go.
    Only markets quoted in ``policy.quote``; an amount below their minimums stays.
    """
    book = MarketBook(snapshot.markets, snapshot.prices)
    valuer = Valuer(snapshot.markets, snapshot.prices, policy.quote, policy.bridges)
    free_of = {b.asset: b.free for b in snapshot.balances}
    orders: list[PlannedOrder] = []
    for asset in sorted(received):
        amount = received[asset]
        if asset == policy.quote or asset in policy.keep or asset in never_sell or amount <= 0:
            continue
        free = free_of.get(asset, ZERO)
        available = free if asset in dust_assets else min(amount, free)
        options = choose_market(book, asset, available, (policy.quote,), policy.notional_margin)
        if options.best is not None:
            orders.append(_order_from_choice(asset, options.best, free, policy, valuer))
    return orders


def expected_followups(
    plan: SellPlan,
    snapshot: Snapshot,
    policy: Policy,
    *,
    keep_quotes: frozenset[str] = frozenset(),
    never_sell: frozenset[str] = frozenset(),
) -> list[PlannedOrder]:
    """The follow-up sales ``plan`` is expected to lead to, for the plan the user confirms:
    what its orders would receive in quotes other than ``policy.quote`` (and ``keep_quotes``),
    sold on as ``plan_followup`` would size it from the balances the orders would leave. The
    executor sizes the real follow-ups from the balances it reads after the orders."""
    received: dict[str, Decimal] = {}
    free = {b.asset: b.free for b in snapshot.balances}
    for order in plan.orders:
        free[order.asset] = free.get(order.asset, ZERO) - order.qty
        if order.quote_asset != policy.quote and order.quote_asset not in keep_quotes:
            net = order.expected_proceeds - order.est_fee
            received[order.quote_asset] = received.get(order.quote_asset, ZERO) + net
    for asset, amount in received.items():
        free[asset] = free.get(asset, ZERO) + amount
    after = replace(
        snapshot,
        balances=tuple(Balance(asset, max(amount, ZERO)) for asset, amount in free.items()),
    )
    return plan_followup(
        received,
        after,
        policy,
        dust_assets=frozenset(o.asset for o in plan.orders),
        never_sell=never_sell,
    )


def replan_asset(
    order: PlannedOrder,
    snapshot: Snapshot,
    policy: Policy,
    *,
    markets: Mapping[str, MarketRules] | None = None,
    free: Decimal | None = None,
    exclude: Iterable[str] = (),
    quotes: Sequence[str] | None = None,
) -> PlannedOrder | str:
    """Recompute one asset's order after its market's rules or its balance changed.

    ``markets``: fresh rules (after a filter rejection); ``free``: the balance read again (after
    "insufficient balance"; default: the free amount the order was planned from); ``exclude``:
    symbols not to use (one found halted); ``quotes``: allowed quotes (default the policy's
    sell_quotes; pass ``(to_asset,)`` for a ``--to`` run or ``(policy.quote,)`` for a
    follow-up). Never more than ``order.qty``: that is what the user confirmed. Returns the
    new order, or the reason nothing can be sold now.
    """
    markets = snapshot.markets if markets is None else markets
    balance = order.qty + order.residual if free is None else free
    available = min(balance, order.qty)
    if available <= 0:
        return f"no free {order.asset} left"
    book = MarketBook(markets, snapshot.prices)
    allowed = policy.sell_quotes if quotes is None else tuple(quotes)
    options = choose_market(
        book, order.asset, available, allowed, policy.notional_margin, frozenset(exclude)
    )
    if options.best is not None:
        valuer = Valuer(markets, snapshot.prices, policy.quote, policy.bridges)
        return _order_from_choice(order.asset, options.best, balance, policy, valuer)
    if options.preferred is not None:
        return dust_reason(order.asset, available, options.preferred, policy)
    return "; ".join(options.unusable) or f"no market into {'/'.join(allowed)}"
