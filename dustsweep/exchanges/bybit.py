"""Bybit spot adapter over pybit (V5 API, unified trading account).

The only module that imports pybit. It owns the wire: one pybit session per thread, the clock
offset on every signed request, the request budget, bounded retries of reads, and the translation
of every pybit/requests failure into ``dustsweep.errors`` (table in ``bybit_errors``). The
SDK-free helpers do the rest over the ``Wire`` protocol: payload parsing (``bybit_parse``), the
small-balance conversion flow (``bybit_smallbalance``), regular Convert (``bybit_convert``, also
offered as the ``convert_*`` methods of the converter's Convert-quote route).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import requests
from pybit import _helpers as pybit_helpers
from pybit.exceptions import FailedRequestError, InvalidRequestError
from pybit.unified_trading import HTTP

from dustsweep.bans import REGISTRY as BANS
from dustsweep.core.lots import fmt
from dustsweep.core.models import (
    Balance,
    ConversionPreview,
    ConversionResult,
    MarketRules,
    OrderResult,
)
from dustsweep.errors import (
    AuthError,
    Banned,
    ExchangeError,
    NetworkError,
    RateLimited,
    ServerError,
)
from dustsweep.exchanges import bybit_convert as convert_api
from dustsweep.exchanges import bybit_parse as parse
from dustsweep.exchanges.base import Capabilities, Credentials, OrderPacing
from dustsweep.exchanges.bybit_errors import (
    ORDER,
    READ,
    CallContext,
    from_bad_payload,
    from_http_status,
    from_network,
    from_ret_code,
    is_unavailable,
)
from dustsweep.exchanges.bybit_limits import RateBudget
from dustsweep.exchanges.bybit_smallbalance import TARGETS, SmallBalanceConverter
from dustsweep.exchanges.signing import QUERY_SAFE, encode_params

DEFAULT_BASE_URL = "https://api.bybit.com"
READ_RETRIES = 2
MAX_RETRY_WAIT_S = 30.0
# Back-off before the extra attempts of a read after a 5xx, a timeout or a truncated body.
READ_FAILURE_WAITS_S: tuple[float, ...] = (0.25, 1.0)
MAX_CLOCK_OFFSET_MS = 1000
# After an order is accepted Bybit answers with ids only; the fill is read back. A market order
# is final within milliseconds, so a short poll suffices; the caller reconciles anything slower.
ORDER_POLL_DELAYS: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)
# Small-balance conversions are asynchronous (init -> processing -> final).
CONVERSION_POLL_DELAYS: tuple[float, ...] = (0.0, 0.2, 0.3, 0.5, 1.0, 1.0, 2.0, 2.0, 3.0)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")

_PYBIT_LOGGER = logging.getLogger("pybit._http_manager")
# With no handler anywhere, Python's last-resort handler would print pybit's warnings.
logging.getLogger("pybit").addHandler(logging.NullHandler())
_CONSTRUCT_LOCK = threading.Lock()


class _Clock:
    """The measured server - local offset (ms), shared by every session of one adapter."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def server_now_ms(self) -> int:
        return int(time.time() * 1000) + self.offset_ms


