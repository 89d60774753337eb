"""Small public data cached in the state folder per exchange host: fetched once per run and
kept a few hours, so that a warm scan stays within its request budget.

The delisting schedule costs weight 100 on Binance, five times a full exchangeInfo; it changes
a few times a week. Like every state file this is a cache, never the truth: a missing, stale,
future-dated or corrupt file means "ask the exchange again". Entries are plain JSON values.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dustsweep.storage.state import _file_key, write_atomically

logger = logging.getLogger(__name__)
FORMAT = 1
FUTURE_SLACK_S = 300.0


class PublicCache:
    """``load(kind, exchange, base_url, ttl_s)`` / ``save(...)`` of one JSON value per host."""

    def __init__(self, directory: Path, *, now: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self._now = now

    def path(self, kind: str, exchange: str, base_url: str | None) -> Path:
        return self.directory / f"{kind}-{_file_key(exchange, base_url)}.json"

    def load(self, kind: str, exchange: str, base_url: str | None, ttl_s: float) -> Any | None:
        """The cached value while younger than ``ttl_s``; None otherwise."""
        try:
            doc = json.loads(self.path(kind, exchange, base_url).read_text(encoding="utf-8"))
            saved = float(doc["saved_at"])
            if doc.get("format") != FORMAT or not math.isfinite(saved):
                return None
        except (OSError, ValueError, TypeError, KeyError):
            return None
        age = self._now() - saved
        if age < -FUTURE_SLACK_S or age > ttl_s:
            return None
        return doc.get("value")

    def save(self, kind: str, exchange: str, base_url: str | None, value: Any) -> None:
        """Best effort: a cache that cannot be written only costs the next run a request."""
        path = self.path(kind, exchange, base_url)
        doc = {"format": FORMAT, "saved_at": self._now(), "value": value}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, json.dumps(doc, separators=(",", ":")).encode())
        except OSError as exc:
            logger.warning("%s not cached: cannot write %s (%s)", kind, path, exc.strerror or exc)
