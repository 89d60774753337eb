"""Binance Convert (request-for-quote) in the Binance dialect: pairs, quotes, orders.

Quotes are priced from the market with no fee (the spread is the real fee; the simulator has
none). A quote carries a quoteId only when the account can pay (binance-api.md §8); balances
move when the quote is accepted; the order then reports PROCESS once and SUCCESS afterwards,
so clients must poll as they must on the real exchange.

Codes Binance does not document, decided here: an expired, unknown or already used quote is
``345231`` "System failed to execute the quote, which has expired. Please request for quote
again." (the Convert family's own code, from the Binance Pay convert docs); an amount outside
the pair's limits is ``-1013`` (INVALID_MESSAGE, like other size rules); an unknown pair is
``-1121`` "Invalid symbol."; no Convert access is ``-1002`` (reported by users).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dustsweep.sim.binance.accounts import BinanceAccount
from dustsweep.sim.binance.market import MarketBook
from dustsweep.sim.binance.wire import (
    INSUFFICIENT_BALANCE,
    INVALID_SYMBOL,
    NO_SUCH_ORDER,
    ONE,
    BinanceError,
    ceil_places,
    decimal_param,
    decimals_of,
    floor_places,
    int_param,
    mandatory,
    not_required,
    one_of,
    plain,
    required,
    round_sig,
    to_decimal,
)
from dustsweep.sim.core import SimClock

CONVERT_QUOTES = ("USDT", "USDC", "BTC", "ETH", "BNB")  # what derived pairs convert into
VALID_TIMES = {"10s": 10_000, "30s": 30_000, "1m": 60_000, "2m": 120_000}
FRACTION = 8  # GET /sapi/v1/convert/assetInfo: decimals accepted for every asset here
MIN_VALUE_USDT = Decimal(10)
MAX_VALUE_USDT = Decimal(2_500_000)
PAIR_KEYS = ("fromAsset", "toAsset", "fromAssetMinAmount", "fromAssetMaxAmount",
             "toAssetMinAmount", "toAssetMaxAmount")  # fmt: skip
QUOTE_EXPIRED = BinanceError(
    345231,
    "System failed to execute the quote, which has expired. Please request for quote again.",
)


@dataclass
class ConvertQuote:
    quote_id: str
    account: str
    from_asset: str
    to_asset: str
    from_amount: Decimal
    to_amount: Decimal
    ratio: Decimal
    inverse_ratio: Decimal
    valid_until_ms: int
    used: bool = False


@dataclass
class ConvertOrder:
    """An accepted quote. ``polls`` counts orderStatus queries: the first answers PROCESS."""

    order_id: int
    quote: ConvertQuote
    create_ms: int
    polls: int = 0

    def status_body(self, status: str) -> dict[str, Any]:
        return {
            "orderId": self.order_id,
            "orderStatus": status,
            "fromAsset": self.quote.from_asset,
            "fromAmount": plain(self.quote.from_amount),
            "toAsset": self.quote.to_asset,
            "toAmount": plain(self.quote.to_amount),
            "ratio": plain(self.quote.ratio),
            "inverseRatio": plain(self.quote.inverse_ratio),
            "createTime": self.create_ms,
        }


class ConvertDesk:
    """Convert pairs (explicit from the scenario, or derived from prices) and quotes."""

    def __init__(
        self,
        market: MarketBook,
        clock: SimClock,
        pairs: Sequence[Mapping[str, Any]] | None = None,
        ineligible: frozenset[str] = frozenset(),
    ) -> None:
        self.market = market
        self.clock = clock
        self.ineligible = ineligible
        self._pairs: dict[tuple[str, str], dict[str, str]] | None = None
        if pairs is not None:
            self._pairs = {}
            for raw in pairs:
                missing = [k for k in PAIR_KEYS if k not in raw]
                if missing:
                    raise ValueError(f"binance convert_pairs: {missing} missing in {raw!r}")
                pair = {k: str(raw[k]) for k in PAIR_KEYS}
                self._pairs[(pair["fromAsset"], pair["toAsset"])] = pair
        self._quotes: dict[str, ConvertQuote] = {}
        self._orders: dict[int, ConvertOrder] = {}
        self._next_quote = 12415572563
        self._next_order = 933256278426274425

    # ---- pairs -------------------------------------------------------------------------------

    def pair(self, from_asset: str, to_asset: str) -> dict[str, str] | None:
        if self._pairs is not None:
            return self._pairs.get((from_asset, to_asset))
        if from_asset == to_asset or not ({from_asset, to_asset} & set(CONVERT_QUOTES)):
            return None
        if {from_asset, to_asset} & self.ineligible:
            return None
        from_usdt = self.market.rate(from_asset, "USDT")
        to_usdt = self.market.rate(to_asset, "USDT")
        if not from_usdt or not to_usdt:
            return None
        return {
            "fromAsset": from_asset,
            "toAsset": to_asset,
            "fromAssetMinAmount": plain(round_sig(MIN_VALUE_USDT / from_usdt, 2, up=True)),
            "fromAssetMaxAmount": plain(round_sig(MAX_VALUE_USDT / from_usdt, 2, up=False)),
            "toAssetMinAmount": plain(round_sig(MIN_VALUE_USDT / to_usdt, 2, up=True)),
            "toAssetMaxAmount": plain(round_sig(MAX_VALUE_USDT / to_usdt, 2, up=False)),
        }

    def exchange_info(self, params: Mapping[str, str]) -> list[dict[str, str]]:
        """GET /sapi/v1/convert/exchangeInfo filtered by fromAsset and/or toAsset."""
        from_asset = params.get("fromAsset") or None
        to_asset = params.get("toAsset") or None
        if from_asset is None and to_asset is None:
            raise one_of("fromAsset", "toAsset")
        if self._pairs is not None:
            candidates = list(self._pairs)
        else:
            assets = sorted(self.market.assets())
            candidates = [(f, t) for f in assets for t in assets]
        found = []
        for f, t in candidates:
            if (from_asset is None or f == from_asset) and (to_asset is None or t == to_asset):
                pair = self.pair(f, t)
                if pair is not None:
                    found.append(pair)
        return found

    def asset_info(self) -> list[dict[str, Any]]:
        return [{"asset": a, "fraction": FRACTION} for a in sorted(self.market.assets())]

    # ---- quotes and orders -------------------------------------------------------------------

    def get_quote(self, account: BinanceAccount, params: Mapping[str, str]) -> dict[str, Any]:
        """POST /sapi/v1/convert/getQuote: priced at the market's rate, no fee."""
        _check_access(account)
        from_asset = required(params, "fromAsset")
        to_asset = required(params, "toAsset")
        from_amount = _amount(params, "fromAmount")
        to_amount = _amount(params, "toAmount")
        if from_amount is None and to_amount is None:
            raise one_of("fromAmount", "toAmount")
        if from_amount is not None and to_amount is not None:
            raise not_required("toAmount")
        valid_ms = VALID_TIMES.get(params.get("validTime") or "10s")
        if valid_ms is None:
            raise BinanceError(-1102, "Param 'validTime' is invalid, allowed: 10s, 30s, 1m, 2m.")
        pair = self.pair(from_asset, to_asset)
        rate = self.market.rate(from_asset, to_asset)
        if pair is None or not rate:
            raise BinanceError(-1121, INVALID_SYMBOL)
        ratio = round_sig(rate, 8, up=False)
        if from_amount is not None:
            to_amount = floor_places(from_amount * ratio)
        else:
            assert to_amount is not None
            from_amount = ceil_places(to_amount / ratio)
        _check_limits(pair, from_amount, to_amount)
        now = self.clock.now_ms()
        quote = ConvertQuote(
            quote_id=self._new_quote_id(),
            account=account.name,
            from_asset=from_asset,
            to_asset=to_asset,
            from_amount=from_amount,
            to_amount=to_amount,
            ratio=ratio,
            inverse_ratio=round_sig(ONE / ratio, 8, up=False),
            valid_until_ms=now + valid_ms,
        )
        body: dict[str, Any] = {
            "ratio": plain(quote.ratio),
            "inverseRatio": plain(quote.inverse_ratio),
            "validTimestamp": quote.valid_until_ms,
            "toAmount": plain(quote.to_amount),
            "fromAmount": plain(quote.from_amount),
        }
        free, _ = account.wallet.get(from_asset)
        if free >= from_amount:  # quoteId only when the account can pay
            self._quotes[quote.quote_id] = quote
            body = {"quoteId": quote.quote_id, **body}
        return body

    def accept_quote(self, account: BinanceAccount, params: Mapping[str, str]) -> dict[str, Any]:
        """POST /sapi/v1/convert/acceptQuote: balances move now; status says PROCESS."""
        _check_access(account)
        quote = self._quotes.get(required(params, "quoteId"))
        now = self.clock.now_ms()
        if quote is None or quote.account != account.name or quote.used:
            raise QUOTE_EXPIRED
        if now > quote.valid_until_ms:
            raise QUOTE_EXPIRED
        with account.wallet.lock:
            free, _ = account.wallet.get(quote.from_asset)
            if free < quote.from_amount:
                raise BinanceError(-2010, INSUFFICIENT_BALANCE)
            account.wallet.debit(quote.from_asset, quote.from_amount)
            account.wallet.credit(quote.to_asset, quote.to_amount)
        quote.used = True
        self._next_order += 1
        order = ConvertOrder(self._next_order, quote, now)
        self._orders[order.order_id] = order
        account.convert_orders.append(order)
        account.update_ms = now
        return {"orderId": str(order.order_id), "createTime": now, "orderStatus": "PROCESS"}

    def order_status(self, account: BinanceAccount, params: Mapping[str, str]) -> dict[str, Any]:
        """GET /sapi/v1/convert/orderStatus by orderId or quoteId."""
        order_id = int_param(params, "orderId")
        quote_id = params.get("quoteId") or None
        if order_id is None and quote_id is None:
            raise one_of("orderId", "quoteId")
        for order in account.convert_orders:
            if (order_id is None or order.order_id == order_id) and (
                quote_id is None or order.quote.quote_id == quote_id
            ):
                order.polls += 1
                return order.status_body("PROCESS" if order.polls == 1 else "SUCCESS")
        raise BinanceError(-2013, NO_SUCH_ORDER)

    def trade_flow(self, account: BinanceAccount, params: Mapping[str, str]) -> dict[str, Any]:
        """GET /sapi/v1/convert/tradeFlow: this account's accepted quotes in a time window."""
        start = int_param(params, "startTime")
        end = int_param(params, "endTime")
        if start is None:
            raise one_of("startTime", "endTime") if end is None else mandatory("startTime")
        if end is None:
            raise mandatory("endTime")
        if end - start > TRADE_FLOW_WINDOW_MS:
            # The real API allows at most 30 days between startTime and endTime.
            raise BinanceError(-1127, "More than 720 hours between startTime and endTime.")
        if end < start:
            raise BinanceError(-1128, "startTime must be before endTime.")
        limit = int_param(params, "limit") or 100
        if not 1 <= limit <= 1000:
            raise BinanceError(-1130, "Data sent for parameter 'limit' is not valid.")
        rows = [
            {"quoteId": o.quote.quote_id, **o.status_body("SUCCESS")}
            for o in account.convert_orders
            if start <= o.create_ms <= end
        ]
        return {
            "list": rows[:limit],
            "startTime": start,
            "endTime": end,
            "limit": limit,
            "moreData": len(rows) > limit,
        }

    def _new_quote_id(self) -> str:
        self._next_quote += 1
        return str(self._next_quote)


