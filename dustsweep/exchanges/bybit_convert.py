"""Bybit's regular Convert (/v5/asset/exchange/*): small frozen types and their parsers.

Regular Convert is not a dust tool (its per-transaction minimums, ``singleFromMinLimit``, are far
above dust size) but it can move a balance that is too large for "Convert Small Balances" yet has
no market. The adapter exposes it as plain methods; these types keep Bybit's strings as Decimal.
Imports no SDK.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dustsweep.errors import ExchangeError
from dustsweep.exchanges.bybit_errors import CONVERSION, Wire
from dustsweep.exchanges.bybit_parse import dec, positive_or_none, result_of

ACCOUNT_TYPE = "eb_convert_uta"
FINAL_STATUSES = frozenset({"success", "failure"})


@dataclass(frozen=True, slots=True)
class ConvertCoin:
    """One coin of query-coin-list with its per-transaction limits (None = no limit given)."""

    coin: str
    balance: Decimal
    min_from: Decimal | None
    max_from: Decimal | None
    disable_from: bool
    disable_to: bool

    def accepts(self, amount: Decimal) -> bool:
        """Whether ``amount`` of this coin may be sold through Convert in one go."""
        if self.disable_from:
            return False
        if self.min_from is not None and amount < self.min_from:
            return False
        return self.max_from is None or amount <= self.max_from


@dataclass(frozen=True, slots=True)
class ConvertQuote:
    """A quote-apply answer; valid until ``expires_ms`` (server time, about 15 s)."""

    quote_id: str
    from_coin: str
    to_coin: str
    from_amount: Decimal
    to_amount: Decimal
    rate: Decimal
    expires_ms: int | None


@dataclass(frozen=True, slots=True)
class ConvertStatus:
    """convert-result-query: ``status`` is init | processing | success | failure."""

    quote_id: str
    status: str
    from_coin: str
    to_coin: str
    from_amount: Decimal
    to_amount: Decimal
    created_ms: int | None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


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
        )
        out[coin.coin] = coin
    return out


def parse_quote(result: Mapping[str, Any]) -> ConvertQuote:
    expires = result.get("expiredTime")
    return ConvertQuote(
        quote_id=str(result["quoteTxId"]),
        from_coin=str(result["fromCoin"]),
        to_coin=str(result["toCoin"]),
        from_amount=dec(result.get("fromAmount")),
        to_amount=dec(result.get("toAmount")),
        rate=dec(result.get("exchangeRate")),
        expires_ms=int(expires) if expires else None,
    )


def parse_status(result: Mapping[str, Any], quote_id: str) -> ConvertStatus:
    """convert-result-query nests the record in ``result.result``."""
    record = result.get("result") or {}
    created = record.get("createdAt")
    return ConvertStatus(
        quote_id=str(record.get("exchangeTxId") or quote_id),
        status=str(record.get("exchangeStatus", "")),
        from_coin=str(record.get("fromCoin", "")),
        to_coin=str(record.get("toCoin", "")),
        from_amount=dec(record.get("fromAmount")),
        to_amount=dec(record.get("toAmount")),
        created_ms=int(created) if created else None,
    )


class RegularConvert:
    """The four Convert calls of one account over the adapter's wire."""

    def __init__(self, wire: Wire, poll_delays: Sequence[float]) -> None:
        self._wire = wire
        self._poll_delays = tuple(poll_delays)

    def coin_list(self, *, side: int = 0, coin: str | None = None) -> dict[str, ConvertCoin]:
        """Coins with their per-transaction limits (side 0: from-coins, 1: to-coins)."""
        action = "read Convert coin list"
        envelope = self._wire.call(
            "get_convert_coin_list",
            action,
            purpose=CONVERSION,
            accountType=ACCOUNT_TYPE,
            side=side,
            coin=coin,
        )
        with self._wire.reading(action):
            return parse_coin_list(result_of(envelope))

    def request_quote(
        self, from_coin: str, to_coin: str, amount: Decimal, request_id: str | None = None
    ) -> ConvertQuote:
        """A quote selling exactly ``amount`` of ``from_coin``; a quote moves nothing, so a
        rate-limited request is retried like a read."""
        text = format(amount, "f")
        action = f"quote Convert {text} {from_coin} -> {to_coin}"
        envelope = self._wire.call(
            "request_a_quote",
            action,
            purpose=CONVERSION,
            accountType=ACCOUNT_TYPE,
            fromCoin=from_coin,
            toCoin=to_coin,
            requestCoin=from_coin,
            requestAmount=text,
            requestId=request_id,
        )
        with self._wire.reading(action):
            return parse_quote(result_of(envelope))

    def execute(self, quote: ConvertQuote) -> ConvertStatus:
        """Confirm the quote (never resent) and poll its result until final or the polls end;
        a non-final status tells the caller to check ``status`` later."""
        self._wire.call(
            "confirm_a_quote",
            f"execute Convert {quote.quote_id}",
            purpose=CONVERSION,
            retry=False,
            quoteTxId=quote.quote_id,
        )
        latest = ConvertStatus(
            quote_id=quote.quote_id,
            status="processing",
            from_coin=quote.from_coin,
            to_coin=quote.to_coin,
            from_amount=quote.from_amount,
            to_amount=quote.to_amount,
            created_ms=None,
        )
        for delay in self._poll_delays:
            if delay:
                self._wire.sleep(delay)
            try:
                latest = self.status(quote.quote_id)
            except ExchangeError:
                break
            if latest.final:
                break
        return latest

    def status(self, quote_id: str) -> ConvertStatus:
        action = f"read Convert result {quote_id}"
        envelope = self._wire.call(
            "get_convert_status",
            action,
            purpose=CONVERSION,
            quoteTxId=quote_id,
            accountType=ACCOUNT_TYPE,
        )
        with self._wire.reading(action):
            return parse_status(result_of(envelope), quote_id)
