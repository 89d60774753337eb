"""Public exchange data fetched and decoded once per exchange host per run (issue 12).

Market rules, the price ticker (and any other public read, such as a delisting schedule) are
the same for every account on one host: six accounts on two exchanges need two rule sets and
two tickers, not six. ``PublicData`` keeps each read under a key ``(what, exchange, host)``.
The first caller runs the fetch; callers that ask while it runs wait for the same answer
(one ``Future`` per key), so concurrent accounts never send the same public request twice.
A failed fetch is not kept: the next caller tries again.

Freshness: an entry lives for the run unless the caller gives ``max_age_s`` (prices, read
again after a sale, should not be minutes old). ``put`` replaces an entry with data fetched
anew elsewhere (rules refreshed after a filter rejection).

How a new public read plugs in (e.g. issue 14's delisting schedule)::

    app.public.get("delisting", handle.config.exchange, handle.base_url,
                   handle.exchange.fetch_delisting)

``Writes`` runs slow local writes (the rules cache file) beside the network calls, so a cold
scan does not wait for them; ``drain`` is called before the process ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
Key = tuple[str, str, str]


class PublicData:
    """One run's public reads, shared by every account on the same host."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Key, tuple[float, Future[Any]]] = {}
        self.fetches: dict[Key, int] = {}  # how often each key was really fetched

    def get(
        self,
        what: str,
        exchange: str,
        host: str,
        fetch: Callable[[], T],
        *,
        max_age_s: float | None = None,
    ) -> T:
        """The value for ``(what, exchange, host)``: fetched by the first caller, shared after."""
        key = (what, exchange, host)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                started, future = entry
                fresh = max_age_s is None or self._clock() - started <= max_age_s
                if fresh and not (future.done() and future.exception() is not None):
                    owner = False
                else:
                    entry = None
            if entry is None:
                future = Future()
                self._entries[key] = (self._clock(), future)
                self.fetches[key] = self.fetches.get(key, 0) + 1
                owner = True
        if owner:
            try:
                future.set_result(fetch())
            except BaseException as exc:
                future.set_exception(exc)
                with self._lock:  # not kept: the next caller fetches again
                    if self._entries.get(key, (0.0, None))[1] is future:
                        del self._entries[key]
                raise
        result: T = future.result()
        return result

    def put(self, what: str, exchange: str, host: str, value: object) -> None:
        """Replace an entry with a value fetched anew by the caller."""
        future: Future[Any] = Future()
        future.set_result(value)
        with self._lock:
            self._entries[(what, exchange, host)] = (self._clock(), future)


class Writes:
    """Local writes that need not hold up the run: started in threads, awaited by ``drain``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self, name: str, write: Callable[[], None]) -> None:
        thread = threading.Thread(target=write, name=name)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def drain(self) -> None:
        """Wait for every write started so far."""
        while True:
            with self._lock:
                if not self._threads:
                    return
                thread = self._threads.pop()
            thread.join()


WRITES = Writes()
