"""Bybit spot adapter over pybit (V5 API, unified trading account).

It decides *what* to call for each ``Exchange`` method; ``bybit.wire`` decides *how* (the only
other module that imports pybit: sessions, clock offset, budget, retries, error translation).
The SDK-free helpers do the rest over the ``Wire`` protocol: payload parsing (``bybit.parse``),
the small-balance conversion flow (``bybit.smallbalance``), regular Convert (``bybit.convert``,
also offered as the ``convert_*`` methods of the converter's Convert-quote route) and the
``doctor`` rows (``bybit.checks``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from dustsweep.core.history_log import LoggedConversion
from dustsweep.core.lots import fmt
from dustsweep.core.models import (
    Announcement,
    Balance,
    ConversionPreview,
    ConversionResult,
    MarketRules,
    OrderResult,
)
from dustsweep.errors import ExchangeError
from dustsweep.exchanges.base import Credentials
from dustsweep.exchanges.bybit import checks, delist, parse
from dustsweep.exchanges.bybit import convert as convert_api
from dustsweep.exchanges.bybit.capabilities import CAPABILITIES
from dustsweep.exchanges.bybit.convert_parse import ConvertPair, ConvertQuote, ConvertStatus
from dustsweep.exchanges.bybit.errors import ORDER
from dustsweep.exchanges.bybit.history import HistoryReader
from dustsweep.exchanges.bybit.smallbalance import SmallBalanceConverter
from dustsweep.exchanges.bybit.wire import BybitWire

# After an order is accepted Bybit answers with ids only; the fill is read back. A market order
# is final within milliseconds, so a short poll suffices; the caller reconciles anything slower.
ORDER_POLL_DELAYS: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)
# Small-balance conversions are asynchronous (init -> processing -> final).
CONVERSION_POLL_DELAYS: tuple[float, ...] = (0.0, 0.2, 0.3, 0.5, 1.0, 1.0, 2.0, 2.0, 3.0)
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")


class BybitExchange:
    """A Bybit unified trading account (UTA), spot only. Thread-safe.

    ``sleep`` is injected so tests run back-off and polling without waiting; the poll delays
    bound how long ``market_sell`` and ``convert`` wait for a final state.
    """

    name = "bybit"
    capabilities = CAPABILITIES
    # The record's fields under their old names, until the core reads ``capabilities``.
    native_targets: tuple[str, ...] = CAPABILITIES.native_targets
    convertible_target: str | None = CAPABILITIES.eligibility_target

    def __init__(
        self,
        credentials: Credentials,
        *,
        sleep: Callable[[float], None] = time.sleep,
        order_poll_delays: Sequence[float] = ORDER_POLL_DELAYS,
        conversion_poll_delays: Sequence[float] = CONVERSION_POLL_DELAYS,
    ) -> None:
        self.account = credentials.account
        self._wire = BybitWire(credentials, sleep)
        self.host = self._wire.host
        self._order_poll_delays = tuple(order_poll_delays)
        self._small = SmallBalanceConverter(self._wire, conversion_poll_delays)
        self.regular_convert = convert_api.RegularConvert(self._wire, conversion_poll_delays)
        self._history = HistoryReader(self._wire)

    # -- clock -------------------------------------------------------------------------------

    @property
    def clock_offset_ms(self) -> int:
        return self._wire.clock.offset_ms

    @clock_offset_ms.setter
    def clock_offset_ms(self, offset_ms: int) -> None:
        self._wire.clock.offset_ms = int(offset_ms)

    def set_clock_offset(self, offset_ms: int) -> None:
        self.clock_offset_ms = offset_ms

    def sync_clock(self) -> int:
        """Offset = server time - local time at the midpoint of the round trip."""
        sent = time.time() * 1000
        envelope = self._wire.call("get_server_time", "read server time")
        received = time.time() * 1000
        with self._wire.reading("read server time"):
            server_ms = parse.server_time_ms(envelope)
        offset = round(server_ms - (sent + received) / 2)
        self.set_clock_offset(offset)
        return offset

    # -- snapshot reads ----------------------------------------------------------------------

    def fetch_balances(self) -> list[Balance]:
        envelope = self._wire.call("get_wallet_balance", "read balances", accountType="UNIFIED")
        with self._wire.reading("read balances"):
            return parse.balances(parse.result_of(envelope))

    def fetch_markets(self) -> list[MarketRules]:
        """One call: spot instruments-info has no pagination."""
        envelope = self._wire.call("get_instruments_info", "read spot markets", category="spot")
        with self._wire.reading("read spot markets"):
            return parse.markets(parse.result_of(envelope).get("list") or [])

    def fetch_prices(self) -> dict[str, Decimal]:
        envelope = self._wire.call("get_tickers", "read prices", category="spot")
        with self._wire.reading("read prices"):
            return parse.prices(parse.result_of(envelope).get("list") or [])

    def fetch_convertible(self) -> frozenset[str] | None:
        return self._small.convertible()

    def fetch_delist_announcements(self) -> list[Announcement]:
        """``delist_announcements``: Bybit's latest delisting announcements (bybit.delist)."""
        return delist.fetch_announcements(self._wire)

    # -- orders ------------------------------------------------------------------------------

    def market_sell(self, symbol: str, qty: Decimal, client_id: str) -> OrderResult:
        """Place the sell (never resent), then read the order back until it is final.

        The create answer carries ids only; fills and fees come from the order query. If the
        order is not visible within the short poll, status ``new`` is returned with the order id
        and the caller reconciles later with ``find_order``.
        """
        if not CLIENT_ID.match(client_id):
            raise ValueError(f"client id {client_id!r} must be 1-36 chars of [A-Za-z0-9_-]")
        if qty <= 0:
            raise ValueError(f"quantity must be positive, got {qty}")
        params = market_sell_params(symbol, qty, client_id)
        envelope = self._wire.call(
            "place_order",
            f"market sell {params['qty']} {symbol} ({client_id})",
            purpose=ORDER,
            retry=False,
            **params,
        )
        with self._wire.reading(f"read the answer to order {client_id}"):
            ack = parse.result_of(envelope)
            order_id = str(ack["orderId"]) if ack.get("orderId") else None
        known = self._poll_order(symbol, client_id)
        if known is not None:
            return known
        return OrderResult(symbol=symbol, client_id=client_id, order_id=order_id, status="new")

    def find_order(self, symbol: str, client_id: str) -> OrderResult | None:
        """The order by orderLinkId: open/recent orders first, then the history; None when
        neither knows it."""
        for method, where in (("get_open_orders", "open"), ("get_order_history", "history")):
            action = f"look up order {client_id} ({where})"
            envelope = self._wire.call(
                method, action, category="spot", symbol=symbol, orderLinkId=client_id
            )
            with self._wire.reading(action):
                rows = parse.result_of(envelope).get("list") or []
                row = next((r for r in rows if r.get("orderLinkId") == client_id), None)
                needs_fills = row is not None and parse.needs_execution_fee(row, symbol)
            if row is None:
                continue
            fee = self._execution_fee(symbol, client_id, row) if needs_fills else None
            with self._wire.reading(action):
                return parse.order(row, symbol, fee)
        return None

    def _poll_order(self, symbol: str, client_id: str) -> OrderResult | None:
        latest: OrderResult | None = None
        for delay in self._order_poll_delays:
            if delay:
                self._wire.sleep(delay)
            try:
                found = self.find_order(symbol, client_id)
            except ExchangeError:
                break  # the order was accepted: report what is known, the caller reconciles
            if found is not None:
                latest = found
                if found.final:
                    break
        return latest

    def _execution_fee(
        self, symbol: str, client_id: str, row: Mapping[str, Any]
    ) -> tuple[Decimal, str | None]:
        """Fee and fee coin from the fills when the order row has no cumFeeDetail.

        If the fills cannot be read, the deprecated cumExecFee is used without a coin rather
        than hiding an order that did execute.
        """
        action = f"read fills of order {client_id}"
        try:
            envelope = self._wire.call(
                "get_executions", action, category="spot", symbol=symbol, orderLinkId=client_id
            )
            with self._wire.reading(action):
                fills = parse.result_of(envelope).get("list") or []
                if fills:
                    return parse.fee_from_executions(fills)
        except ExchangeError:
            pass
        with self._wire.reading(action):
            return parse.dec(row.get("cumExecFee")), None

    # -- small-balance conversion (bybit.smallbalance) ---------------------------------------

    def preview_conversion(self, target: str) -> ConversionPreview:
        """A quote for the first 20 eligible coins (Bybit's per-quote maximum); use
        ``preview_conversion_all`` for the rest. Quotes last 30 s; ``convert`` re-quotes."""
        return self._small.previews(target, max_chunks=1)[0]

    def preview_conversion_all(self, target: str) -> list[ConversionPreview]:
        """One quote per chunk of at most 20 eligible coins (always at least one preview)."""
        return self._small.previews(target)

    def quote_conversion(self, target: str, assets: Sequence[str]) -> ConversionPreview:
        """A fresh quote (valid 30 s) for exactly ``assets``, at most 20; a coin Bybit will
        not convert is refused as ``ineligible``, never silently left out."""
        return self._small.quote(target, assets)

    def convert(
        self, preview: ConversionPreview, assets: list[str], client_id: str
    ) -> ConversionResult:
        return self._small.convert(preview, assets, client_id)

    def find_conversion(self, quote_id: str, target: str) -> ConversionResult | None:
        return self._small.find(quote_id, target)

    def last_conversion_ms(self) -> int | None:
        return self._small.last_conversion_ms()

    # -- regular Convert (bybit.convert): the converter's Convert-quote route ----------------

    def convert_pairs(
        self, from_asset: str | None = None, to_asset: str | None = None
    ) -> list[ConvertPair]:
        """Convert pairs with the from-coin's per-transaction limits (query-coin-list)."""
        return self.regular_convert.pairs(from_asset, to_asset)

    def convert_quote(self, from_asset: str, to_asset: str, amount: Decimal) -> ConvertQuote:
        """A quote (quote-apply, valid 15 s) selling ``amount`` of ``from_asset``; moves nothing."""
        return self.regular_convert.quote(from_asset, to_asset, amount)

    def convert_accept(self, quote_id: str) -> ConvertStatus:
        """Execute a quote (convert-execute, never resent); its order id is the quote id."""
        return self.regular_convert.accept(quote_id)

    def convert_status(self, order_id: str) -> ConvertStatus:
        """convert-result-query: init/processing pending, success/failure final."""
        return self.regular_convert.status(order_id)

    def convert_status_by_quote(self, quote_id: str) -> ConvertStatus | None:
        """The execution of a quote whose convert-execute answer was lost; None: none."""
        return self.regular_convert.status_by_quote(quote_id)

    # -- history sync (bybit.history) -------------------------------------------------------

    def history_pages(self, since_ms: int, until_ms: int) -> Iterator[list[LoggedConversion]]:
        """Small-balance and Convert history between the two times, a page at a time."""
        return self._history.pages(since_ms, until_ms)

    # -- doctor (bybit.checks) -----------------------------------------------------------------

    def check_access(self) -> list[tuple[str, bool, str]]:
        """(name, ok, detail) lines for `dustsweep doctor`; failures are reported, not raised."""
        return checks.check_access(self, self._wire)

    def close(self) -> None:
        self._wire.close()


def market_sell_params(symbol: str, qty: Decimal, client_id: str) -> dict[str, Any]:
    """The spot market sell's parameters: ``qty`` in plain decimal text (Bybit refuses an
    exponent), in the base coin."""
    return {
        "category": "spot",
        "symbol": symbol,
        "side": "Sell",
        "orderType": "Market",
        "qty": fmt(qty),
        "marketUnit": "baseCoin",
        "orderLinkId": client_id,
        "isLeverage": 0,
    }
