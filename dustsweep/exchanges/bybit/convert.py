"""Bybit's regular Convert (/v5/asset/exchange/*): the calls (types and parsers: ``convert_parse``).

Regular Convert is not a dust tool (its per-transaction minimums, ``singleFromMinLimit``, are far
above dust size) but it can move a balance that is too large for "Convert Small Balances" yet has
no market, or one it pays better than selling. ``RegularConvert`` offers it in the shape of the
converter's Convert-quote route (``converter_caps.RfqConvert``): pairs with limits, a quote, its
acceptance, the order status. Bybit names an accepted quote by its ``quoteTxId`` (there is no
separate order id), so the "order id" handed to the converter is the quote id. Imports no SDK.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from decimal import Decimal

from dustsweep.core.models import ZERO
from dustsweep.errors import ConversionRejected, ExchangeError, ServerError
from dustsweep.exchanges.bybit.convert_parse import (
    ConvertCoin,
    ConvertPair,
    ConvertQuote,
    ConvertStatus,
    floor_to_places,
    parse_accept,
    parse_coin_list,
    parse_quote,
    parse_status,
)
from dustsweep.exchanges.bybit.errors import CONVERSION, Wire
from dustsweep.exchanges.bybit.parse import result_of

ACCOUNT_TYPE = "eb_convert_uta"
# A quote lives 15 s (bybit-api.md §6.1); used only when an answer has no expiredTime.
QUOTE_TTL_MS = 15_000
FROM_SIDE, TO_SIDE = 0, 1
ORDER_NOT_FOUND = 700004  # also "quoteTxId/accountType mismatch": we always send UTA
BELOW_MIN, ABOVE_MAX = 700006, 700007
QUOTE_USED = 700009


class RegularConvert:
    """The Convert calls of one account over the adapter's wire.

    Remembers each coin's ``accuracyLength`` from the coin lists it read, so a quote asks for
    an amount with no more decimals than Bybit takes for that coin.
    """

    def __init__(self, wire: Wire, poll_delays: Sequence[float]) -> None:
        self._wire = wire
        self._poll_delays = tuple(poll_delays)
        self._accuracy: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- raw calls ------------------------------------------------------------------------------

    def coin_list(
        self, *, side: int = FROM_SIDE, coin: str | None = None
    ) -> dict[str, ConvertCoin]:
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
            coins = parse_coin_list(result_of(envelope))
        if side == FROM_SIDE:
            with self._lock:
                self._accuracy.update(
                    {c.coin: c.accuracy for c in coins.values() if c.accuracy is not None}
                )
        return coins

    def request_quote(
        self, from_coin: str, to_coin: str, amount: Decimal, request_id: str | None = None
    ) -> ConvertQuote:
        """A quote selling exactly ``amount`` of ``from_coin``; a quote moves nothing, so a
        rate-limited request is retried like a read. A refusal below the minimum or above the
        maximum says which limit it was."""
        text = format(amount, "f")
        action = f"quote Convert {text} {from_coin} -> {to_coin}"
        asked_ms = self._wire.server_now_ms()
        try:
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
        except ConversionRejected as err:
            raise _explained(err, text, from_coin) from None
        with self._wire.reading(action):
            return parse_quote(result_of(envelope), asked_ms + QUOTE_TTL_MS)

    def accept(self, quote_id: str) -> ConvertStatus:
        """convert-execute (moves money, never resent): the first status, amounts unknown.

        "Quote already used" (700009) means it was executed already: the answer is then that
        execution's record, so the caller follows the conversion that did happen.
        """
        action = f"execute Convert {quote_id}"
        try:
            envelope = self._wire.call(
                "confirm_a_quote", action, purpose=CONVERSION, retry=False, quoteTxId=quote_id
            )
        except ConversionRejected as err:
            if err.code != QUOTE_USED:
                raise
            return self._already_executed(quote_id, err)
        with self._wire.reading(action):
            return parse_accept(result_of(envelope), quote_id)

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

    def status_by_quote(self, quote_id: str) -> ConvertStatus | None:
        """The execution of ``quote_id``; None when Bybit has none (700004). None proves
        "never executed" only once the quote has expired: an execute may still be on its way."""
        try:
            return self.status(quote_id)
        except ExchangeError as err:
            if err.code == ORDER_NOT_FOUND:
                return None
            raise

    def execute(self, quote: ConvertQuote) -> ConvertStatus:
        """Execute the quote (never resent) and poll its result until final or the polls end;
        a non-final status tells the caller to check ``status`` later."""
        first = self.accept(quote.quote_id)
        latest = ConvertStatus(
            quote_id=quote.quote_id,
            status=first.status,
            from_coin=quote.from_coin,
            to_coin=quote.to_coin,
            from_amount=quote.from_amount,
            to_amount=quote.to_amount,
            created_ms=None,
        )
        for delay in self._poll_delays:
            if latest.final:
                break
            if delay:
                self._wire.sleep(delay)
            try:
                latest = self.status(quote.quote_id)
            except ExchangeError:
                break
        return latest

    # -- the converter's Convert-quote route (converter_caps.RfqConvert) ------------------------

    def pairs(
        self, from_asset: str | None = None, to_asset: str | None = None
    ) -> list[ConvertPair]:
        """Pairs from ``from_asset`` and/or into ``to_asset`` with the from-coin's limits.

        Into a target: the to-coin list (side 1) confirms the target, the from-coin list
        (side 0, the coins the account holds) gives each source and its limits: two calls, not
        one per coin. From a coin: its row of side 0, then its own to-coin list (side 1 with
        ``coin``). Coins Bybit disables on the needed side are left out.
        """
        if not from_asset and not to_asset:
            raise ValueError("convert_pairs needs from_asset or to_asset")
        source = from_asset.upper() if from_asset else None
        target = to_asset.upper() if to_asset else None
        if source is None:
            assert target is not None
            into = self.coin_list(side=TO_SIDE)
            if target not in into or into[target].disable_to:
                return []
            sources = self.coin_list(side=FROM_SIDE)
            return [_pair(coin, target) for coin in sources.values() if _can_sell(coin, target)]
        held = self.coin_list(side=FROM_SIDE)
        coin = held.get(source)
        if coin is None or coin.disable_from:
            return []
        into = self.coin_list(side=TO_SIDE, coin=source)
        return [
            _pair(coin, to.coin)
            for to in into.values()
            if not to.disable_to and to.coin != source and (target is None or to.coin == target)
        ]

    def quote(self, from_asset: str, to_asset: str, amount: Decimal) -> ConvertQuote:
        """A quote selling ``amount`` (cut to the coin's accuracy when known) of ``from_asset``."""
        from_coin, to_coin = from_asset.upper(), to_asset.upper()
        if amount <= 0:
            raise ValueError(f"amount must be positive, got {amount}")
        with self._lock:
            places = self._accuracy.get(from_coin)
        sized = floor_to_places(amount, places)
        if sized <= 0:
            raise ConversionRejected(
                f"bybit account '{self._wire.account}' ({self._wire.host}): quote Convert "
                f"{format(amount, 'f')} {from_coin} -> {to_coin} not sent: below the "
                f"{places} decimals Bybit takes for {from_coin}",
                kind="ineligible",
            )
        return self.request_quote(from_coin, to_coin, sized)

    def _already_executed(self, quote_id: str, used: ConversionRejected) -> ConvertStatus:
        try:
            found = self.status_by_quote(quote_id)
        except ExchangeError as lookup:
            raise ServerError(
                f"{used}; its execution could not be read ({lookup}): the outcome is unknown",
                code=used.code,
            ) from None
        if found is None:
            raise used
        return found


def _can_sell(coin: ConvertCoin, target: str) -> bool:
    return coin.coin != target and not coin.disable_from


def _pair(coin: ConvertCoin, target: str) -> ConvertPair:
    return ConvertPair(
        from_asset=coin.coin,
        to_asset=target,
        from_min=coin.min_from or ZERO,
        from_max=coin.max_from or ZERO,
    )


def _explained(err: ConversionRejected, amount: str, coin: str) -> ConversionRejected:
    """Name the limit a 700006/700007 refers to (Bybit's own words are terse)."""
    hints = {
        BELOW_MIN: f"{amount} {coin} is below Bybit's per-transaction Convert minimum "
        "(singleFromMinLimit)",
        ABOVE_MAX: f"{amount} {coin} is above Bybit's per-transaction Convert maximum "
        "(singleFromMaxLimit)",
    }
    hint = hints.get(err.code) if err.code is not None else None
    if hint is None:
        return err
    return ConversionRejected(
        f"{err}: {hint}", kind=err.kind, code=err.code, http_status=err.http_status
    )
