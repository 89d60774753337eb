"""Pure: one verdict, with the exchange rule behind it, for every balance of one account.

The verdict answers "what can be done with this balance right now": sell all of it, sell part
and leave a residual, nothing (dust: a named minimum blocks it), no market at all, locked in
orders, or not ours to touch. Markets are compared by the QUANTITY they can take, never by
proceeds: proceeds across quotes differ by price noise, and the point is to leave less behind.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from dustsweep.core.lots import Blocker, SellSize, plain, size_market_sell
from dustsweep.core.models import ZERO, Balance, MarketRules, Snapshot, Verdict
from dustsweep.core.valuation import Valuer

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from dustsweep.core.policy import Policy

SIMPLE_EARN_PREFIX = "LD"


@dataclass(frozen=True, slots=True)
class AssetReport:
    """The verdict on one balance.

    ``value`` is free + locked in the policy's quote (None: no price reaches it). ``market``,
    ``market_quote`` and ``price`` (per base, in the market's quote) name the market chosen to
    sell on, or for dust the preferred market whose rule blocks it. ``sell_qty`` is floored,
    never above ``free`` and meets every minimum, else 0; ``residual`` is ``free - sell_qty``
    (what stays) for sellable, partial, dust and no-market balances. ``small``: worth at most
    the dust threshold, or of unknown worth (so it is shown rather than hidden).
    """

    asset: str
    free: Decimal
    locked: Decimal
    value: Decimal | None
    status: Verdict
    reason: str
    market: str | None = None
    market_quote: str | None = None
    price: Decimal | None = None
    sell_qty: Decimal = ZERO
    residual: Decimal = ZERO
    convertible: bool | None = None
    small: bool = True


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums in the policy's quote. Unpriced assets are counted, never valued as 0.

    ``small``: every small balance that is not ignored. ``sellable``: what ``dustsweep sell``
    would recover now (the sellable quantity of small sellable/partial balances). ``dust``:
    what cannot be sold now among small balances (dust, partial residuals, no market);
    ``convertible`` is the part of it the exchange's own conversion accepts and ``stuck`` the
    rest, so ``dust == convertible + stuck``.
    """

    total: Decimal = ZERO
    small: Decimal = ZERO
    sellable: Decimal = ZERO
    dust: Decimal = ZERO
    convertible: Decimal = ZERO
    stuck: Decimal = ZERO
    unpriced: int = 0


@dataclass(frozen=True, slots=True)
class AccountReport:
    """Every non-zero balance of one account with its verdict, most valuable first."""

    exchange: str
    account: str
    quote: str
    assets: tuple[AssetReport, ...]
    totals: Totals

    def get(self, asset: str) -> AssetReport | None:
        """The report on ``asset``, or None when the account does not hold it."""
        return next((a for a in self.assets if a.asset == asset), None)


@dataclass(frozen=True, slots=True)
class MarketChoice:
    """One usable market for an asset and how much of the balance it can take."""

    rules: MarketRules
    price: Decimal
    size: SellSize


@dataclass(frozen=True, slots=True)
class MarketOptions:
    """The outcome of choosing a market for one balance.

    ``best``: the usable market that sells the largest quantity (> 0), ties broken by quote
    order. ``preferred``: the first usable market in quote order (its rule explains dust).
    ``unusable``: one reason per listed market that cannot be used (halted, no price...).
    """

    best: MarketChoice | None
    preferred: MarketChoice | None
    unusable: tuple[str, ...]


class MarketBook:
    """The markets of one snapshot indexed by base asset, built once per classification."""

    def __init__(self, markets: Mapping[str, MarketRules], prices: Mapping[str, Decimal]):
        self.prices = prices
        self._by_base: dict[str, dict[str, MarketRules]] = {}
        listed: set[str] = set()
        for rules in markets.values():
            self._by_base.setdefault(rules.base, {})[rules.quote] = rules
            listed.add(rules.base)
            listed.add(rules.quote)
        self._listed = frozenset(listed)

    def is_listed(self, asset: str) -> bool:
        """True when ``asset`` is the base or quote of any market, halted ones included."""
        return asset in self._listed

    def markets_for(self, base: str, quotes: Iterable[str]) -> list[MarketRules]:
        """Markets selling ``base`` into each of ``quotes`` that exists, in that order."""
        by_quote = self._by_base.get(base, {})
        return [by_quote[q] for q in quotes if q in by_quote]

    def price(self, symbol: str) -> Decimal | None:
        price = self.prices.get(symbol)
        return price if price is not None and price > 0 else None


def choose_market(
    book: MarketBook,
    asset: str,
    free: Decimal,
    quotes: Iterable[str],
    margin: Decimal,
    exclude: frozenset[str] = frozenset(),
) -> MarketOptions:
    """Size a market sell of ``free`` on every usable market of ``asset`` into ``quotes``.

    Usable: trading, accepting market orders, with a price (Bybit lists some trading symbols
    without any ticker; an order there is rejected). ``exclude`` drops symbols, e.g. one that
    turned out halted during a run.
    """
    best: MarketChoice | None = None
    preferred: MarketChoice | None = None
    unusable: list[str] = []
    for rules in book.markets_for(asset, quotes):
        if rules.symbol in exclude:
            continue
        price = book.price(rules.symbol)
        if price is None or not rules.trading or not rules.market_orders:
            unusable.append(_unusable_reason(rules))
            continue
        choice = MarketChoice(rules, price, size_market_sell(free, rules, price, margin))
        preferred = preferred or choice
        if choice.size.qty > 0 and (best is None or choice.size.qty > best.size.qty):
            best = choice
    return MarketOptions(best, preferred, tuple(unusable))


def _unusable_reason(rules: MarketRules) -> str:
    if not rules.trading:
        return f"{rules.symbol} is halted"
    if not rules.market_orders:
        return f"{rules.symbol} does not accept market orders"
    return f"{rules.symbol} is listed but has no price"


def is_simple_earn(asset: str, book: MarketBook) -> bool:
    """Binance shows Simple Earn flexible positions as ``LD<ASSET>`` spot balances.

    They cannot be traded. A real coin may also start with "LD" (LDO), so it counts as a
    wrapper only when it is not listed itself and what follows "LD" is.
    """
    return (
        asset.startswith(SIMPLE_EARN_PREFIX)
        and len(asset) > len(SIMPLE_EARN_PREFIX)
        and not book.is_listed(asset)
        and book.is_listed(asset[len(SIMPLE_EARN_PREFIX) :])
    )


def assess_balance(
    balance: Balance,
    book: MarketBook,
    valuer: Valuer,
    policy: Policy,
    convertible: frozenset[str] | None,
) -> AssetReport:
    """The verdict on one balance.

    In this order: ignored (keep list, the quote asset, a Simple Earn wrapper), locked
    (nothing free), then the market choice over ``policy.sell_quotes``. ``value`` covers free +
    locked; a Simple Earn wrapper is valued as its underlying coin.
    """
    asset = balance.asset
    earn = is_simple_earn(asset, book)
    underlying = asset[len(SIMPLE_EARN_PREFIX) :] if earn else asset
    value = valuer.value(underlying, balance.total)
    base = AssetReport(
        asset=asset,
        free=balance.free,
        locked=balance.locked,
        value=value,
        status=Verdict.IGNORED,
        reason="",
        convertible=None if convertible is None else asset in convertible,
        small=value is None or value <= policy.dust_threshold,
    )
    ignored = _ignore_reason(asset, earn, policy)
    if ignored is not None:
        return replace(base, reason=ignored)
    if balance.free <= 0:
        reason = f"all {plain(balance.locked)} {asset} is locked in open orders"
        return replace(base, status=Verdict.LOCKED, reason=reason)
    options = choose_market(book, asset, balance.free, policy.sell_quotes, policy.notional_margin)
    return apply_choice(base, options, policy)


def _ignore_reason(asset: str, earn: bool, policy: Policy) -> str | None:
    if asset in policy.keep:
        return "in keep list"
    if asset == policy.quote:
        return "quote asset"
    if earn:
        return "Simple Earn position (not spot)"
    return None


def apply_choice(base: AssetReport, options: MarketOptions, policy: Policy) -> AssetReport:
    """Turn the market options for ``base.free`` into a sellable/partial/dust/no-market verdict."""
    asset, free = base.asset, base.free
    chosen = options.best or options.preferred
    if chosen is None:
        quotes = "/".join(policy.sell_quotes) or "any allowed quote"
        reason = "; ".join(options.unusable) or f"no market into {quotes}"
        return replace(base, status=Verdict.NO_MARKET, reason=reason, residual=free)
    qty = chosen.size.qty
    if qty == 0:
        status, reason = Verdict.DUST, dust_reason(asset, free, chosen, policy)
    elif qty == free:
        status, reason = Verdict.SELLABLE, f"sell {plain(qty)} {asset} on {chosen.rules.symbol}"
    else:
        status, reason = Verdict.PARTIAL, _partial_reason(asset, free, chosen)
    return replace(
        base,
        status=status,
        reason=reason,
        market=chosen.rules.symbol,
        market_quote=chosen.rules.quote,
        price=chosen.price,
        sell_qty=qty,
        residual=free - qty,
    )


def dust_reason(asset: str, free: Decimal, choice: MarketChoice, policy: Policy) -> str:
    """Which rule of ``choice``'s market blocks the sale, with the numbers that show by how much."""
    rules, size = choice.rules, choice.size
    symbol = rules.symbol
    if size.blocker is Blocker.MIN_NOTIONAL:
        worth = _short(size.floored * choice.price)
        margin = _margin_text(policy.notional_margin)
        return (
            f"worth {worth} {rules.quote}, below {rules.min_notional_rule} "
            f"{plain(rules.min_notional)}{margin} on {symbol}"
        )
    if size.blocker is Blocker.MIN_QTY:
        minimum = f"{rules.min_qty_rule} {plain(rules.min_qty)} on {symbol}"
        if free < rules.min_qty or size.floored == free:
            return f"{plain(free)} {asset} is below {minimum}"
        step = f"{rules.step_rule} {plain(rules.step)}"
        return f"{plain(free)} {asset} floors to {plain(size.floored)} ({step}), below {minimum}"
    return f"{plain(free)} {asset} is below one {rules.step_rule} {plain(rules.step)} on {symbol}"


def _partial_reason(asset: str, free: Decimal, choice: MarketChoice) -> str:
    rules, qty = choice.rules, choice.size.qty
    rest = free - qty
    if choice.size.capped:
        why = f"the order is capped at {plain(qty)} by the market's maximum"
    else:
        why = f"below one {rules.step_rule} {plain(rules.step)}"
    return (
        f"sell {plain(qty)} of {plain(free)} {asset} on {rules.symbol}; {plain(rest)} stays ({why})"
    )


def classify(snapshot: Snapshot, policy: Policy) -> AccountReport:
    """Every non-zero balance of ``snapshot`` with its verdict, plus the account's totals."""
    book = MarketBook(snapshot.markets, snapshot.prices)
    valuer = Valuer(snapshot.markets, snapshot.prices, policy.quote, policy.bridges)
    reports = [
        assess_balance(balance, book, valuer, policy, snapshot.convertible)
        for balance in snapshot.balances
        if balance.total > 0
    ]
    reports.sort(key=_value_order)
    return AccountReport(
        exchange=snapshot.exchange,
        account=snapshot.account,
        quote=policy.quote,
        assets=tuple(reports),
        totals=compute_totals(reports, valuer),
    )


def _value_order(report: AssetReport) -> tuple[bool, Decimal, str]:
    return (report.value is None, -(report.value or ZERO), report.asset)


_STAYS = frozenset({Verdict.DUST, Verdict.PARTIAL, Verdict.NO_MARKET})


def compute_totals(reports: Iterable[AssetReport], valuer: Valuer) -> Totals:
    """Sum the reports into :class:`Totals` (portions valued at the asset's price in quote)."""
    total = small = sellable = dust = convertible = ZERO
    unpriced = 0
    for report in reports:
        if report.value is None:
            unpriced += 1
        else:
            total += report.value
        if not report.small or report.status is Verdict.IGNORED:
            continue
        small += report.value or ZERO
        unit = valuer.price_in_quote(report.asset)
        if unit is None:
            continue
        sellable += report.sell_qty * unit
        if report.status in _STAYS:
            stays = report.residual * unit
            dust += stays
            if report.convertible:
                convertible += stays
    return Totals(total, small, sellable, dust, convertible, dust - convertible, unpriced)


def _short(value: Decimal, digits: int = 6) -> str:
    """A computed value cut (never rounded up) to a few significant digits for reasons."""
    if not value:
        return "0"
    quantum = Decimal(1).scaleb(value.adjusted() - digits + 1)
    return plain(value.quantize(quantum, rounding=ROUND_DOWN))


def _margin_text(margin: Decimal) -> str:
    return f" (+{plain(margin * 100)}% margin)" if margin > 0 else ""
