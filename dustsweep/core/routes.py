"""Pure: for one balance, which way out nets the most, in the user's quote asset.

A small balance can leave the account in up to three ways, each with its own cost:
- **sell** it on its market: the fee is a fraction of the proceeds, and what the lot size cannot
  take (the residual) stays behind;
- **native** small-balance conversion (Binance dust->BNB / dust-convert, Bybit "Convert Small
  Balances"): takes the whole free amount, for a fee of about 2 % of it;
- a **Convert** quote (request for quote): no explicit fee at the quoted rate, but only above the
  pair's minimum amount, which is usually far above dust.

Routes are compared by the NET VALUE received, valued in the quote asset, never by gross amounts
or by how "clean" the result is: the user gets what arrives, not what was given up. Two rules
keep the comparison honest:
- a route whose net value is unknown (no price reaches what it pays in) cannot win over one
  whose value is known; it is only chosen when nothing else is usable, and the reason says so;
- a route that costs at least what the balance is worth (nothing left after its fee) is never
  chosen: then the balance is left, with the reason "left: costs more than it is worth".
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import TYPE_CHECKING

from dustsweep.core.lots import plain
from dustsweep.core.models import ZERO, ConvertLimit, DustCandidate
from dustsweep.core.models import Route as Route  # its home is models; imported from here too

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from dustsweep.core.classify import AssetReport
    from dustsweep.core.valuation import Valuer

COSTS_TOO_MUCH = "left: costs more than it is worth"


# Equal net values are broken in this order: the most predictable, cheapest-to-run route first.
_TIE_ORDER = {Route.SELL: 0, Route.NATIVE: 1, Route.CONVERT: 2, Route.LEAVE: 3}


@dataclass(frozen=True, slots=True)
class RouteOption:
    """One route for one balance and what it would net.

    ``amount`` of the asset is given up; ``received`` (net, after the fee) arrives in
    ``received_asset``; ``fee`` is in ``fee_asset``. ``net_value`` / ``fee_value`` are those in
    the quote asset (None: no price reaches them). ``residual`` is what of the free balance stays
    behind. ``blocked`` says why the route exists but cannot be used (e.g. below the Convert
    minimum); ``estimated`` marks a rate that is not a firm quote.
    """

    route: Route
    amount: Decimal
    received_asset: str | None
    received: Decimal | None
    fee: Decimal | None
    fee_asset: str | None
    fee_rate: Decimal | None
    net_value: Decimal | None
    fee_value: Decimal | None
    residual: Decimal = ZERO
    market: str | None = None
    estimated: bool = False
    blocked: str | None = None

    @property
    def label(self) -> str:
        """Plain words for the route: "sell on XRPUSDT", "native conversion to BNB"..."""
        if self.route is Route.SELL:
            return f"sell on {self.market}" if self.market else "sell"
        if self.route is Route.NATIVE:
            return f"native conversion to {self.received_asset}"
        if self.route is Route.CONVERT:
            return f"Convert quote to {self.received_asset}"
        return "leave"

    @property
    def costs_too_much(self) -> bool:
        """Nothing would be left after the fee: the route costs what the balance is worth."""
        if self.received is not None and self.received <= 0:
            return True
        return self.net_value is not None and self.net_value <= 0


@dataclass(frozen=True, slots=True)
class RouteChoice:
    """The route chosen for one asset, the runner-up, and why.

    ``net`` is the chosen route's net value in the quote (0 when the balance is left; None when
    the chosen route's value is unknown). ``runner_up`` is the next best usable route, or
    ``Route.LEAVE`` (net 0) when the chosen one is the only usable route; None when the balance
    is left. ``option`` is the chosen option (None for ``LEAVE``); ``options`` every route
    considered, usable or not.
    """

    asset: str
    route: Route
    net: Decimal | None
    runner_up: Route | None
    runner_up_net: Decimal | None
    reason: str
    option: RouteOption | None
    options: tuple[RouteOption, ...]

    @property
    def runner_up_option(self) -> RouteOption | None:
        return next((o for o in self.options if o.route is self.runner_up), None)


# -- building options ------------------------------------------------------------------------


def sell_option(report: AssetReport, fee_rate: Decimal, valuer: Valuer) -> RouteOption | None:
    """Selling ``report.sell_qty`` on the market classify chose; None when there is no market.

    Net = sell_qty x price x (1 - fee_rate), paid in the market's quote; the residual stays. A
    market whose rules block any sale (dust) is returned as blocked with classify's reason.
    """
    if report.market is None or report.market_quote is None or report.price is None:
        return None
    quote_asset = report.market_quote
    if report.sell_qty <= 0:
        return RouteOption(
            route=Route.SELL,
            amount=ZERO,
            received_asset=quote_asset,
            received=None,
            fee=None,
            fee_asset=quote_asset,
            fee_rate=fee_rate,
            net_value=None,
            fee_value=None,
            residual=report.free,
            market=report.market,
            blocked=report.reason,
        )
    gross = report.sell_qty * report.price
    fee = gross * fee_rate
    received = gross - fee
    return RouteOption(
        route=Route.SELL,
        amount=report.sell_qty,
        received_asset=quote_asset,
        received=received,
        fee=fee,
        fee_asset=quote_asset,
        fee_rate=fee_rate,
        net_value=valuer.value(quote_asset, received),
        fee_value=valuer.value(quote_asset, fee),
        residual=report.free - report.sell_qty,
        market=report.market,
        estimated=True,  # the fill price is only known afterwards
    )


def native_option(
    candidate: DustCandidate, target: str, fee_rate: Decimal | None, valuer: Valuer
) -> RouteOption:
    """The exchange's own small-balance conversion, as its preview prices it.

    The preview's ``net`` is what would arrive; without one, gross minus fee; without either
    the amount received is unknown (and so is its value).
    """
    received = candidate.net
    if received is None and candidate.to_amount is not None and candidate.fee is not None:
        received = candidate.to_amount - candidate.fee
    fee = candidate.fee
    if fee_rate is None and fee is not None and candidate.to_amount:
        fee_rate = fee / candidate.to_amount
    return RouteOption(
        route=Route.NATIVE,
        amount=candidate.amount,
        received_asset=target,
        received=received,
        fee=fee,
        fee_asset=target,
        fee_rate=fee_rate,
        net_value=None if received is None else valuer.value(target, received),
        fee_value=None if fee is None else valuer.value(target, fee),
    )


ESTIMATE_STEP = Decimal("0.00000001")  # 8 decimals: how exchanges show balances; finer is noise


def estimate_places(value: Decimal) -> Decimal:
    """An estimate (amount x a rate made of prices) floored to 8 decimals: a price ratio has
    28 digits ("0.1400283409518687819306265125") that no exchange would ever pay out."""
    with localcontext() as ctx:
        ctx.prec = max(ctx.prec, value.adjusted() + 12)
        return value.quantize(ESTIMATE_STEP, rounding=ROUND_DOWN)


def convert_option(
    asset: str,
    amount: Decimal,
    target: str,
    rate: Decimal | None,
    limit: ConvertLimit,
    valuer: Valuer,
    *,
    estimated: bool = True,
) -> RouteOption:
    """A Convert quote for ``amount`` at ``rate`` (target per asset), fee-free at that rate.

    ``estimated``: the rate comes from market prices, not from a firm quote. Outside the pair's
    limits (either side) the route is blocked with the limit in the reason.
    """
    received = None if rate is None else amount * rate
    if received is not None and estimated:
        received = estimate_places(received)
    blocked: str | None = None
    if rate is None:
        blocked = f"no rate from {asset} to {target} to estimate a Convert quote"
    elif amount < limit.min_amount:
        blocked = f"{plain(amount)} {asset} is below the Convert minimum {plain(limit.min_amount)}"
    elif limit.max_amount is not None and amount > limit.max_amount:
        blocked = f"{plain(amount)} {asset} is above the Convert maximum {plain(limit.max_amount)}"
    elif received is not None and received < limit.min_received:
        blocked = (
            f"{_short(received)} {target} is below the Convert minimum "
            f"{plain(limit.min_received)} {target}"
        )
    return RouteOption(
        route=Route.CONVERT,
        amount=amount,
        received_asset=target,
        received=received,
        fee=ZERO,
        fee_asset=target,
        fee_rate=ZERO,
        net_value=None if received is None else valuer.value(target, received),
        fee_value=ZERO,
        market=f"{asset}->{target}",
        estimated=estimated,
        blocked=blocked,
    )


# -- choosing ------------------------------------------------------------------------------


def choose_route(asset: str, options: Iterable[RouteOption], quote: str) -> RouteChoice:
    """The route that nets the most value in ``quote``, the runner-up, and the reason.

    Known values are ranked by net value (ties: sell, native, convert); routes of unknown value
    come after every known one. Blocked routes and those that would leave nothing after their
    fee are never chosen; when no route remains the balance is left.
    """
    every = tuple(options)
    usable = [o for o in every if o.blocked is None]
    costly = [o for o in usable if o.costs_too_much]
    ranked = _ranked([o for o in usable if not o.costs_too_much])
    if not ranked:
        return _leave(asset, every, costly, quote)
    chosen = ranked[0]
    runner = ranked[1] if len(ranked) > 1 else None
    reason = _reason(chosen, runner, every, quote)
    return RouteChoice(
        asset=asset,
        route=chosen.route,
        net=chosen.net_value,
        runner_up=runner.route if runner else Route.LEAVE,
        runner_up_net=runner.net_value if runner else ZERO,
        reason=reason,
        option=chosen,
        options=every,
    )


def _ranked(options: Sequence[RouteOption]) -> list[RouteOption]:
    known = [o for o in options if o.net_value is not None]
    unknown = [o for o in options if o.net_value is None]
    known.sort(key=lambda o: (-(o.net_value or ZERO), _TIE_ORDER[o.route]))
    unknown.sort(key=lambda o: _TIE_ORDER[o.route])
    return known + unknown


def _leave(
    asset: str, every: tuple[RouteOption, ...], costly: Sequence[RouteOption], quote: str
) -> RouteChoice:
    if costly:
        details = "; ".join(f"{o.label} would net {_value(o, quote)}" for o in costly)
        reason = f"{COSTS_TOO_MUCH} ({details})"
    elif every:
        reason = "left: " + "; ".join(f"{o.label}: {o.blocked}" for o in every)
    else:
        reason = "left: no way to sell or convert it"
    return RouteChoice(asset, Route.LEAVE, ZERO, None, None, reason, None, every)


def _reason(
    chosen: RouteOption,
    runner: RouteOption | None,
    every: tuple[RouteOption, ...],
    quote: str,
) -> str:
    if chosen.net_value is None:
        text = (
            f"{chosen.label}: value in {quote} unknown (no price for {chosen.received_asset}); "
            "no route with a known value"
        )
    elif runner is None:
        text = f"{chosen.label} nets {_value(chosen, quote)}"
    elif runner.net_value is None:
        text = (
            f"{chosen.label} nets {_value(chosen, quote)}; {runner.label} not compared: its "
            f"value in {quote} is unknown"
        )
    else:
        text = (
            f"{chosen.label} nets {_value(chosen, quote)}; {runner.label}: {_value(runner, quote)}"
        )
    blocked = [o for o in every if o.blocked is not None and o.route is not chosen.route]
    if blocked:
        text += "; " + "; ".join(f"{o.label}: {o.blocked}" for o in blocked)
    return text


def _value(option: RouteOption, quote: str) -> str:
    if option.net_value is None:
        if option.received is None:
            return "an unknown amount"
        return f"{_short(option.received)} {option.received_asset} (value unknown)"
    prefix = "~" if option.estimated else ""
    return f"{prefix}{_short(option.net_value)} {quote}"


def _short(value: Decimal, digits: int = 6) -> str:
    """A computed value cut (never rounded up) to a few significant digits, for reasons."""
    if not value:
        return "0"
    quantum = Decimal(1).scaleb(value.adjusted() - digits + 1)
    return plain(value.quantize(quantum, rounding=ROUND_DOWN))
