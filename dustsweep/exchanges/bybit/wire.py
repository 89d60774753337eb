"""The Bybit adapter's transport over pybit: sessions, clock offset, budget, error translation.

Imports pybit at module level, so only ``bybit.adapter`` imports it (and only lazily through
``exchanges.open_exchange``). One pybit session per thread, the clock offset on every signed
request, the request budget, the one retry loop (``exchanges.retry``) and the translation of
every pybit/requests failure into ``dustsweep.errors`` (table in ``bybit.errors``). The SDK-free
helpers see this class through the ``bybit.errors.Wire`` protocol.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
from pybit import _helpers as pybit_helpers
from pybit.exceptions import FailedRequestError, InvalidRequestError

from dustsweep.errors import AuthError
from dustsweep.exchanges.base import Credentials
from dustsweep.exchanges.bybit.errors import (
    READ,
    CallContext,
    from_bad_payload,
    from_http_status,
    from_network,
    from_ret_code,
)
from dustsweep.exchanges.bybit.limits import RateBudget
from dustsweep.exchanges.bybit.sdk_import import HTTP
from dustsweep.exchanges.retry import Endpoint, call_with_retries
from dustsweep.exchanges.signing import QUERY_SAFE, encode_params

DEFAULT_BASE_URL = "https://api.bybit.com"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

_PYBIT_LOGGER = logging.getLogger("pybit._http_manager")
# With no handler anywhere, Python's last-resort handler would print pybit's warnings.
logging.getLogger("pybit").addHandler(logging.NullHandler())
_CONSTRUCT_LOCK = threading.Lock()


class Clock:
    """The measured server - local offset (ms), shared by every session of one adapter."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def server_now_ms(self) -> int:
        return int(time.time() * 1000) + self.offset_ms


class Session(HTTP):  # type: ignore[misc]  # pybit ships no type information
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

    dustsweep_clock: Clock

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


def new_session(credentials: Credentials, base_url: str, clock: Clock) -> Session:
    """A pybit session configured so that pybit itself never retries, logs or prints.

    ``max_retries=1`` + ``retry_codes={-1}``: pybit would otherwise resend on 10002/10006 (also
    an order create) and lose the original code; an empty set silently means "defaults" and
    ``max_retries=0`` crashes. pybit adds a stderr handler per session when the root logger has
    none; it is removed again so ``--quiet`` stays quiet. ``log_requests`` would log the key.
    """
    with _CONSTRUCT_LOCK:
        before = list(_PYBIT_LOGGER.handlers)
        session = Session(
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


class BybitWire:
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
        self.clock = Clock()
        self._credentials = credentials
        self._sleep = sleep
        self._secrets = (credentials.api_key, credentials.api_secret)
        self._budget = RateBudget()
        self._local = threading.local()
        self._sessions: list[Session] = []
        self._sessions_lock = threading.Lock()
        self._endpoint = Endpoint("bybit", self.host, self.account)

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
        The loop is ``exchanges.retry.call_with_retries``, shared with the Binance transport.
        """
        ctx = CallContext(self.account, self.host, action, purpose, self._secrets)

        def pace() -> None:
            pause = self._budget.pause_before(method, self.server_now_ms())
            if pause > 0:
                self._sleep(pause)

        return call_with_retries(
            self._endpoint,
            functools.partial(self._send, ctx, method, params),  # no extra frame
            retry=retry,
            sleep=self._sleep,
            pace=pace,
        )

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

    def _session(self) -> Session:
        session: Session | None = getattr(self._local, "session", None)
        if session is None:
            session = new_session(self._credentials, self.base_url, self.clock)
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
