"""Exchange-agnostic pieces of the simulator: requests, responses, clock, wallets, faults.

Faults fire by call count per (method, path), so tests can say "the 2nd POST /api/v3/order is
lost after it executed" without knowing which asset that order is for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

ZERO = Decimal(0)


@dataclass
class SimRequest:
    """One HTTP request as received, raw bytes kept for signature checks."""

    method: str
    path: str
    query: str  # raw query string, without '?'
    body: bytes
    headers: Mapping[str, str]  # keys lower-cased

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def query_params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def form_params(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


@dataclass
class SimResponse:
    """What a dialect answers: a JSON-able body (or raw bytes) with a status and headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # sent as is when set (HTML error pages, truncated bodies)


class SimClock:
    """The simulator's clock in ms; tests move it (cool-downs) or skew it (-1021 / 10002)."""

    def __init__(self) -> None:
        self._offset_ms = 0
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            return int(time.time() * 1000) + self._offset_ms

    def advance(self, ms: int) -> None:
        with self._lock:
            self._offset_ms += ms


class InsufficientBalance(Exception):
    """Raised by ``Wallet.debit`` when the free amount is too small."""


class Wallet:
    """Free and locked amounts per asset of one simulated account. Thread-safe."""

    def __init__(self, balances: Mapping[str, Any] | None = None) -> None:
        self._lock = threading.RLock()
        self.free: dict[str, Decimal] = {}
        self.locked: dict[str, Decimal] = {}
        for asset, value in (balances or {}).items():
            if isinstance(value, Mapping):
                self.free[asset] = Decimal(str(value.get("free", "0")))
                self.locked[asset] = Decimal(str(value.get("locked", "0")))
            else:
                self.free[asset] = Decimal(str(value))

    @property
    def lock(self) -> threading.RLock:
        """Hold it to make several wallet operations atomic (a fill: debit + credit + fee)."""
        return self._lock

    def get(self, asset: str) -> tuple[Decimal, Decimal]:
        with self._lock:
            return self.free.get(asset, ZERO), self.locked.get(asset, ZERO)

    def assets(self) -> list[str]:
        with self._lock:
            return sorted(set(self.free) | set(self.locked))

    def set(self, asset: str, free: Decimal | str, locked: Decimal | str | None = None) -> None:
        with self._lock:
            self.free[asset] = Decimal(str(free))
            if locked is not None:
                self.locked[asset] = Decimal(str(locked))

    def credit(self, asset: str, amount: Decimal) -> None:
        with self._lock:
            self.free[asset] = self.free.get(asset, ZERO) + amount

    def debit(self, asset: str, amount: Decimal) -> None:
        with self._lock:
            have = self.free.get(asset, ZERO)
            if amount > have:
                raise InsufficientBalance(f"{asset}: need {amount}, have {have}")
            self.free[asset] = have - amount


@dataclass
class Fault:
    """One injected fault.

    kinds:
      ``http``: answer ``status`` with ``body`` (and ``Retry-After: retry_after``) without
        processing the request;
      ``drop``: close the connection before processing (nothing happens on the exchange);
      ``lose``: process the request, then close the connection without answering
        (the order executed, the client never hears of it);
      ``http_after``: process the request, then answer ``status`` with ``body`` (a ban, a 429
        or a 5xx that arrives after the order or conversion executed);
      ``delay``: sleep ``seconds`` then process and answer normally (a client with a shorter
        timeout gives up while the exchange still executes);
      ``action``: call ``action()`` (mutate the simulator: raise a minimum, halt a symbol,
        change a balance), then process normally.
      ``garble``: process normally, then in the JSON answer set every ``field`` (at any depth)
        to ``value``: NaN, Infinity, "" or negative amounts from a misbehaving exchange.
    ``calls``: which calls to (method, path) it hits, 1-based; empty = every call.
    """

    kind: str
    method: str | None
    path: str
    calls: frozenset[int] = frozenset()
    status: int = 500
    body: Any = None
    retry_after: int | None = None
    seconds: float = 0.0
    action: Callable[[], None] | None = None
    field: str = ""
    value: Any = None


def garble(body: Any, field: str, value: Any) -> Any:
    """``body`` with every ``field`` key (at any depth) set to ``value``."""
    if isinstance(body, dict):
        return {k: value if k == field else garble(v, field, value) for k, v in body.items()}
    if isinstance(body, list):
        return [garble(item, field, value) for item in body]
    return body


class FaultPlan:
    """The faults of a running simulator, with per-(method, path) call counters."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self.latency_s = 0.0  # added to every request (benchmarks)
        self._ban: Fault | None = None
        self._ban_after: tuple[str, str, int] | None = None
        # Every request answered with the ban: (method, path, client address "ip:port").
        self.banned_requests: list[tuple[str, str, str]] = []

    def add(
        self,
        kind: str,
        path: str,
        *,
        method: str | None = None,
        calls: tuple[int, ...] | list[int] | int = (),
        **kw: Any,
    ) -> Fault:
        if isinstance(calls, int):
            calls = (calls,)
        fault = Fault(kind=kind, method=method, path=path, calls=frozenset(calls), **kw)
        with self._lock:
            self._faults.append(fault)
        return fault

    def ban(
        self,
        status: int,
        *,
        path: str,
        method: str | None = None,
        call: int = 1,
        body: Any = None,
        retry_after: int | None = None,
    ) -> None:
        """From the ``call``-th request to (method, path) on, answer EVERY request on every
        endpoint with ``status`` (an IP ban: Binance 418, Bybit 403), as the exchange does.
        Each such request is kept in ``banned_requests`` so tests can count who kept coming."""
        fault = Fault("http", method, path, status=status, body=body, retry_after=retry_after)
        with self._lock:
            self._ban = fault
            self._ban_after = (method or "*", path, call)

    def ban_answer(self, method: str, path: str, client: str = "") -> Fault | None:
        """The ban fault if this request is banned (the trigger or anything after it)."""
        with self._lock:
            if self._ban is None or self._ban_after is None:
                return None
            want_method, want_path, call = self._ban_after
            started = bool(self.banned_requests)
            hit = path == want_path and want_method in ("*", method)
            if not started and not (hit and self._counts.get((method, path), 0) >= call):
                return None
            self.banned_requests.append((method, path, client))
            return self._ban

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._ban = self._ban_after = None

    def count(self, method: str, path: str) -> int:
        with self._lock:
            return self._counts.get((method, path), 0)

    def counts(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._counts)

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()

    def next_call(self, method: str, path: str) -> list[Fault]:
        """Count this call and return the faults that hit it."""
        with self._lock:
            n = self._counts.get((method, path), 0) + 1
            self._counts[(method, path)] = n
            return [
                f
                for f in self._faults
                if f.path == path
                and (f.method is None or f.method == method)
                and (not f.calls or n in f.calls)
            ]


class Dialect:
    """Base for an exchange dialect: turns a SimRequest into a SimResponse."""

    def handle(self, request: SimRequest) -> SimResponse:  # pragma: no cover - interface
        raise NotImplementedError
