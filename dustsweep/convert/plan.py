"""Pure: which balances ``dustsweep convert`` will convert, by which route, and what it costs.

The exchange's own preview decides what is eligible: only the assets it lists are ever sent to
its small-balance conversion, because one ineligible asset can fail a whole Binance batch. The
plan then removes what must never be converted even when the preview lists it (Binance's
dust-btc lists any small balance, the quote asset included): the quote asset, the target
itself, the keep list and the never list. For each remaining asset the routes are compared
(``routes``): a balance that cannot be sold is converted when that nets something; one that
can be sold is converted only when converting nets more than selling.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from dustsweep.core.caps import Skip, apply_run_cap, per_asset_cap_reason
from dustsweep.core.lots import plain
from dustsweep.core.models import (
    ZERO,
    ConversionPreview,
    ConvertLimit,
    DustCandidate,
    Snapshot,
    Verdict,
)
from dustsweep.core.routes import (
    Route,
    RouteChoice,
    RouteOption,
    choose_route,
    convert_option,
    native_option,
    sell_option,
)
from dustsweep.core.valuation import Valuer

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from dustsweep.core.classify import AccountReport, AssetReport
    from dustsweep.core.policy import Policy

CONVERT_PLACES = Decimal("0.00000001")  # Convert quotes take 8 decimals for every asset
NOT_LISTED = "not offered by the exchange's small-balance conversion (not eligible)"
_CONVERTING = frozenset({Route.NATIVE, Route.CONVERT})


@dataclass(frozen=True, slots=True)
class PlannedConversion:
    """One asset to convert and what the exchange expects it to yield.

    ``received`` (net, after the fee) and ``fee`` are in ``target``; ``received_value`` and
    ``fee_value`` the same in the quote asset, and ``value`` is what ``amount`` is worth there
    before any fee (None: no price). ``choice`` holds the chosen route and the runner-up.
    """

    asset: str
    route: Route
    amount: Decimal
    target: str
    received: Decimal | None
    fee: Decimal | None
    fee_rate: Decimal | None
    received_value: Decimal | None
    fee_value: Decimal | None
    value: Decimal | None
    choice: RouteChoice


@dataclass(frozen=True, slots=True)
class ConversionTotals:
    """Sums over the plan: in the target, and in the quote for what has a price."""

    received: Decimal = ZERO
    fee: Decimal = ZERO
    received_value: Decimal = ZERO
    fee_value: Decimal = ZERO
    unpriced: int = 0


@dataclass(frozen=True, slots=True)
class ConversionPlan:
    """The conversions to run (native ones first, then Convert quotes) and what is left out.

    ``choices`` has the route comparison of every asset compared, including those left or
    better sold; ``previews`` are the exchange previews the plan was made from.
    """

    exchange: str
    account: str
    target: str
    quote: str
    conversions: tuple[PlannedConversion, ...]
    skipped: tuple[Skip, ...]
    choices: tuple[RouteChoice, ...]
    previews: tuple[ConversionPreview, ...]
    totals: ConversionTotals

    @property
    def native(self) -> tuple[PlannedConversion, ...]:
        return tuple(c for c in self.conversions if c.route is Route.NATIVE)

    @property
    def converts(self) -> tuple[PlannedConversion, ...]:
        return tuple(c for c in self.conversions if c.route is Route.CONVERT)

    @property
    def empty(self) -> bool:
        return not self.conversions


def plan_conversion(
    report: AccountReport,
    snapshot: Snapshot,
    preview: ConversionPreview | Sequence[ConversionPreview] | None,
    policy: Policy,
    *,
    target: str,
    assets: frozenset[str] = frozenset(),
    keep: frozenset[str] = frozenset(),
    never: frozenset[str] = frozenset(),
    sell_fee_rate: Decimal | None = None,
    convert_limits: Mapping[str, ConvertLimit] | None = None,
    max_value: Decimal | None = None,
    max_value_per_asset: Decimal | None = None,
) -> ConversionPlan:
    """The conversion plan for one account into ``target``.

    ``preview``: the exchange's preview(s) into ``target`` (Bybit: one per 20 coins).
    ``assets`` restricts the plan to those names (each one left out is listed with its
    reason). ``keep``/``never`` add to the policy's keep list. ``sell_fee_rate`` is the taker
    fee used to price the sell route (default: the policy's estimate). ``convert_limits``
    (``converter_caps.fetch_convert_limits``) enables the Convert-quote route for small
    balances (or named ones) within a pair's limits.

    Scope (``Policy.in_scope``, the same guard selling applies): an asset not named in
    ``assets`` is converted only when it is worth at most the dust threshold, or, of unknown
    worth, when the exchange's small-balance conversion lists it. The caps apply to every
    route: ``max_value_per_asset`` to each conversion, ``max_value`` to the plan's total
    (smallest first, as for sales); under a cap, a conversion of unknown value is left.
    """
    target = target.upper()
    previews = _as_previews(preview, target)
    listed = _listed(previews)
    named = frozenset(a.upper() for a in assets)
    excluded = _Exclusions(
        quote=policy.quote,
        target=target,
        keep=policy.keep | {a.upper() for a in keep},
        never=frozenset(a.upper() for a in never),
    )
    valuer = Valuer(snapshot.markets, snapshot.prices, policy.quote, policy.bridges)
    fee_rate = policy.fee_rate if sell_fee_rate is None else Decimal(sell_fee_rate)
    limits = dict(convert_limits or {})
    held = {item.asset: item for item in report.assets}
    names = sorted(named) if named else sorted(set(listed) | _convert_candidates(held, limits))
    conversions: list[PlannedConversion] = []
    skipped: list[Skip] = []
    choices: list[RouteChoice] = []
    for asset in names:
        item = held.get(asset)
        reason = excluded.reason(asset, item)
        if reason is not None:
            skipped.append(Skip(asset, reason))
            continue
        assert item is not None
        reason = _scope_reason(item, asset in named, asset in listed, policy)
        if reason is not None:
            skipped.append(Skip(asset, reason))
            continue
        options = _options(item, listed.get(asset), limits.get(asset), target, fee_rate, valuer)
        if not any(o.route in _CONVERTING for o in options):
            skipped.append(Skip(asset, NOT_LISTED))
            continue
        choice = choose_route(asset, options, policy.quote)
        choices.append(choice)
        if choice.option is not None and choice.route in _CONVERTING:
            planned = _planned(asset, choice.option, choice, target, valuer)
            reason = per_asset_cap_reason(planned.value, max_value_per_asset, policy.quote)
            if reason is None:
                conversions.append(planned)
            else:
                skipped.append(Skip(asset, reason))
        else:
            skipped.append(Skip(asset, _left_reason(choice)))
    conversions.sort(key=lambda c: (c.value is None, c.value or ZERO, c.asset))
    conversions, over_cap = apply_run_cap(conversions, max_value, lambda c: c.value)
    skipped.extend(over_cap)
    conversions.sort(key=lambda c: (c.route is not Route.NATIVE, c.asset))
    return ConversionPlan(
        exchange=report.exchange,
        account=report.account,
        target=target,
        quote=policy.quote,
        conversions=tuple(conversions),
        skipped=tuple(skipped),
        choices=tuple(choices),
        previews=previews,
        totals=_totals(conversions),
    )


@dataclass(frozen=True, slots=True)
class _Exclusions:
    quote: str
    target: str
    keep: frozenset[str]
    never: frozenset[str]

    def reason(self, asset: str, item: AssetReport | None) -> str | None:
        """Why ``asset`` is never converted, checked before anything the exchange says."""
        if asset == self.quote:
            return f"the quote asset ({self.quote}) is never converted"
        if asset == self.target:
            return f"it is the conversion target ({self.target})"
        if asset in self.keep:
            return "in keep list"
        if asset in self.never:
            return "in the never-convert list"
        if item is None:
            return "no balance"
        if item.status is Verdict.IGNORED or item.status is Verdict.LOCKED:
            return item.reason
        return None


def _scope_reason(item: AssetReport, named: bool, listed: bool, policy: Policy) -> str | None:
    """Why a balance the user did not name is not converted: it is no dust (the threshold
    guard of every command), or its worth is unknown and the exchange does not list it."""
    if policy.in_scope(item.value, named=named, eligible=listed):
        return None
    if item.value is None:
        return (
            "value unknown and not listed by the exchange's small-balance conversion; "
            "name it with --asset to convert it"
        )
    return (
        f"worth {plain(item.value)} {policy.quote}, over the dust threshold "
        f"{plain(policy.dust_threshold)}; name it with --asset to convert it"
    )


def _as_previews(
    preview: ConversionPreview | Sequence[ConversionPreview] | None, target: str
) -> tuple[ConversionPreview, ...]:
    if preview is None:
        return ()
    previews = (preview,) if isinstance(preview, ConversionPreview) else tuple(preview)
    for item in previews:
        if item.target.upper() != target:
            raise ValueError(f"a preview into {item.target} cannot plan a conversion to {target}")
    return previews


def _listed(
    previews: Iterable[ConversionPreview],
) -> dict[str, tuple[DustCandidate, Decimal | None]]:
    listed: dict[str, tuple[DustCandidate, Decimal | None]] = {}
    for preview in previews:
        for line in preview.lines:
            listed.setdefault(line.asset.upper(), (line, preview.fee_rate))
    return listed


def _convert_candidates(
    held: Mapping[str, AssetReport], limits: Mapping[str, ConvertLimit]
) -> set[str]:
    """Small balances a Convert pair exists for: big holdings are never swept by default."""
    return {
        asset
        for asset, item in held.items()
        if asset in limits
        and item.small
        and item.free > 0
        and item.status not in (Verdict.IGNORED, Verdict.LOCKED)
    }


def _options(
    item: AssetReport,
    listed: tuple[DustCandidate, Decimal | None] | None,
    limit: ConvertLimit | None,
    target: str,
    fee_rate: Decimal,
    valuer: Valuer,
) -> list[RouteOption]:
    options: list[RouteOption] = []
    sell = sell_option(item, fee_rate, valuer)
    if sell is not None:
        options.append(sell)
    if listed is not None:
        candidate, native_rate = listed
        options.append(native_option(candidate, target, native_rate, valuer))
    if limit is not None:
        amount = item.free.quantize(CONVERT_PLACES, rounding=ROUND_DOWN)
        rate = valuer.rate(item.asset, target)
        options.append(convert_option(item.asset, amount, target, rate, limit, valuer))
    return options


def _planned(
    asset: str, option: RouteOption, choice: RouteChoice, target: str, valuer: Valuer
) -> PlannedConversion:
    return PlannedConversion(
        asset=asset,
        route=option.route,
        amount=option.amount,
        target=target,
        received=option.received,
        fee=option.fee,
        fee_rate=option.fee_rate,
        received_value=option.net_value,
        fee_value=option.fee_value,
        value=valuer.value(asset, option.amount),
        choice=choice,
    )


def fallback_to_native(item: PlannedConversion) -> PlannedConversion | None:
    """The same asset through the native conversion, when that was the runner-up route (used
    when the chosen Convert quote cannot be had: nothing was sent, the next best still is)."""
    option = item.choice.runner_up_option
    if option is None or option.route is not Route.NATIVE:
        return None
    if option.blocked is not None or option.costs_too_much:
        return None
    return replace(
        item,
        route=Route.NATIVE,
        amount=option.amount,
        received=option.received,
        fee=option.fee,
        fee_rate=option.fee_rate,
        received_value=option.net_value,
        fee_value=option.fee_value,
    )


def _left_reason(choice: RouteChoice) -> str:
    if choice.route is Route.SELL:
        return f"selling nets more ({choice.reason}): use `dustsweep sell`"
    return choice.reason


def _totals(conversions: Sequence[PlannedConversion]) -> ConversionTotals:
    received = fee = received_value = fee_value = ZERO
    unpriced = 0
    for item in conversions:
        received += item.received or ZERO
        fee += item.fee or ZERO
        if item.received_value is None:
            unpriced += 1
        else:
            received_value += item.received_value
        fee_value += item.fee_value or ZERO
    return ConversionTotals(received, fee, received_value, fee_value, unpriced)
