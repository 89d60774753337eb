"""Binance's per-IP request-weight budget, tracked from the X-MBX-USED-WEIGHT-1M header.

Binance bans an IP (HTTP 418) that keeps calling after a 429, so it is cheaper to pause before
the budget runs out than to recover from a ban. The header reports the weight used in the
current one-minute window; the window is taken to start on the server clock's minute boundary.
Pure logic with the time passed in, so tests need no real clock.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

DEFAULT_WEIGHT_LIMIT = 6000  # REQUEST_WEIGHT per minute since 2023-08-25
PAUSE_ABOVE = 0.9  # pause when more than 90 % of the window's weight is used
WINDOW_MS = 60_000
WEIGHT_HEADER = "x-mbx-used-weight-1m"


class WeightBudget:
    """Remembers the latest used weight and says how long to wait before the next call."""

    def __init__(self, limit: int = DEFAULT_WEIGHT_LIMIT, pause_above: float = PAUSE_ABOVE):
        self._limit = limit
        self._pause_above = pause_above
        self._used = 0
        self._window = -1  # index of the minute window the ``_used`` figure belongs to
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        return self._limit

    def set_limit(self, limit: int) -> None:
        """Use the exchange's own figure (exchangeInfo ``rateLimits``) when it is known."""
        if limit > 0:
            with self._lock:
                self._limit = limit

    def observe(self, headers: Mapping[str, str], server_now_ms: int) -> None:
        """Record the used weight a response reported (ignored when the header is absent)."""
        value = None
        for key, text in headers.items():
            if key.lower() == WEIGHT_HEADER:
                value = text
                break
        if value is None:
            return
        try:
            used = int(value)
        except ValueError:
            return
        window = server_now_ms // WINDOW_MS
        with self._lock:
            if window > self._window or (window == self._window and used > self._used):
                self._window = window
                self._used = used

    def waited(self) -> None:
        """The caller slept until the window ended: the old figure no longer applies."""
        with self._lock:
            self._used = 0
            self._window = -1

    def pause_s(self, server_now_ms: int) -> float:
        """Seconds to wait before the next call: until the window ends if it is nearly spent."""
        with self._lock:
            if server_now_ms // WINDOW_MS != self._window:
                return 0.0
            if self._used <= self._limit * self._pause_above:
                return 0.0
            window_end = (self._window + 1) * WINDOW_MS
        return max(window_end - server_now_ms, 0) / 1000.0