class _Session(HTTP):  # type: ignore[misc]  # pybit ships no type information
    """pybit's HTTP with the adapter's clock offset applied to every signed request, and GET
    query strings percent-encoded before they are signed.

    pybit has no offset option: ``_V5HTTPManager._prepare_headers`` stamps each signed request
    with ``pybit._helpers.generate_timestamp()``, a process-wide function. Patching that function
    would shift every pybit client in the process and need a registry to know whose offset
    applies. Overriding ``_prepare_headers`` in this subclass is the narrowest hook: it changes
    only dustsweep's sessions, and since both the ``X-BAPI-TIMESTAMP`` header and the signed
    string are built here, the two can never disagree. The body mirrors pybit 5.17's own method
    (tests compare the headers with pybit's), only the timestamp differs.
    """

    dustsweep_clock: _Clock

    @staticmethod
    def prepare_payload(method: str, parameters: dict[str, Any]) -> str:
        """pybit joins GET parameters unencoded and signs that, then requests percent-encodes
        whatever is not ASCII when it sends: a non-ASCII symbol is signed in one form and sent
        in another, and Bybit answers 10004. Here the query is encoded once (sorted like
        pybit's) so the string signed is the string sent; requests leaves it as it is. What
        requests would not touch either (a comma list, ``:``, ``/``) stays raw, as pybit has
        always sent it. POST bodies are JSON pybit serialises once and sends as signed."""
        if method == "GET":
            return encode_params(sorted(parameters.items()), QUERY_SAFE)
        payload: str = HTTP.prepare_payload(method, parameters)
        return payload

    def _prepare_headers(
        self, payload: str | bytes, recv_window: int, content_type: str = "application/json"
    ) -> dict[str, str]:
        timestamp = pybit_helpers.generate_timestamp() + self.dustsweep_clock.offset_ms
        if isinstance(payload, bytes):
            signature = self._auth_binary(
                payload=payload, recv_window=recv_window, timestamp=timestamp
            )
        else:
            signature = self._auth(payload=payload, recv_window=recv_window, timestamp=timestamp)
        return {
            "Content-Type": content_type,
            "X-BAPI-API-KEY": self.api_key,
            "X-BAPI-SIGN": signature,
            "X-BAPI-SIGN-TYPE": "2",
            "X-BAPI-TIMESTAMP": str(timestamp),
            "X-BAPI-RECV-WINDOW": str(recv_window),
        }

    def __repr__(self) -> str:  # the dataclass repr would print api_key and api_secret
        return f"<bybit session {self.endpoint}>"


def _new_session(credentials: Credentials, base_url: str, clock: _Clock) -> _Session:
    """A pybit session configured so that pybit itself never retries, logs or prints.

    ``max_retries=1`` + ``retry_codes={-1}``: pybit would otherwise resend on 10002/10006 (also
    an order create) and lose the original code; an empty set silently means "defaults" and
    ``max_retries=0`` crashes. pybit adds a stderr handler per session when the root logger has
    none; it is removed again so ``--quiet`` stays quiet. ``log_requests`` would log the key.
    """
    with _CONSTRUCT_LOCK:
        before = list(_PYBIT_LOGGER.handlers)
        session = _Session(
            api_key=credentials.api_key,
            api_secret=credentials.api_secret,
            timeout=credentials.timeout,
            recv_window=credentials.recv_window_ms,
            max_retries=1,
            retry_codes={-1},
            retry_delay=0,
            force_retry=False,
            log_requests=False,
            return_response_headers=True,
        )
        for handler in list(_PYBIT_LOGGER.handlers):
            if handler not in before:
                _PYBIT_LOGGER.removeHandler(handler)
    session.endpoint = base_url
    session.dustsweep_clock = clock
    if urlsplit(base_url).hostname in LOOPBACK_HOSTS:
        session.client.trust_env = False  # never route the local simulator through a proxy
    return session


