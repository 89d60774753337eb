"""Frozen domain types shared by the core, the adapters and the renderers.

Every amount is a ``Decimal`` parsed from the exchange's own string. Adapters return these types
and never raw SDK dicts, so nothing above the adapter boundary knows which exchange it talks to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

ZERO = Decimal(0)


class Verdict(StrEnum):
    """What can be done with one balance right now."""

    SELLABLE = "sellable"  # the whole free amount can be market-sold
    PARTIAL = "partial"  # part can be sold; the residual after flooring stays as dust
    DUST = "dust"  # nothing can be sold; ``reason`` names the blocking rule
    NO_MARKET = "no_market"  # no trading market into any allowed quote (or halted / unpriced)
    LOCKED = "locked"  # everything is held in open orders
    IGNORED = "ignored"  # keep list, the quote asset itself, or not a spot asset (LD*)


class Route(StrEnum):
    """The ways a balance can leave the account (``LEAVE``: it stays). Defined here, beside the
    other shared types, so an outcome can name its route without importing the route maths."""

    SELL = "sell"
    NATIVE = "native"
    CONVERT = "convert"
    LEAVE = "leave"


@dataclass(frozen=True, slots=True)
class Balance:
    """One asset of one account.

    ``free`` is what may be sold now. On Bybit's unified account the adapter computes it as
    walletBalance - locked - spotBorrow (floored at zero) so a sale never borrows.
    """

    asset: str
    free: Decimal
    locked: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


@dataclass(frozen=True, slots=True)
class MarketRules:
    """The rules a MARKET SELL on one symbol must meet, already merged per exchange.

    Binance: ``step``/``min_qty``/``max_qty`` combine LOT_SIZE with MARKET_LOT_SIZE (whose zero
    values mean "no rule"); ``min_notional`` comes from NOTIONAL when applyMinToMarket, or the
    legacy MIN_NOTIONAL when applyToMarket, else 0. Bybit: basePrecision, minOrderQty,
    minOrderAmt. The ``*_rule`` fields are the exchange's own names, used in reasons.
    """

    symbol: str
    base: str
    quote: str
    trading: bool = True
    market_orders: bool = True
    step: Decimal = ZERO  # quantity step; 0 means none
    min_qty: Decimal = ZERO
    max_qty: Decimal | None = None
    min_notional: Decimal = ZERO  # in the quote asset; 0 means no value check for MARKET
    max_notional: Decimal | None = None
    step_rule: str = "stepSize"
    min_qty_rule: str = "minQty"
    min_notional_rule: str = "minNotional"


@dataclass(frozen=True, slots=True)
class OrderResult:
    """What the exchange says about one order.

    ``status``: ``new`` (accepted, not final), ``filled``, ``partially_filled`` (final, part
    executed: Binance EXPIRED with a fill, Bybit PartiallyFilledCanceled), ``cancelled`` (final,
    nothing executed), ``rejected``. ``quote_qty`` is the gross proceeds in the quote asset;
    ``fee`` is in ``fee_asset``.
    """

    symbol: str
    client_id: str
    order_id: str | None
    status: str
    filled_qty: Decimal = ZERO
    quote_qty: Decimal = ZERO
    fee: Decimal = ZERO
    fee_asset: str | None = None

    @property
    def final(self) -> bool:
        return self.status in {"filled", "partially_filled", "cancelled", "rejected"}


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the core needs about one account, fetched by the adapter.

    ``prices`` maps symbol -> the price a market sell would get (Binance: last price from
    ticker/price; Bybit: bid1Price). Symbols with no price (or a zero price) are absent.
    ``convertible`` is the set of assets the exchange itself accepts for small-balance
    conversion, as the exchange reports it; ``None`` when the exchange could not say
    (e.g. a testnet without /sapi).
    """

    exchange: str
    account: str
    balances: tuple[Balance, ...]
    markets: Mapping[str, MarketRules]
    prices: Mapping[str, Decimal]
    convertible: frozenset[str] | None = None
    warnings: tuple[str, ...] = field(default=())
    # issue 14 (core.delisting): symbol -> scheduled close (ms), the delisting time per held
    # asset (every market into sell_quotes closes by then), and delisting announcements
    closing: Mapping[str, int] = field(default_factory=dict)
    delist_at: Mapping[str, int] = field(default_factory=dict)
    announcements: tuple[Announcement, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Announcement:
    """A delisting announcement (no machine-readable schedule): a held coin named in its title
    is warned about, never sold on that basis."""

    title: str
    url: str
    time_ms: int


@dataclass(frozen=True, slots=True)
class DustCandidate:
    """One asset the exchange would convert through its small-balance conversion."""

    asset: str
    amount: Decimal
    to_amount: Decimal | None = None  # gross, in the target asset
    fee: Decimal | None = None  # in the target asset
    net: Decimal | None = None  # to_amount - fee


@dataclass(frozen=True, slots=True)
class ConversionPreview:
    """The exchange's own preview of a small-balance conversion into ``target``."""

    target: str
    fee_rate: Decimal | None
    lines: tuple[DustCandidate, ...]
    quote_id: str | None = None  # Bybit quotes; Binance previews have none
    expires_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ConversionLine:
    """Result of converting one asset."""

    asset: str
    amount: Decimal
    received: Decimal
    fee: Decimal
    status: str  # converted | failed | pending
    transfer_id: str | None = None


@dataclass(frozen=True, slots=True)
class ConversionResult:
    """What a small-balance conversion did, per asset, as the exchange reports it."""

    target: str
    transfer_id: str | None
    status: str  # converted | partial | failed | pending
    lines: tuple[ConversionLine, ...]


@dataclass(frozen=True, slots=True)
class ConvertLimit:
    """A Convert pair's per-request limits for ``asset`` -> ``target`` (None: no maximum)."""

    asset: str
    target: str
    min_amount: Decimal
    max_amount: Decimal | None = None
    min_received: Decimal = ZERO
    max_received: Decimal | None = None
