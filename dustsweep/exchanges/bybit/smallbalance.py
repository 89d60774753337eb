"""Bybit "Convert Small Balances" (/v5/asset/covert/*, the path typo is Bybit's) over a Wire.

The flow (bybit-api.md §6.2): list the eligible coins, quote at most 20 of them into MNT, USDT
or USDC (valid 30 s), execute the quote, then poll the history until the asynchronous conversion
is final. Kept out of ``bybit.adapter`` so the adapter stays about what to call; imports no SDK.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dustsweep.core.models import ConversionPreview, ConversionResult
from dustsweep.errors import ConversionRejected, ExchangeError, NetworkError, ServerError
from dustsweep.exchanges.bybit import parse as parse
from dustsweep.exchanges.bybit.capabilities import MAX_COINS_PER_QUOTE, TARGETS
from dustsweep.exchanges.bybit.errors import CONVERSION, Wire, is_unavailable

ACCOUNT_TYPE = "eb_convert_uta"
QUOTE_MARGIN_MS = 1000  # refuse a quote with less than this left (the execute round trip)
BELOW_MINIMUM = 700006  # "low amount limit": the coins together are worth too little
ALREADY_USED = 700009


class SmallBalanceConverter:
    """Quotes, executes and reconciles small-balance conversions of one account."""

    def __init__(self, wire: Wire, poll_delays: Sequence[float]) -> None:
        self._wire = wire
        self._poll_delays = tuple(poll_delays)

    def convertible(self) -> frozenset[str] | None:
        """Coins marked supportConvert=1; None when the endpoint is unavailable (never guessed)."""
        try:
            coins = self._eligible()
        except ExchangeError as exc:
            if is_unavailable(exc):
                return None
            raise
        return frozenset(coins)

    def previews(self, target: str, *, max_chunks: int | None = None) -> list[ConversionPreview]:
        """One quote per chunk of at most 20 eligible coins; one empty preview if none."""
        target = self.check_target(target)
        coins = [coin for coin in self._eligible() if coin != target]
        if not coins:
            return [ConversionPreview(target=target, fee_rate=None, lines=())]
        chunks = [
            coins[i : i + MAX_COINS_PER_QUOTE] for i in range(0, len(coins), MAX_COINS_PER_QUOTE)
        ]
        return [self._chunk_quote(target, chunk) for chunk in chunks[:max_chunks]]

    def _chunk_quote(self, target: str, coins: list[str]) -> ConversionPreview:
        """A chunk worth less than Bybit's minimum per conversion (700006 "low amount limit")
        is not an error of the account: nothing in it can be converted now, which is what an
        empty preview says (the plan then leaves those coins). Other refusals stand."""
        try:
            return self._quote(target, coins)
        except ConversionRejected as err:
            if err.code != BELOW_MINIMUM:
                raise
            return ConversionPreview(target=target, fee_rate=None, lines=())

    def quote(self, target: str, assets: Sequence[str]) -> ConversionPreview:
        """A fresh quote for exactly ``assets`` (1 to 20 coins), so its quote id is known
        before executing and can be recorded as the conversion's id.

        A coin the quote leaves out (supportConvert=2, not held) is refused as ``ineligible``
        rather than quietly dropped: the caller asked for a precise batch.
        """
        target = self.check_target(target)
        return self._quote(target, self._batch(assets), exact=True)

    def convert(
        self, preview: ConversionPreview, assets: list[str], client_id: str
    ) -> ConversionResult:
        """Convert exactly ``assets`` (at most 20) into ``preview.target``.

        The quote covers a fixed coin list: a different list or a preview without a quote is
        quoted first. A quote for exactly these coins that is about to expire is refused
        (``expired``, nothing sent), never swapped for a new one: the caller has recorded its
        id as the conversion's id, and after a lost answer it looks that id up. Bybit takes no
        client id here; the quote id is the idempotency key (a second execute answers 700009,
        and then the result is read from the history). ``client_id`` only labels messages.
        """
        target = self.check_target(preview.target)
        wanted = self._batch(assets)
        quoted = sorted(line.asset for line in preview.lines)
        if preview.quote_id is None or quoted != sorted(wanted):
            preview = self._quote(target, wanted, exact=True)
        elif self._expiring(preview):
            raise self._refused(
                f"quote {preview.quote_id} expires in less than {QUOTE_MARGIN_MS} ms: not "
                "sent; quote again",
                "expired",
            )
        quote_id = str(preview.quote_id)
        try:
            self._wire.call(
                "confirm_a_quote_small_balance",
                f"execute conversion {quote_id} into {target} ({client_id})",
                purpose=CONVERSION,
                retry=False,
                quoteId=quote_id,
            )
        except ConversionRejected as exc:
            if exc.code != ALREADY_USED:
                raise
            return self._reconcile(preview, quote_id, exc)
        except (NetworkError, ServerError) as exc:
            return self._reconcile(preview, quote_id, exc)
        record = self._poll(quote_id)
        if record is None:
            return parse.pending_result(preview, quote_id)
        return self._result(record, preview.target)

    def find(self, quote_id: str, target: str) -> ConversionResult | None:
        """The history record of one conversion (for reconciliation), or None."""
        record = self._record(quote_id)
        return None if record is None else self._result(record, target)

    def last_conversion_ms(self) -> int | None:
        """Latest createdAt in the history, across wallets: web/app conversions count too."""
        action = "read small-balance conversion history"
        try:
            envelope = self._wire.call("get_exchange_history_small_balance", action)
        except ExchangeError as exc:
            if is_unavailable(exc):
                return None
            raise
        with self._wire.reading(action):
            return parse.latest_created_ms(parse.result_of(envelope))

    def check_target(self, target: str) -> str:
        target = target.upper()
        if target not in TARGETS:
            raise self._refused(
                f"Bybit converts small balances only into {', '.join(TARGETS)}, not {target}",
                "unsupported_target",
            )
        return target

    # -- steps --------------------------------------------------------------------------------

    def _batch(self, assets: Sequence[str]) -> list[str]:
        """``assets`` without repeats, refused when empty or above Bybit's 20 per quote."""
        wanted = list(dict.fromkeys(assets))
        if not wanted:
            raise self._refused("no assets to convert", "other")
        if len(wanted) > MAX_COINS_PER_QUOTE:
            raise self._refused(
                f"{len(wanted)} assets given; Bybit converts at most {MAX_COINS_PER_QUOTE} per "
                "quote, convert them in chunks",
                "other",
            )
        return wanted

    def _eligible(self) -> list[str]:
        action = "read small-balance convertible coins"
        envelope = self._wire.call("get_small_balance_coins", action, accountType=ACCOUNT_TYPE)
        with self._wire.reading(action):
            return [str(c["fromCoin"]) for c in parse.convertible_coins(parse.result_of(envelope))]

    def _quote(self, target: str, coins: list[str], *, exact: bool = False) -> ConversionPreview:
        """get-quote for ``coins`` (retried on rate limits: a quote moves nothing). With
        ``exact`` every coin must be covered, else the request is refused as ineligible."""
        action = f"quote {len(coins)} coin(s) into {target}"
        envelope = self._wire.call(
            "request_a_quote_small_balance",
            action,
            purpose=CONVERSION,
            accountType=ACCOUNT_TYPE,
            fromCoinList=list(coins),
            toCoin=target,
        )
        with self._wire.reading(action):
            result = parse.result_of(envelope)
            missing = parse.unsupported_in_quote(result, coins) if exact else []
            preview = parse.quote_preview(result, target)
        if missing:
            raise self._refused(
                f"Bybit will not convert {', '.join(missing)} into {target} (supportConvert=2 "
                "or not quoted); leave them out",
                "ineligible",
            )
        return preview

    def _reconcile(
        self, preview: ConversionPreview, quote_id: str, error: ExchangeError
    ) -> ConversionResult:
        """After 700009 or a lost answer the history says whether the quote executed; without
        a record the original error stands (outcome unknown, or nothing happened)."""
        record = self._poll(quote_id)
        if record is None:
            raise error
        return self._result(record, preview.target)

    def _poll(self, quote_id: str) -> Mapping[str, Any] | None:
        """The quote's history record once final, else the last one seen, else None."""
        record: Mapping[str, Any] | None = None
        for delay in self._poll_delays:
            if delay:
                self._wire.sleep(delay)
            try:
                found = self._record(quote_id)
            except ExchangeError:
                break  # submitted: report what is known, the history will tell later
            if found is not None:
                record = found
                if parse.conversion_status(found) != "pending":
                    break
        return record

    def _record(self, quote_id: str) -> Mapping[str, Any] | None:
        action = f"read conversion {quote_id}"
        envelope = self._wire.call(
            "get_exchange_history_small_balance",
            action,
            accountType=ACCOUNT_TYPE,
            quoteId=quote_id,
        )
        with self._wire.reading(action):
            return parse.history_record(parse.result_of(envelope).get("records") or [], quote_id)

    def _result(self, record: Mapping[str, Any], target: str) -> ConversionResult:
        with self._wire.reading("read conversion result"):
            return parse.conversion_result(record, target)

    def _expiring(self, preview: ConversionPreview) -> bool:
        if preview.expires_ms is None:
            return False
        return preview.expires_ms - QUOTE_MARGIN_MS <= self._wire.server_now_ms()

    def _refused(self, reason: str, kind: str) -> ConversionRejected:
        return ConversionRejected(
            f"bybit account '{self._wire.account}' ({self._wire.host}): conversion refused: "
            f"{reason}",
            kind=kind,
        )