class _Wire:
    """The transport of one adapter: per-thread pybit sessions, the request budget, bounded
    retries of reads, and every pybit/requests failure translated into dustsweep errors.

    pybit sessions (a ``requests.Session`` each) are not thread-safe, and the caller runs
    balances, prices and orders of one account concurrently: each thread lazily gets its own
    session, all configured identically and sharing the clock offset and the budget.
    """

    def __init__(self, credentials: Credentials, sleep: Callable[[float], None]) -> None:
        self.account = credentials.account
        self.base_url = (credentials.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.host = urlsplit(self.base_url).netloc or self.base_url
        self.clock = _Clock()
        self._credentials = credentials
        self._sleep = sleep
        self._secrets = (credentials.api_key, credentials.api_secret)
        self._budget = RateBudget()
        self._local = threading.local()
        self._sessions: list[_Session] = []
        self._sessions_lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        self._sleep(seconds)

    def server_now_ms(self) -> int:
        return self.clock.server_now_ms()

    def call(
        self, method: str, action: str, *, purpose: str = READ, retry: bool = True, **params: Any
    ) -> Mapping[str, Any]:
        """Call a pybit method; returns the V5 envelope or raises a dustsweep error.

        Pauses first while the endpoint's budget is more than 90 % used. A RateLimited answer
        is waited out and retried (at most twice, waits up to 30 s) only when ``retry``: reads
        and quotes, never an order or a conversion execution. With ``retry`` a 5xx, a timeout
        or an undecodable body is also retried twice after a short back-off: they move nothing.
        """
        ctx = CallContext(self.account, self.host, action, purpose, self._secrets)
        attempt = failures = 0
        while True:
            pause = self._budget.pause_before(method, self.server_now_ms())
            if pause > 0:
                self._sleep(pause)
            BANS.check("bybit", self.host, self.account)  # a ban stops every worker at once
            try:
                return self._send(ctx, method, params)
            except Banned as exc:
                BANS.record("bybit", self.host, exc)
                raise
            except RateLimited as exc:
                wait = exc.retry_after
                if not retry or attempt >= READ_RETRIES or wait is None or wait > MAX_RETRY_WAIT_S:
                    raise
                attempt += 1
                self._sleep(wait)
            except (ServerError, NetworkError):
                if not retry or failures >= len(READ_FAILURE_WAITS_S):
                    raise
                self._sleep(READ_FAILURE_WAITS_S[failures])
                failures += 1

    @contextmanager
    def reading(self, action: str) -> Iterator[None]:
        """Report an answer we cannot read as a ServerError naming the account and the call."""
        try:
            yield
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            ctx = CallContext(self.account, self.host, action, READ, self._secrets)
            raise from_bad_payload(ctx, exc) from None

    def close(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.client.close()
        self._local = threading.local()

    def _session(self) -> _Session:
        session: _Session | None = getattr(self._local, "session", None)
        if session is None:
            session = _new_session(self._credentials, self.base_url, self.clock)
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def _send(self, ctx: CallContext, method: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
        session = self._session()
        try:
            envelope, _elapsed, headers = getattr(session, method)(**dict(params))
        except InvalidRequestError as exc:
            self._budget.observe(method, exc.resp_headers)
            now = self.server_now_ms()
            error = from_ret_code(ctx, int(exc.status_code), exc.message, exc.resp_headers, now)
            raise error from None  # pybit's text repeats the request; a 10004 echoes the key
        except FailedRequestError as exc:
            self._budget.observe(method, exc.resp_headers)
            raise from_http_status(
                ctx,
                int(exc.status_code),
                exc.resp_headers,
                self.server_now_ms(),
                undecodable=exc.request == "JSON decoding",
            ) from None
        except requests.exceptions.RequestException as exc:
            raise from_network(ctx, exc, self._credentials.timeout) from None
        except PermissionError:
            raise AuthError(f"{ctx.prefix()}: no API key/secret configured") from None
        except (TypeError, AttributeError, KeyError, ValueError) as exc:
            # pybit indexes the decoded body unchecked: JSON that is not an object ends here.
            raise from_bad_payload(ctx, exc) from None
        self._budget.observe(method, headers)
        if not isinstance(envelope, Mapping):
            raise from_bad_payload(ctx, TypeError("the answer is not a JSON object"))
        return envelope


class BybitExchange:
    """A Bybit unified trading account (UTA), spot only. Thread-safe.

    ``sleep`` is injected so tests run back-off and polling without waiting; the poll delays
    bound how long ``market_sell`` and ``convert`` wait for a final state.
    """

    name = "bybit"
    capabilities = Capabilities(
        order_pacing=OrderPacing(18, 1.0),
        native_targets=("MNT", "USDT", "USDC"),
        conversion_batch_limit=20,
        conversion_quote_ttl_ms=30_000,
        previews_in_batches=True,
        quotes_exact_assets=True,
        finds_conversion=True,
        rfq_convert=True,
        rfq_status_by_quote=True,
    )
    native_targets: tuple[str, ...] = TARGETS
    convertible_target: str | None = None  # the small-balance list holds for every target

    def __init__(
        self,
        credentials: Credentials,
        *,
        sleep: Callable[[float], None] = time.sleep,
        order_poll_delays: Sequence[float] = ORDER_POLL_DELAYS,
        conversion_poll_delays: Sequence[float] = CONVERSION_POLL_DELAYS,
    ) -> None:
        self.account = credentials.account
        self._wire = _Wire(credentials, sleep)
        self.host = self._wire.host
        self._order_poll_delays = tuple(order_poll_delays)
        self._small = SmallBalanceConverter(self._wire, conversion_poll_delays)
        self.regular_convert = convert_api.RegularConvert(self._wire, conversion_poll_delays)

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

    # -- small-balance conversion (bybit_smallbalance) ---------------------------------------

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

    # -- regular Convert (bybit_convert): the converter's Convert-quote route ----------------

    def convert_pairs(
        self, from_asset: str | None = None, to_asset: str | None = None
    ) -> list[convert_api.ConvertPair]:
        """Convert pairs with the from-coin's per-transaction limits (query-coin-list)."""
        return self.regular_convert.pairs(from_asset, to_asset)

    def convert_quote(
        self, from_asset: str, to_asset: str, amount: Decimal
    ) -> convert_api.ConvertQuote:
        """A quote (quote-apply, valid 15 s) selling ``amount`` of ``from_asset``; moves nothing."""
        return self.regular_convert.quote(from_asset, to_asset, amount)

    def convert_accept(self, quote_id: str) -> convert_api.ConvertStatus:
        """Execute a quote (convert-execute, never resent); its order id is the quote id."""
        return self.regular_convert.accept(quote_id)

    def convert_status(self, order_id: str) -> convert_api.ConvertStatus:
        """convert-result-query: init/processing pending, success/failure final."""
        return self.regular_convert.status(order_id)

    def convert_status_by_quote(self, quote_id: str) -> convert_api.ConvertStatus | None:
        """The execution of a quote whose convert-execute answer was lost; None: none."""
        return self.regular_convert.status_by_quote(quote_id)

    # -- doctor -------------------------------------------------------------------------------

    def check_access(self) -> list[tuple[str, bool, str]]:
        """(name, ok, detail) lines for `dustsweep doctor`; failures are reported, not raised."""
        lines: list[tuple[str, bool, str]] = []
        try:
            offset = self.sync_clock()
            lines.append(
                (
                    "clock",
                    abs(offset) <= MAX_CLOCK_OFFSET_MS,
                    f"offset {offset:+d} ms, applied to every signed request "
                    f"(must be within ±{MAX_CLOCK_OFFSET_MS} ms)",
                )
            )
        except ExchangeError as exc:
            lines.append(("clock", False, str(exc)))
        try:
            self.fetch_balances()
            lines.append(("api key", True, "accepted (a signed read succeeded)"))
            lines.append(("read balances", True, "wallet-balance (UNIFIED) readable"))
        except AuthError as exc:
            lines.append(("api key", False, str(exc)))
            return lines
        except ExchangeError as exc:
            lines.append(("read balances", False, str(exc)))
        try:
            envelope = self._wire.call("get_api_key_information", "read API key information")
            with self._wire.reading("read API key information"):
                lines.extend(parse.key_checks(parse.result_of(envelope)))
        except ExchangeError as exc:
            detail = (
                "key information is not offered on this host (demo trading?): check the "
                "key's permissions on the website"
                if is_unavailable(exc)
                else str(exc)
            )
            lines.append(("key permissions", False, detail))
        try:
            reachable = self.fetch_convertible() is not None
            lines.append(
                (
                    "conversion endpoint",
                    reachable,
                    "small-balance conversion reachable"
                    if reachable
                    else "small-balance conversion unavailable for this key or host (demo?)",
                )
            )
        except ExchangeError as exc:
            lines.append(("conversion endpoint", False, str(exc)))
        return lines

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
