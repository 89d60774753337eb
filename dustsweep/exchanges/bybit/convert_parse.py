"""Bybit regular Convert (/v5/asset/exchange/*) answers as small frozen types. Imports no SDK.

Bybit names an accepted quote by its ``quoteTxId`` (there is no separate order id), so a
``ConvertStatus``'s order id is the quote id. The calls are in ``bybit.convert``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from dustsweep.core.models import ZERO
from dustsweep.exchanges.bybit.parse import dec, positive_or_none

FINAL_STATUSES = frozenset({"success", "failure"})
SUCCESS = "success"


@dataclass(frozen=True, slots=True)
class ConvertCoin:
    """One coin of query-coin-list with its per-transaction limits (None = no limit given).

    ``accuracy``: the decimals Bybit takes for an amount of this coin (``accuracyLength``).
    """

    coin: str
    balance: Decimal
    min_from: Decimal | None
    max_from: Decimal | None
    disable_from: bool
    disable_to: bool
    accuracy: int | None = None

    def accepts(self, amount: Decimal) -> bool:
        """Whether ``amount`` of this coin may be sold through Convert in one go."""
        if self.disable_from:
            return False
        if self.min_from is not None and amount < self.min_from:
            return False
        return self.max_from is None or amount <= self.max_from


@dataclass(frozen=True, slots=True)
class ConvertPair:
    """``from_asset`` -> ``to_asset`` with the from-coin's per-transaction limits (0 = none).

    Bybit's limits are per from-coin (``singleFromMinLimit``/``singleFromMaxLimit``), the same
    into every to-coin; its ``singleTo*`` fields are reserved, hence no to-side limits.
    """

    from_asset: str
    to_asset: str
    from_min: Decimal
    from_max: Decimal
    to_min: Decimal = ZERO
    to_max: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class ConvertQuote:
    """A quote-apply answer; execute it before ``expires_ms`` (server time, about 15 s)."""

    quote_id: str
    from_coin: str
    to_coin: str
    from_amount: Decimal
    to_amount: Decimal
    rate: Decimal
    expires_ms: int

    @property
    def ratio(self) -> Decimal:
        """To-coin received per from-coin sold (``ConvertQuoteLike``)."""
        return self.rate

    @property
    def valid_until_ms(self) -> int:
        return self.expires_ms


@dataclass(frozen=True, slots=True)
class ConvertStatus:
    """convert-execute / convert-result-query: ``status`` is init | processing | success |
    failure. Amounts are None when the answer has none (convert-execute reports ids only)."""

    quote_id: str
    status: str
    from_coin: str
    to_coin: str
    from_amount: Decimal | None
    to_amount: Decimal | None
    created_ms: int | None

    @property
    def order_id(self) -> str:
        """Bybit tracks an executed quote by its quoteTxId: that is the order's id."""
        return self.quote_id

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCESS


def _amount_or_none(value: object) -> Decimal | None:
    return None if value is None or value == "" else dec(value)


def _accuracy(value: object) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    places = int(str(value))
    return places if places >= 0 else None


def parse_coin_list(result: Mapping[str, Any]) -> dict[str, ConvertCoin]:
    out: dict[str, ConvertCoin] = {}
    for item in result.get("coins") or []:
        coin = ConvertCoin(
            coin=str(item["coin"]),
            balance=dec(item.get("balance")),
            min_from=positive_or_none(item.get("singleFromMinLimit")),
            max_from=positive_or_none(item.get("singleFromMaxLimit")),
            disable_from=bool(item.get("disableFrom")),
            disable_to=bool(item.get("disableTo")),
            accuracy=_accuracy(item.get("accuracyLength")),
        )
        out[coin.coin] = coin
    return out


def parse_quote(result: Mapping[str, Any], fallback_expiry_ms: int) -> ConvertQuote:
    """``fallback_expiry_ms`` stands in for a missing ``expiredTime`` (asked time + 15 s)."""
    expires = result.get("expiredTime")
    return ConvertQuote(
        quote_id=str(result["quoteTxId"]),
        from_coin=str(result["fromCoin"]),
        to_coin=str(result["toCoin"]),
        from_amount=dec(result.get("fromAmount")),
        to_amount=dec(result.get("toAmount")),
        rate=dec(result.get("exchangeRate")),
        expires_ms=int(expires) if expires else fallback_expiry_ms,
    )


def parse_accept(result: Mapping[str, Any], quote_id: str) -> ConvertStatus:
    """convert-execute answers ``{quoteTxId, exchangeStatus}``: ids and a first status."""
    return ConvertStatus(
        quote_id=quote_id,
        status=str(result.get("exchangeStatus") or "init"),
        from_coin="",
        to_coin="",
        from_amount=None,
        to_amount=None,
        created_ms=None,
    )


def parse_status(result: Mapping[str, Any], quote_id: str) -> ConvertStatus:
    """convert-result-query nests the record in ``result.result``; a record without
    ``exchangeStatus`` is unreadable (KeyError), not silently "not final"."""
    record = result["result"]
    created = record.get("createdAt")
    return ConvertStatus(
        quote_id=str(record.get("exchangeTxId") or quote_id),
        status=str(record["exchangeStatus"]),
        from_coin=str(record.get("fromCoin", "")),
        to_coin=str(record.get("toCoin", "")),
        from_amount=_amount_or_none(record.get("fromAmount")),
        to_amount=_amount_or_none(record.get("toAmount")),
        created_ms=int(created) if created else None,
    )


def floor_to_places(amount: Decimal, places: int | None) -> Decimal:
    """``amount`` cut to ``places`` decimals (None: as it is); Convert never rounds up."""
    if places is None:
        return amount
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)
