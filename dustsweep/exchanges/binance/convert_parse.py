"""Binance Convert (RFQ) answers as domain types: pairs, quotes, orders. Imports no SDK.

Endpoints: /sapi/v1/convert/exchangeInfo, getQuote, acceptQuote, orderStatus. The calls are in
``binance.convert``; the small-balance conversion (dust) answers are in ``binance.smallbalance``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from dustsweep.exchanges.binance.parse import ShapeError, as_dict, as_list, dec, ms

# Convert order statuses: only SUCCESS is final and good; PROCESS/ACCEPT_SUCCESS need polling.
CONVERT_FINAL = frozenset({"SUCCESS", "FAIL"})


@dataclass(frozen=True, slots=True)
class ConvertPair:
    """One Binance Convert pair with its amount limits (often far above dust)."""

    from_asset: str
    to_asset: str
    from_min: Decimal
    from_max: Decimal
    to_min: Decimal
    to_max: Decimal


@dataclass(frozen=True, slots=True)
class ConvertQuote:
    """A Convert quote: accept it with ``quote_id`` before ``valid_until_ms``."""

    quote_id: str
    from_asset: str
    to_asset: str
    from_amount: Decimal
    to_amount: Decimal
    ratio: Decimal  # to_asset per from_asset
    inverse_ratio: Decimal
    valid_until_ms: int


@dataclass(frozen=True, slots=True)
class ConvertOrder:
    """A Convert order as acceptQuote/orderStatus report it. Amounts are known once final."""

    order_id: str
    status: str  # the exchange's own: PROCESS, ACCEPT_SUCCESS, SUCCESS, FAIL
    create_time_ms: int | None = None
    from_asset: str | None = None
    from_amount: Decimal | None = None
    to_asset: str | None = None
    to_amount: Decimal | None = None

    @property
    def final(self) -> bool:
        return self.status in CONVERT_FINAL

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCESS"


def convert_pairs(body: object) -> list[ConvertPair]:
    """``GET /sapi/v1/convert/exchangeInfo``."""
    return [
        ConvertPair(
            from_asset=str(item.get("fromAsset")),
            to_asset=str(item.get("toAsset")),
            from_min=dec(item.get("fromAssetMinAmount")),
            from_max=dec(item.get("fromAssetMaxAmount")),
            to_min=dec(item.get("toAssetMinAmount")),
            to_max=dec(item.get("toAssetMaxAmount")),
        )
        for item in as_list(body, "convert/exchangeInfo")
        if isinstance(item, dict)
    ]


def convert_quote(body: object, from_asset: str, to_asset: str) -> ConvertQuote | None:
    """``POST /sapi/v1/convert/getQuote``; None when no ``quoteId`` (not enough funds)."""
    data = as_dict(body, "convert/getQuote")
    if not data.get("quoteId"):
        return None
    return ConvertQuote(
        quote_id=str(data["quoteId"]),
        from_asset=from_asset,
        to_asset=to_asset,
        from_amount=dec(data.get("fromAmount"), "fromAmount"),
        to_amount=dec(data.get("toAmount"), "toAmount"),
        ratio=dec(data.get("ratio"), "ratio"),
        inverse_ratio=dec(data.get("inverseRatio"), "inverseRatio"),
        valid_until_ms=ms(data.get("validTimestamp")) or 0,
    )


def convert_order(body: object) -> ConvertOrder:
    """``acceptQuote`` or ``orderStatus`` (orderId is a string in one, a number in the other)."""
    data = as_dict(body, "convert order")
    created = data.get("createTime")
    raw_id = data.get("orderId")
    order_id = "" if raw_id is None or isinstance(raw_id, bool) else str(raw_id)
    if not order_id.isdigit():  # an id later lookups cannot use: the answer is unreadable
        raise ShapeError(f"orderId = {raw_id!r} is not a Convert order id")
    return ConvertOrder(
        order_id=order_id,
        status=str(data.get("orderStatus") or ""),
        create_time_ms=ms(created),
        from_asset=data.get("fromAsset"),
        from_amount=dec(data["fromAmount"]) if data.get("fromAmount") else None,
        to_asset=data.get("toAsset"),
        to_amount=dec(data["toAmount"]) if data.get("toAmount") else None,
    )
