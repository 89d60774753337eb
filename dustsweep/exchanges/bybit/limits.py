"""Bybit's per-endpoint request budget, read from its response headers. Imports no SDK.

Private endpoints answer with ``X-Bapi-Limit`` (requests allowed in the window),
``X-Bapi-Limit-Status`` (requests left) and ``X-Bapi-Limit-Reset-Timestamp`` (server ms when the
window resets). The limits are per UID *and per endpoint* over a rolling second, so the budget is
kept per endpoint. Pausing before the budget runs out is cheaper than hitting 10006 and, for an
order, far safer: a refused order is a lost sale, a retried one could be a double sale.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from dustsweep.exchanges.headers import header


@dataclass(frozen=True, slots=True)
class Usage:
    """The last usage an endpoint reported."""

    limit: int
    remaining: int
    reset_ms: int

    @property
    def used_fraction(self) -> float:
        return 1.0 if self.limit <= 0 else (self.limit - self.remaining) / self.limit


class RateBudget:
    """Thread-safe record of each endpoint's usage and how long to pause before the next call.

    ``threshold``: pause once more than this fraction of the window is used.
    ``max_pause_s``: never pause longer than this (a bogus or far-future reset header must not
    hang a run; Bybit's windows are one second).
    """

    def __init__(self, threshold: float = 0.9, max_pause_s: float = 5.0) -> None:
        self.threshold = threshold
        self.max_pause_s = max_pause_s
        self._usage: dict[str, Usage] = {}
        self._lock = threading.Lock()

    def observe(self, endpoint: str, headers: Mapping[str, str] | None) -> None:
        """Record the usage headers of one answer (ignored when absent, as on public calls)."""
        limit = header(headers, "X-Bapi-Limit")
        remaining = header(headers, "X-Bapi-Limit-Status")
        reset = header(headers, "X-Bapi-Limit-Reset-Timestamp")
        if limit is None or remaining is None or reset is None:
            return
        try:
            usage = Usage(int(limit), int(remaining), int(reset))
        except ValueError:
            return
        with self._lock:
            self._usage[endpoint] = usage

    def usage(self, endpoint: str) -> Usage | None:
        with self._lock:
            return self._usage.get(endpoint)

    def pause_before(self, endpoint: str, server_now_ms: int) -> float:
        """Seconds to wait before calling ``endpoint`` (0 when there is budget left).

        Every caller waits for the same reset time, so concurrent calls all hold back; once the
        reset time has passed the stale record asks for no wait, and the next answer replaces it.
        """
        with self._lock:
            usage = self._usage.get(endpoint)
        if usage is None or usage.used_fraction <= self.threshold:
            return 0.0
        wait = (usage.reset_ms - server_now_ms) / 1000
        return min(max(wait, 0.0), self.max_pause_s)