TRADE_FLOW_WINDOW_MS = 30 * 86_400_000


def _check_access(account: BinanceAccount) -> None:
    if not account.convert_access:
        raise BinanceError(-1002, "You are not authorized to execute this request.", 401)


def _amount(params: Mapping[str, str], name: str) -> Decimal | None:
    amount = decimal_param(params, name)
    if amount is not None and decimals_of(amount) > FRACTION:
        raise BinanceError(-1111, f"Parameter '{name}' has too much precision.")
    if amount is not None and amount <= 0:
        raise BinanceError(-1013, f"Parameter '{name}' must be greater than zero.")
    return amount


def _check_limits(pair: Mapping[str, str], from_amount: Decimal, to_amount: Decimal) -> None:
    """Each side within the pair's min/max (binance-api.md §8: often far above dust)."""
    for side, amount in (("from", from_amount), ("to", to_amount)):
        asset = pair[f"{side}Asset"]
        low = to_decimal(pair[f"{side}AssetMinAmount"])
        high = to_decimal(pair[f"{side}AssetMaxAmount"])
        if amount < low:
            raise BinanceError(-1013, f"Amount is below the minimum of {plain(low)} {asset}.")
        if amount > high:
            raise BinanceError(-1013, f"Amount is above the maximum of {plain(high)} {asset}.")
