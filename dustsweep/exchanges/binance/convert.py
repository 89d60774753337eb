"""Binance Convert (RFQ quotes, /sapi/v1/convert/*) for the Binance adapter. Imports no SDK.

A mixin so ``BinanceExchange`` offers these calls directly; it only needs the adapter's
transport. Convert pairs have their own minimum amounts, often far above dust, so this path
suits "small but not tiny" leftovers. Accepting a quote moves money and is never retried.
"""

from __future__ import annotations

from decimal import Decimal

from dustsweep.core.lots import fmt
from dustsweep.errors import ConversionRejected, ExchangeError
from dustsweep.exchanges.binance import convert_parse as rfq
from dustsweep.exchanges.binance.convert_parse import ConvertOrder, ConvertPair, ConvertQuote
from dustsweep.exchanges.binance.errors import CONVERT
from dustsweep.exchanges.binance.transport import BinanceTransport

NO_SUCH_ORDER = -2013  # "Order does not exist."


class ConvertApi:
    """``convert_pairs``, ``convert_quote``, ``convert_accept``, ``convert_status`` and
    ``convert_status_by_quote``."""

    _transport: BinanceTransport

    def convert_pairs(
        self, from_asset: str | None = None, to_asset: str | None = None
    ) -> list[ConvertPair]:
        """Pairs and their limits (GET /sapi/v1/convert/exchangeInfo, unsigned).

        Weight 3000 of a 12,000/min budget: an asset filter is required.
        """
        if not from_asset and not to_asset:
            raise ValueError("convert_pairs needs from_asset or to_asset (weight 3000 unfiltered)")
        params = {k: v for k, v in (("fromAsset", from_asset), ("toAsset", to_asset)) if v}
        t = self._transport
        return t.read(
            t.ctx("read Convert pairs (GET /sapi/v1/convert/exchangeInfo)"),
            lambda c: c.margin_v1_get_convert_exchange_info(**params),
            rfq.convert_pairs,
        )

    def convert_quote(self, from_asset: str, to_asset: str, amount: Decimal) -> ConvertQuote:
        """A quote for selling ``amount`` of ``from_asset``; no quote id = not enough funds.

        Asking for a quote moves nothing, so it is retried like a read.
        """
        t = self._transport
        ctx = t.ctx(
            f"quote {fmt(amount)} {from_asset}->{to_asset} (POST /sapi/v1/convert/getQuote)",
            CONVERT,
        )
        quote = t.read(
            ctx,
            lambda c: c.convert_request_quote(
                fromAsset=from_asset, toAsset=to_asset, fromAmount=fmt(amount)
            ),
            lambda body: rfq.convert_quote(body, from_asset, to_asset),
        )
        if quote is None:
            raise ConversionRejected(
                ctx.message("no quote id in the answer", f"not enough free {from_asset}"),
                kind="insufficient",
            )
        return quote

    def convert_accept(self, quote_id: str) -> ConvertOrder:
        """Accept a quote (never retried); poll ``convert_status`` until it is final."""
        t = self._transport
        ctx = t.ctx(f"accept Convert quote {quote_id} (POST /sapi/v1/convert/acceptQuote)", CONVERT)
        body = t.call(ctx, lambda c: c.convert_accept_quote(quoteId=quote_id), is_read=False)
        return t.parse(ctx, body, rfq.convert_order)

    def convert_status(self, order_id: str) -> ConvertOrder:
        """GET /sapi/v1/convert/orderStatus: PROCESS/ACCEPT_SUCCESS pending, SUCCESS/FAIL final."""
        t = self._transport
        return t.read(
            t.ctx(f"read Convert order {order_id} (GET /sapi/v1/convert/orderStatus)"),
            lambda c: c.margin_v1_get_convert_order_status(orderId=order_id),
            rfq.convert_order,
        )

    def convert_status_by_quote(self, quote_id: str) -> ConvertOrder | None:
        """The order an accepted quote became (GET /sapi/v1/convert/orderStatus?quoteId=...);
        None when the exchange has no order for it (-2013).

        Settles an acceptQuote whose answer was lost, without the order id and with amounts.
        None proves "never accepted" only once the quote can no longer be accepted (after its
        ``valid_until_ms``): before that an accept may still be on its way.
        """
        t = self._transport
        ctx = t.ctx(f"read Convert order of quote {quote_id} (GET /sapi/v1/convert/orderStatus)")
        try:
            return t.read(
                ctx,
                lambda c: c.margin_v1_get_convert_order_status(quoteId=quote_id),
                rfq.convert_order,
            )
        except ExchangeError as err:
            if err.code == NO_SUCH_ORDER:
                return None
            raise
