"""The Binance spot adapter over python-binance: the only module that imports the SDK (lazily).

It decides *what* to call for each Exchange method; ``binance.transport`` decides *how*
(per-thread clients, clock offset, error translation, read retries, weight pacing), and
``binance.dust`` makes the small-balance conversion calls; ``binance.parse`` /
``binance.smallbalance`` / ``binance.convert_parse`` turn JSON into domain
types; ``binance.checks`` builds the ``doctor`` rows. Orders and conversions are
never retried: after a NetworkError/ServerError their outcome is unknown and the caller
reconciles (``find_order``, ``last_conversion_ms``).
"""

from __future__ import annotations

import functools
import re
import time
import warnings
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

from dustsweep.core.lots import fmt
from dustsweep.core.models import (
    Balance,
    MarketRules,
    OrderResult,
)
from dustsweep.errors import (
    ExchangeError,
)
from dustsweep.exchanges.base import Credentials
from dustsweep.exchanges.binance import checks, parse
from dustsweep.exchanges.binance import smallbalance as dust
from dustsweep.exchanges.binance.capabilities import CAPABILITIES
from dustsweep.exchanges.binance.convert import ConvertApi
from dustsweep.exchanges.binance.delist import DelistApi
from dustsweep.exchanges.binance.dust import DustApi
from dustsweep.exchanges.binance.errors import ORDER, READ, CallContext, unavailable
from dustsweep.exchanges.binance.history import HistoryApi
from dustsweep.exchanges.binance.transport import BinanceTransport, SdkParts

_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,36}$")


