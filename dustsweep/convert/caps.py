"""What an exchange can do for conversions: read from its ``capabilities`` record, never
guessed from its name, never probed with ``getattr`` or ``isinstance``.

The ``Exchange`` protocol covers the common part (preview, convert, last conversion time). The
rest differs per exchange and is declared by each adapter in ``exchanges.base.Capabilities``:
the optional methods (``preview_conversion_all``: a quote per batch of coins;
``quote_conversion``: a fresh quote for exactly some coins; ``find_conversion``: a conversion
by quote id; ``conversions_since``: the exchange's conversion log with amounts; the
``convert_*`` methods: Convert quotes) and the facts that are not methods (a cool-down, how
many coins one request takes, how long a quote lives). The typed views below hand out such a
method only when the record says the adapter has it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

from dustsweep.core.models import ConversionPreview, ConversionResult, ConvertLimit
from dustsweep.errors import Banned, ConversionRejected, CooldownActive, ExchangeError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from decimal import Decimal

    from dustsweep.exchanges.base import Exchange

logger = logging.getLogger(__name__)

# Targets tried to tell the user which ones work when the adapter does not list its own.
PROBE_TARGETS: tuple[str, ...] = ("BNB", "USDT", "USDC")


class PreviewsAll(Protocol):
    def preview_conversion_all(self, target: str) -> list[ConversionPreview]: ...


class QuotesConversion(Protocol):
    """A fresh quote covering exactly ``assets`` (so its id is known before executing)."""

    def quote_conversion(self, target: str, assets: Sequence[str]) -> ConversionPreview: ...


class FindsConversion(Protocol):
    def find_conversion(self, quote_id: str, target: str) -> ConversionResult | None: ...


class ConversionLog(Protocol):
    """Conversions the exchange logged from ``since_ms`` on (exchange time), with amounts."""

    def conversions_since(self, since_ms: int) -> list[ConversionResult]: ...


class ConvertPairLike(Protocol):
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


@runtime_checkable
class RfqConvert(Protocol):
    """Convert by request for quote: pairs with limits, quote, accept, order status."""

    def convert_pairs(
        self, from_asset: str | None = None, to_asset: str | None = None
    ) -> Sequence[ConvertPairLike]: ...

    def convert_quote(
        self, from_asset: str, to_asset: str, amount: Decimal
    ) -> ConvertQuoteLike: ...

    def convert_accept(self, quote_id: str) -> ConvertOrderLike: ...

    def convert_status(self, order_id: str) -> ConvertOrderLike: ...


@runtime_checkable
class ConvertStatusByQuote(Protocol):
    """Convert order status looked up by the quote id (settles a lost acceptQuote)."""

    def convert_status_by_quote(self, quote_id: str) -> ConvertOrderLike | None: ...


# -- facts and typed views, from the capabilities record ------------------------------------


def has_conversion_cooldown(exchange: Exchange) -> bool:
    """Whether the exchange allows one small-balance conversion per cool-down period."""
    return exchange.capabilities.conversion_cooldown


def batch_limit(exchange: Exchange) -> int | None:
    """Most assets one conversion request may carry (None: no documented limit)."""
    return exchange.capabilities.conversion_batch_limit


def quote_ttl_ms(exchange: Exchange) -> int | None:
    """How long a conversion quote lives (None: previews are not quotes)."""
    return exchange.capabilities.conversion_quote_ttl_ms


def batch_previewer(exchange: Exchange) -> PreviewsAll | None:
    return cast(PreviewsAll, exchange) if exchange.capabilities.previews_in_batches else None


def exact_quoter(exchange: Exchange) -> QuotesConversion | None:
    return cast(QuotesConversion, exchange) if exchange.capabilities.quotes_exact_assets else None


def conversion_finder(exchange: Exchange) -> FindsConversion | None:
    return cast(FindsConversion, exchange) if exchange.capabilities.finds_conversion else None


def conversion_log(exchange: Exchange) -> ConversionLog | None:
    return cast(ConversionLog, exchange) if exchange.capabilities.conversion_log else None


def rfq(exchange: Exchange) -> RfqConvert | None:
    """The exchange's Convert (request for quote), when it has one."""
    return cast(RfqConvert, exchange) if exchange.capabilities.rfq_convert else None


