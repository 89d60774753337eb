"""How the Binance adapter calls python-binance: clients per thread, errors, retries, pacing.

The SDK itself is handed in (``binance.adapter`` imports it lazily; nothing else may), so this
module holds only policy:
- one SDK client per thread, built on first use and configured identically: python-binance
  keeps the last response on the client and requests sessions are not thread-safe;
- the clock offset goes on every signed request (``timestamp_offset``);
- every SDK / requests error becomes a ``dustsweep.errors`` type (``binance.errors``);
- a read (idempotent: it moves nothing) is retried after a rate limit of at most 30 s, and
  after a 5xx, a timeout or a truncated body with a short back-off (twice at most each); an
  order or a conversion execution never is, since its outcome may be unknown (the one loop in
  ``exchanges.retry``, shared with Bybit);
- before any call, a nearly spent weight budget (X-MBX-USED-WEIGHT-1M) pauses until the window
  resets, through the injected ``sleep`` so tests stay fast.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

import requests

from dustsweep.exchanges.base import Credentials
from dustsweep.exchanges.binance import parse
from dustsweep.exchanges.binance.budget import WeightBudget
from dustsweep.exchanges.binance.errors import (
    READ,
    CallContext,
    bad_body,
    from_api_error,
    network_failure,
)
from dustsweep.exchanges.retry import Endpoint, call_with_retries
from dustsweep.exchanges.signing import signer_for

T = TypeVar("T")

PRODUCTION_URL = "https://api.binance.com"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_MIN_REDACT_LEN = 6
# What a parser raises on a body that is not shaped like the endpoint's answer.
SHAPE_ERRORS = (parse.ShapeError, TypeError, KeyError, AttributeError, ValueError)


class SdkParts(NamedTuple):
    """The three things taken from python-binance: the client class (dustsweep's signing
    subclass, ``binance.client.SigningClient``) and its two errors."""

    client: Any
    api_error: type[Exception]
    request_error: type[Exception]


def _was_signed(response: Any) -> bool:
    """Whether the request behind ``response`` carried a signature (query or form body)."""
    request = getattr(response, "request", None)
    url = str(getattr(request, "url", "") or "")
    body = getattr(request, "body", None) or ""
    text = body.decode("latin-1") if isinstance(body, bytes) else str(body)
    return "signature=" in url or "signature=" in text


def base_url(configured: str | None) -> str:
    """The host root: a trailing "/" and "/api" are stripped (``/sapi`` lives beside it)."""
    base = (configured or PRODUCTION_URL).rstrip("/")
    return base.removesuffix("/api").rstrip("/")


class BinanceTransport:
    """Calls the SDK for one account; see the module docstring for the policy."""

    def __init__(
        self,
        credentials: Credentials,
        sdk: Callable[[], SdkParts],
        sleep: Callable[[float], None],
    ) -> None:
        self.account = credentials.account
        self.offset_ms = 0
        self.budget = WeightBudget()
        self._creds = credentials
        self._sdk = sdk
        self._sleep = sleep
        self._base = base_url(credentials.base_url)
        parts = urlsplit(self._base)
        self.host = parts.netloc or self._base
        self._loopback = (parts.hostname or "") in _LOOPBACK
        self._local = threading.local()
        self._clients: list[Any] = []
        self._loops: list[asyncio.AbstractEventLoop] = []
        self._lock = threading.Lock()
        self._signed_ok = False  # a signed request succeeded in this run (see ctx)
        self._endpoint = Endpoint("binance", self.host, self.account)

    def ctx(self, action: str, kind: str = READ) -> CallContext:
        """The context every error message of this call is built from. Once a signed request
        has succeeded, a -1022 is reported as that request's signing problem, not the key's."""
        return CallContext(
            self.account,
            self.host,
            action,
            kind,
            self._redact,
            self._signed_ok,
            self._creds.key_type,
        )

    def _redact(self, text: str) -> str:
        """Belt and braces: messages are built without secrets, but an echo is removed too
        (very short test strings are skipped, or every message would be mangled)."""
        for secret in (self._creds.api_secret, self._creds.api_key):
            if len(secret) >= _MIN_REDACT_LEN:
                text = text.replace(secret, "<hidden>")
        return text

    def server_now_ms(self) -> int:
        return int(time.time() * 1000) + self.offset_ms

    def client(self) -> Any:
        """This thread's SDK client, built lazily."""
        client = getattr(self._local, "client", None)
        if client is None:
            creds = self._creds
            self._give_thread_a_loop()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                client = self._sdk().client(
                    creds.api_key,
                    signer_for(creds),  # the SDK never holds the secret or the private key
                    ping=False,  # the default pings production
                    requests_params={"timeout": creds.timeout},
                )
            client.API_URL = f"{self._base}/api"
            client.MARGIN_API_URL = f"{self._base}/sapi"  # never testnet=True: /sapi -> prod
            client.REQUEST_RECVWINDOW = creds.recv_window_ms
            if self._loopback:
                client.session.trust_env = False  # no proxy from the environment for loopback
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def _give_thread_a_loop(self) -> None:
        """python-binance's constructor grabs (or silently creates) this thread's asyncio loop
        for websockets it never opens here. Creating it ourselves lets ``close`` close it,
        instead of leaving one unclosed loop per worker thread."""
        if threading.current_thread() is threading.main_thread():
            return
        try:
            asyncio.get_event_loop()
        except RuntimeError:  # no loop in this thread yet
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            with self._lock:
                self._loops.append(loop)

    def read(
        self, ctx: CallContext, request: Callable[[Any], object], shape: Callable[[object], T]
    ) -> T:
        """A read: retried after a short rate limit, then parsed by ``shape``."""
        body = self.call(ctx, request, is_read=True)
        return self.parse(ctx, body, shape)

    def parse(self, ctx: CallContext, body: object, shape: Callable[[object], T]) -> T:
        """A body of the wrong shape is an unreadable answer (ServerError), never a crash."""
        try:
            return shape(body)
        except SHAPE_ERRORS as exc:
            raise bad_body(ctx, str(exc)) from None

    def call(self, ctx: CallContext, request: Callable[[Any], object], *, is_read: bool) -> object:
        """Run one SDK call and translate its errors; retry only reads (``exchanges.retry``)."""
        return call_with_retries(
            self._endpoint,
            functools.partial(self._call_once, ctx, request, is_read=is_read),  # no extra frame
            retry=is_read,
            sleep=self._sleep,
            pace=self._pace,
        )

    def _pace(self) -> None:
        """Wait out a nearly spent weight budget before the next request."""
        pause = self.budget.pause_s(self.server_now_ms())
        if pause > 0:
            self._sleep(pause)
            self.budget.waited()

    def _call_once(
        self, ctx: CallContext, request: Callable[[Any], object], *, is_read: bool
    ) -> object:
        sdk = self._sdk()
        client = self.client()
        client.timestamp_offset = self.offset_ms
        client.response = None  # so a failure below can tell whether an answer arrived
        try:
            body = request(client)
        except sdk.api_error as exc:
            response = getattr(exc, "response", None)
            headers = dict(getattr(response, "headers", None) or {})
            self.budget.observe(headers, self.server_now_ms())
            raise from_api_error(
                ctx,
                status=int(getattr(exc, "status_code", 0) or 0),
                code=getattr(exc, "code", None) or None,
                msg=str(getattr(exc, "message", "") or ""),
                headers=headers,
            ) from None  # the SDK error holds the request, whose URL holds the signature
        except sdk.request_error as exc:  # a 2xx whose body is not JSON
            raise bad_body(ctx, str(getattr(exc, "message", "") or "")) from None
        except requests.exceptions.RequestException as exc:
            raise network_failure(
                ctx,
                timed_out=isinstance(exc, requests.exceptions.Timeout),
                timeout_s=self._creds.timeout,
                outcome_unknown=not is_read,
            ) from None
        except (AttributeError, TypeError, ValueError) as exc:
            # python-binance itself trips over some answers (an error body of JSON ``null``
            # or a list): translate by the HTTP status if an answer did arrive.
            response = getattr(client, "response", None)
            if response is None:
                raise  # nothing was received: a programming error, not the exchange's
            raise self._odd_answer(ctx, response, exc) from None
        response = getattr(client, "response", None)
        if response is not None:
            self.budget.observe(dict(response.headers), self.server_now_ms())
            self._signed_ok = self._signed_ok or _was_signed(response)
        return body

    def _odd_answer(self, ctx: CallContext, response: Any, exc: Exception) -> Exception:
        status = int(getattr(response, "status_code", 0) or 0)
        headers = dict(getattr(response, "headers", None) or {})
        self.budget.observe(headers, self.server_now_ms())
        if 200 <= status < 300:
            return bad_body(ctx, f"{type(exc).__name__}: {exc}")
        text = str(getattr(response, "text", "") or "")
        return from_api_error(ctx, status=status, code=None, msg=text, headers=headers)

    def close(self) -> None:
        """Close every thread's session (a later call opens new connections)."""
        with self._lock:
            clients = list(self._clients)
            loops, self._loops = self._loops, []
        for client in clients:
            client.session.close()
        for loop in loops:
            if not loop.is_running():
                loop.close()