@functools.cache
def _sdk() -> SdkParts:
    """Import python-binance on first use (~0.6 s), silencing its websockets deprecation.
    The client is dustsweep's subclass that signs exactly what it sends (binance.client)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from dustsweep.exchanges.binance.sdk_import import import_client_module

        import_client_module()  # binance.client without binance/__init__ (aiohttp, websockets)
        from binance.exceptions import BinanceAPIException, BinanceRequestException

        from dustsweep.exchanges.binance.client import SigningClient
    return SdkParts(SigningClient, BinanceAPIException, BinanceRequestException)


class BinanceExchange(DustApi, ConvertApi, DelistApi, HistoryApi):
    """A Binance spot account: the ``Exchange`` protocol (its small-balance conversion in
    ``binance.dust``), ``check_access``, Convert, the delisting schedule and the exchange's
    own conversion logs."""

    name = "binance"
    capabilities = CAPABILITIES
    # The record's fields under their old names, until the core reads ``capabilities``.
    native_targets: tuple[str, ...] = CAPABILITIES.native_targets
    convertible_target: str | None = CAPABILITIES.eligibility_target

    def __init__(
        self, credentials: Credentials, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.account = credentials.account
        self._transport = BinanceTransport(credentials, _sdk, sleep)

    @property
    def clock_offset_ms(self) -> int:
        return self._transport.offset_ms

    @clock_offset_ms.setter
    def clock_offset_ms(self, offset_ms: int) -> None:
        self._transport.offset_ms = int(offset_ms)

    def _ctx(self, action: str, kind: str = READ) -> CallContext:
        return self._transport.ctx(action, kind)

    # -- clock --------------------------------------------------------------------------

    def sync_clock(self) -> int:
        """Measure server - local time from GET /api/v3/time (at the request's midpoint)."""

        def timed(client: Any) -> object:
            before = time.time() * 1000  # around the request only, not the SDK import
            body = client.get_server_time()
            return before, body, time.time() * 1000

        def offset_of(answer: object) -> int:
            before, body, after = cast(tuple[float, object, float], answer)
            server = int(parse.as_dict(body, "time")["serverTime"])
            return round(server - (before + after) / 2)

        offset = self._transport.read(
            self._ctx("read the server time (GET /api/v3/time)"), timed, offset_of
        )
        self.set_clock_offset(offset)
        return offset

    def set_clock_offset(self, offset_ms: int) -> None:
        self.clock_offset_ms = int(offset_ms)

    # -- reads --------------------------------------------------------------------------

    def fetch_balances(self) -> list[Balance]:
        return self._transport.read(
            self._ctx("read balances (GET /api/v3/account)"),
            lambda c: c.get_account(omitZeroBalances="true"),
            parse.parse_balances,
        )

    def fetch_markets(self) -> list[MarketRules]:
        def shape(body: object) -> list[MarketRules]:
            limit = parse.weight_limit(parse.as_dict(body, "exchangeInfo"))
            if limit:
                self._transport.budget.set_limit(limit)
            return parse.parse_markets(body)

        return self._transport.read(
            self._ctx("read market rules (GET /api/v3/exchangeInfo)"),
            # Permission sets are not needed and make the answer several MB larger.
            lambda c: c._get("exchangeInfo", data={"showPermissionSets": "false"}),
            shape,
        )

    def fetch_prices(self) -> dict[str, Decimal]:
        return self._transport.read(
            self._ctx("read prices (GET /api/v3/ticker/price)"),
            lambda c: c._get("ticker/price"),
            parse.parse_prices,
        )

    def notional_price(self, symbol: str) -> Decimal | None:
        """The price Binance values a MARKET order at for NOTIONAL / MIN_NOTIONAL: the average
        over ``avgPriceMins`` (GET /api/v3/avgPrice), not the last trade. None if not given."""
        return self._transport.read(
            self._ctx(f"read the average price of {symbol} (GET /api/v3/avgPrice)"),
            lambda c: c.get_avg_price(symbol=symbol),
            _avg_price,
        )

    def fetch_convertible(self) -> frozenset[str] | None:
        """dust-btc's asset list; None when the endpoint is unavailable (testnet, no right)."""
        try:
            return self._transport.read(
                self._ctx("read dust->BNB eligibility (POST /sapi/v1/asset/dust-btc)"),
                lambda c: c.get_dust_assets(),
                dust.convertible_assets,
            )
        except ExchangeError as err:
            if unavailable(err):
                return None
            raise

    # -- orders -------------------------------------------------------------------------

    def market_sell(self, symbol: str, qty: Decimal, client_id: str) -> OrderResult:
        """MARKET SELL ``qty`` with a FULL answer; the fee comes from its fills.

        Never retried: a NetworkError/ServerError leaves the outcome unknown and the caller
        reconciles with ``find_order``.
        """
        if not _CLIENT_ID_RE.match(client_id):
            raise ValueError(f"client id {client_id!r}: need 1-36 of [A-Za-z0-9_-]")
        if qty <= 0:
            raise ValueError(f"quantity must be positive, got {fmt(qty)}")
        params = market_sell_params(symbol, qty, client_id)
        ctx = self._ctx(
            f"market sell {params['quantity']} {symbol} (POST /api/v3/order, id {client_id})",
            ORDER,
        )
        body = self._transport.call(ctx, lambda c: c.order_market_sell(**params), is_read=False)
        result = self._transport.parse(
            ctx, body, lambda data: parse.parse_order(data, symbol, client_id)
        )
        if result.filled_qty > 0 and result.fee_asset is None:
            result = self._with_trade_fees(result, best_effort=True)
        return result

    def find_order(self, symbol: str, client_id: str) -> OrderResult | None:
        """GET /api/v3/order by client id; -2013 -> None, -2026 (archived) -> cancelled.

        A fill's fee is not in the order answer, so GET /api/v3/myTrades adds it.
        """
        try:
            result = self._transport.read(
                self._ctx(f"look up order {client_id} on {symbol} (GET /api/v3/order)"),
                lambda c: c.get_order(symbol=symbol, origClientOrderId=client_id),
                lambda body: parse.parse_order(body, symbol, client_id),
            )
        except ExchangeError as err:
            if err.code == -2013:
                return None
            if err.code == -2026:
                return OrderResult(symbol, client_id, None, status="cancelled")
            raise
        if result.filled_qty > 0:
            result = self._with_trade_fees(result, best_effort=False)
        return result

    def _with_trade_fees(self, result: OrderResult, *, best_effort: bool) -> OrderResult:
        """Add the fee from the order's trades. After a placed order (best effort) a failed
        lookup must not hide the fill, so the result is then returned without a fee."""
        try:
            trades = self._transport.read(
                self._ctx(f"read fills of order {result.order_id} (GET /api/v3/myTrades)"),
                lambda c: c.get_my_trades(symbol=result.symbol, orderId=result.order_id),
                lambda body: parse.order_trades(body, result.order_id),
            )
        except ExchangeError:
            if best_effort:
                return result
            raise
        fee, fee_asset = parse.fee_total(result.symbol, trades)
        return OrderResult(
            result.symbol,
            result.client_id,
            result.order_id,
            result.status,
            result.filled_qty,
            result.quote_qty,
            fee,
            fee_asset,
        )

    # -- diagnostics (binance.checks) -------------------------------------------------------

    def check_access(self) -> list[tuple[str, bool, str]]:
        """Rows for ``dustsweep doctor``: (check, ok, detail). Exchange errors become rows."""
        return checks.check_access(self, self._transport)

    def close(self) -> None:
        self._transport.close()


def _avg_price(body: object) -> Decimal | None:
    """``{"mins": 5, "price": "9.35751834", ...}`` -> the price (None when absent or zero)."""
    if not isinstance(body, dict):
        return None
    try:
        price = Decimal(str(body.get("price")))
    except ArithmeticError:
        return None
    return price if price.is_finite() and price > 0 else None


def market_sell_params(symbol: str, qty: Decimal, client_id: str) -> dict[str, str]:
    """The MARKET SELL request's parameters: the quantity in plain decimal text (Binance
    refuses an exponent: -1100 illegal characters)."""
    return {
        "symbol": symbol,
        "quantity": fmt(qty),
        "newClientOrderId": client_id,
        "newOrderRespType": "FULL",
    }
