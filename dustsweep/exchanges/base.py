"""The one small interface every exchange adapter implements. Imports no SDK.

Adapters translate every SDK or network error into ``dustsweep.errors`` at this boundary:
``AuthError`` (bad key/signature/permission), ``NetworkError`` (no answer: outcome unknown),
``ServerError`` (5xx/unknown: outcome unknown), ``RateLimited`` (429, with ``retry_after``),
``Banned`` (Binance 418, Bybit 403), ``ClockSkew`` (-1021 / 10002), ``OrderRejected`` (with
``kind``), ``ConversionRejected`` (with ``kind``), else ``ExchangeError``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from dustsweep.core.history_log import LoggedConversion
    from dustsweep.core.models import (
        Announcement,
        Balance,
        ConversionPreview,
        ConversionResult,
        MarketRules,
        OrderResult,
    )
    from dustsweep.exchanges.signing import Signer


@dataclass(frozen=True)
class Credentials:
    """What an adapter needs to talk to one account. ``repr`` never shows the secret.

    ``private_key`` (Ed25519 or RSA, from ``api_private_key_file``) replaces the HMAC secret;
    ``api_secret`` is then empty (``signing.signer_for`` picks the one that signs)."""

    account: str
    api_key: str
    api_secret: str
    base_url: str | None = None  # None: the exchange's production host
    timeout: float = 10.0
    recv_window_ms: int = 5000
    private_key: Signer | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        return (
            f"Credentials(account={self.account!r}, base_url={self.base_url!r}, "
            f"key_type={self.key_type!r})"
        )

    @property
    def key_type(self) -> str:
        """ "HMAC", "Ed25519" or "RSA": what ``doctor`` names."""
        return self.private_key.kind if self.private_key is not None else "HMAC"


@dataclass(frozen=True)
class OrderPacing:
    """At most ``orders`` market orders may start in any ``window_s`` seconds."""

    orders: int
    window_s: float


@dataclass(frozen=True)
class Capabilities:
    """What one exchange can do, declared by its adapter as a class attribute ``capabilities``.

    The core reads this record and never the exchange's name: no getattr probes, no
    isinstance checks against optional protocols, no tables keyed by "binance"/"bybit".
    A method of ``Exchange`` whose flag is False may raise ``NotImplementedError``.
    """

    # selling
    # None: no pacing needed (Binance counts unfilled orders only)
    order_pacing: OrderPacing | None = None
    # notional_price(symbol): the price the minimum order value is judged at
    notional_price: bool = False
    # native small-balance conversion
    native_targets: tuple[str, ...] = ()  # () = ask the exchange (preview errors say which work)
    # fetch_convertible speaks for this target only (None: all)
    eligibility_target: str | None = None
    conversion_cooldown: bool = False  # one native conversion per cool-down period
    conversion_batch_limit: int | None = None  # most assets per native conversion request
    conversion_quote_ttl_ms: int | None = None  # a native preview is a quote that lives this long
    previews_in_batches: bool = False  # preview_conversion_all(target) -> list[ConversionPreview]
    quotes_exact_assets: bool = False  # quote_conversion(target, assets) -> ConversionPreview
    finds_conversion: bool = False  # find_conversion(quote_id, target) -> ConversionResult | None
    conversion_log: bool = False  # conversions_since(since_ms) -> list[ConversionResult]
    # the exchange's quote-based Convert (request for quote)
    rfq_convert: bool = False  # convert_pairs / convert_quote / convert_accept / convert_status
    rfq_status_by_quote: bool = False  # convert_status_by_quote(quote_id)
    # delisting (issue 14)
    delist_schedule: bool = False  # fetch_delist_schedule() -> [(close ms, symbols)]
    delist_announcements: bool = False  # fetch_delist_announcements() -> [Announcement]
    # history_pages(since_ms, until_ms): the exchange's own conversion logs (history sync)
    history_log: bool = False
    # credentials
    # accepts a self-generated private key (Ed25519/RSA) instead of a secret
    key_files: bool = False
    ban_default_s: float = 600.0  # how long a ban without Retry-After is assumed to last


class ConvertPairLike(Protocol):
    """A Convert (RFQ) pair with the per-transaction limits of its from-asset (0: none)."""

    @property
    def from_asset(self) -> str: ...
    @property
    def to_asset(self) -> str: ...
    @property
    def from_min(self) -> Decimal: ...
    @property
    def from_max(self) -> Decimal: ...
    @property
    def to_min(self) -> Decimal: ...
    @property
    def to_max(self) -> Decimal: ...


class ConvertQuoteLike(Protocol):
    """A Convert (RFQ) quote: accept it by ``quote_id`` before ``valid_until_ms``."""

    @property
    def quote_id(self) -> str: ...
    @property
    def from_amount(self) -> Decimal: ...
    @property
    def to_amount(self) -> Decimal: ...
    @property
    def ratio(self) -> Decimal: ...
    @property
    def valid_until_ms(self) -> int: ...


class ConvertOrderLike(Protocol):
    """A Convert (RFQ) order as accepted or looked up; amounts are known once final."""

    @property
    def order_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def final(self) -> bool: ...
    @property
    def succeeded(self) -> bool: ...
    @property
    def from_amount(self) -> Decimal | None: ...
    @property
    def to_amount(self) -> Decimal | None: ...


class Exchange(Protocol):
    """A spot account on one exchange.

    The methods after ``close`` are optional: each is announced by a flag of ``capabilities``
    (named in its docstring). Call one only when its flag is set; an adapter whose flag is
    False may lack the method or raise ``NotImplementedError``.
    """

    name: str  # the registry's name (``exchanges.EXCHANGES``), for messages and records
    account: str
    capabilities: Capabilities
    native_targets: tuple[str, ...]  # = capabilities.native_targets (until consumers move)
    clock_offset_ms: int  # applied to every signed request; persisted by the caller

    def sync_clock(self) -> int:
        """Measure server time - local time (ms) from the exchange's time endpoint and apply it."""
        ...

    def set_clock_offset(self, offset_ms: int) -> None:
        """Apply a previously measured offset (saved in the state folder between runs)."""
        ...

    def fetch_balances(self) -> list[Balance]:
        """Non-zero spot balances (free = sellable now)."""
        ...

    def fetch_markets(self) -> list[MarketRules]:
        """Rules of every spot symbol, halted ones included with ``trading=False``."""
        ...

    def fetch_prices(self) -> dict[str, Decimal]:
        """One bulk call: symbol -> sell price. Symbols without a usable price are left out."""
        ...

    def fetch_convertible(self) -> frozenset[str] | None:
        """Assets the exchange accepts for small-balance conversion, or None if it cannot say."""
        ...

    def market_sell(self, symbol: str, qty: Decimal, client_id: str) -> OrderResult:
        """Place a MARKET SELL of exactly ``qty`` (already floored to the step) with
        ``client_id``; return the order as known after placement (filled with fees where the
        exchange says so). Raises OrderRejected, or NetworkError/ServerError when the outcome
        is unknown (the caller reconciles with ``find_order``; never resend blindly)."""
        ...

    def find_order(self, symbol: str, client_id: str) -> OrderResult | None:
        """The order with this client id, with its fills and fees; None if the exchange says it
        does not exist (which right after sending is not proof it never will)."""
        ...

    def preview_conversion(self, target: str) -> ConversionPreview:
        """The exchange's own small-balance conversion preview into ``target``."""
        ...

    def convert(
        self, preview: ConversionPreview, assets: list[str], client_id: str
    ) -> ConversionResult:
        """Convert exactly ``assets`` (a subset of the preview's) into ``preview.target``."""
        ...

    def last_conversion_ms(self) -> int | None:
        """Time of the last small-balance conversion (Binance dribblet log), if known."""
        ...

    def check_access(self) -> list[tuple[str, bool, str]]:
        """(check, ok, detail) rows for ``dustsweep doctor``; never raises for exchange errors.
        A detail starting with "warning" marks advice, not a failure."""
        ...

    def close(self) -> None:
        """Release HTTP sessions."""
        ...

    # -- optional: announced by ``capabilities`` ------------------------------------------

    def notional_price(self, symbol: str) -> Decimal | None:
        """``notional_price``: the price the exchange judges a market order's minimum value
        at (Binance: the average price), None when it gives none."""
        ...

    def preview_conversion_all(self, target: str) -> list[ConversionPreview]:
        """``previews_in_batches``: one preview per batch of at most ``conversion_batch_limit``
        assets (always at least one)."""
        ...

    def quote_conversion(self, target: str, assets: Sequence[str]) -> ConversionPreview:
        """``quotes_exact_assets``: a fresh quote for exactly ``assets`` (its id is known
        before executing; an asset the exchange will not convert is refused, not dropped)."""
        ...

    def find_conversion(self, quote_id: str, target: str) -> ConversionResult | None:
        """``finds_conversion``: the conversion a quote became, None if the exchange has none."""
        ...

    def conversions_since(self, since_ms: int) -> list[ConversionResult]:
        """``conversion_log``: conversions logged from ``since_ms`` on (exchange time), oldest
        first, with amounts; raises when the log cannot be read (never "none" by mistake)."""
        ...

    def convert_pairs(
        self, from_asset: str | None = None, to_asset: str | None = None
    ) -> Sequence[ConvertPairLike]:
        """``rfq_convert``: Convert pairs with their limits (one side at least is required)."""
        ...

    def convert_quote(self, from_asset: str, to_asset: str, amount: Decimal) -> ConvertQuoteLike:
        """``rfq_convert``: a quote selling ``amount`` of ``from_asset``; moves nothing."""
        ...

    def convert_accept(self, quote_id: str) -> ConvertOrderLike:
        """``rfq_convert``: accept a quote; never retried (moves money)."""
        ...

    def convert_status(self, order_id: str) -> ConvertOrderLike:
        """``rfq_convert``: the order's status (poll until ``final``)."""
        ...

    def convert_status_by_quote(self, quote_id: str) -> ConvertOrderLike | None:
        """``rfq_status_by_quote``: the order an accepted quote became; None: none (yet)."""
        ...

    def fetch_delist_schedule(self) -> list[tuple[int, list[str]]]:
        """``delist_schedule``: (close time ms, symbols closing then) batches; public data."""
        ...

    def fetch_delist_announcements(self) -> list[Announcement]:
        """``delist_announcements``: recent delisting announcements (titles, links); public."""
        ...

    def history_pages(self, since_ms: int, until_ms: int) -> Iterator[list[LoggedConversion]]:
        """``history_log``: every conversion the exchange logged in the window (exchange ms),
        one page at a time, so a caller can keep what it merged when a later page fails."""
        ...