def rfq_status_by_quote(exchange: Exchange) -> ConvertStatusByQuote | None:
    caps = exchange.capabilities
    return cast(ConvertStatusByQuote, exchange) if caps.rfq_status_by_quote else None


# -- reads the converter needs -----------------------------------------------------------------


def fetch_previews(exchange: Exchange, target: str) -> list[ConversionPreview]:
    """Every preview of a conversion into ``target`` (Bybit: one quote per 20 coins).

    A refusal because of a cool-down becomes ``CooldownActive``; an unsupported target a
    ``ConversionRejected`` whose message names the targets that do work.
    """
    target = target.upper()
    try:
        previewer = batch_previewer(exchange)
        if previewer is not None:
            return list(previewer.preview_conversion_all(target))
        return [exchange.preview_conversion(target)]
    except ConversionRejected as err:
        if err.kind == "cooldown":
            raise CooldownActive(
                f"{exchange.name} account '{exchange.account}': the exchange refuses a new "
                f"conversion for now ({err}); try again later"
            ) from None
        if err.kind == "unsupported_target":
            raise unsupported_target(exchange, target, err) from None
        raise


def unsupported_target(
    exchange: Exchange, target: str, err: ConversionRejected
) -> ConversionRejected:
    """The refusal again, naming the targets that work: the adapter's list, else probed."""
    native_targets = exchange.capabilities.native_targets
    working = [t for t in native_targets if t != target]
    how = ""
    if not native_targets:
        working = _probe_targets(exchange, target)
        how = " (asked the exchange just now)"
    if working:
        hint = f"targets that work for this account{how}: {', '.join(working)}"
    else:
        tried = ", ".join(t for t in PROBE_TARGETS if t != target)
        hint = f"none of {tried} works right now either: is any balance small enough?"
    return ConversionRejected(
        f"{exchange.name} account '{exchange.account}': cannot convert small balances into "
        f"{target}; {hint}",
        kind="unsupported_target",
        code=err.code,
        http_status=err.http_status,
    )


def _probe_targets(exchange: Exchange, target: str) -> list[str]:
    working = []
    for candidate in PROBE_TARGETS:
        if candidate == target:
            continue
        try:
            preview = exchange.preview_conversion(candidate)
        except ExchangeError:
            continue
        if preview.lines:  # taken, and something of this account is eligible into it
            working.append(candidate)
    return working


def fetch_convert_limits(exchange: Exchange, target: str) -> dict[str, ConvertLimit] | None:
    """Per source asset, the Convert pair limits into ``target``; None without Convert.

    One filtered call (Binance: GET /sapi/v1/convert/exchangeInfo?toAsset=..., weight 3000).
    Convert is an extra route, never a requirement: when the exchange will not say (no
    access, not offered, a transient failure) the plan simply does without it.
    """
    convert = rfq(exchange)
    if convert is None:
        return None
    target = target.upper()
    try:
        pairs = convert.convert_pairs(to_asset=target)
    except Banned:
        raise  # a ban stops the run; everything else only removes the Convert route
    except ExchangeError as err:
        logger.info("Convert pairs into %s unavailable: %s", target, err)
        return None
    limits: dict[str, ConvertLimit] = {}
    for pair in pairs:
        if pair.to_asset != target:
            continue
        limits[pair.from_asset] = ConvertLimit(
            asset=pair.from_asset,
            target=target,
            min_amount=pair.from_min,
            max_amount=pair.from_max if pair.from_max > 0 else None,
            min_received=pair.to_min,
            max_received=pair.to_max if pair.to_max > 0 else None,
        )
    return limits
