"""One process-wide record of IP bans, so a ban stops every request to that host at once.

Why process-wide: a ban (Binance HTTP 418, Bybit HTTP 403 "access too frequent") is on the
caller's IP, not on one key. Every adapter, account and worker thread of the run that talks to
the same host must stop, and Binance lengthens a ban (2 minutes up to 3 days) when the caller
keeps coming. So both transports ask ``REGISTRY.check`` before every request and hand every
``Banned`` answer to ``REGISTRY.record``.

The end of a ban is also written to the state folder (``bans.json``, attached by the App), so a
later run does not call that host before then: it gets ``BanActive`` (exit 5, "not now").

Imports no SDK.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dustsweep.errors import Banned, BanRefused, ExitCode, NotNowError
from dustsweep.exchanges import EXCHANGES
from dustsweep.exchanges.base import Capabilities
from dustsweep.logs import FILE_ONLY

logger = logging.getLogger(__name__)

BANS_FILE_NAME = "bans.json"
_MS_TIMESTAMP = re.compile(r"until (\d{12,14})")


class BanActive(BanRefused, NotNowError):
    """A ban seen by an earlier run has not ended yet: no request was sent (exit 5)."""

    exit_code = ExitCode.NOT_NOW


def iso_utc(until_ms: int) -> str:
    """``2026-12-06T04:10:00Z``: the one way a ban's end is shown."""
    moment = datetime.fromtimestamp(until_ms / 1000, UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Ban:
    """One host's ban: when it ends (local epoch ms) and whether this run saw it."""

    exchange: str
    host: str
    until_ms: int
    this_run: bool


def ban_end_ms(exchange: str, err: Banned, now_ms: int) -> int:
    """Retry-After if given, else a "banned until <ms>" in Binance's message, else the
    exchange's default (``capabilities.ban_default_s``)."""
    if err.retry_after is not None and err.retry_after > 0:
        return now_ms + int(err.retry_after * 1000)
    found = _MS_TIMESTAMP.search(str(err))
    if found and int(found.group(1)) > now_ms:
        return int(found.group(1))
    info = EXCHANGES.get(exchange)
    default_s = (info.capabilities if info else Capabilities()).ban_default_s
    return now_ms + int(default_s * 1000)


class BanRegistry:
    """Bans by (exchange, host). Thread-safe; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bans: dict[tuple[str, str], Ban] = {}
        self._path: Path | None = None

    def attach(self, state_dir: Path) -> None:
        """Load the bans earlier runs saved and save new ones beside them."""
        path = state_dir / BANS_FILE_NAME
        saved = _read(path)
        now = _now_ms()
        with self._lock:
            self._path = path
            for key, until in saved.items():
                exchange, _, host = key.partition(" ")
                if until > now and (exchange, host) not in self._bans:
                    self._bans[(exchange, host)] = Ban(exchange, host, until, this_run=False)

    def clear(self) -> None:
        """Forget every ban and the state folder (tests; a new process starts empty)."""
        with self._lock:
            self._bans.clear()
            self._path = None

    def active(self, exchange: str, host: str) -> Ban | None:
        now = _now_ms()
        with self._lock:
            ban = self._bans.get((exchange, host))
            if ban is not None and ban.until_ms <= now:
                del self._bans[(exchange, host)]
                return None
            return ban

    def check(self, exchange: str, host: str, account: str) -> None:
        """Raise instead of sending while ``host`` is banned."""
        ban = self.active(exchange, host)
        if ban is None:
            return
        wait_s = max(0.0, (ban.until_ms - _now_ms()) / 1000)
        when = iso_utc(ban.until_ms)
        if ban.this_run:
            raise BanRefused(
                f"{exchange} account '{account}': the IP is banned by {host} until {when}; "
                "no further request was sent",
                retry_after=wait_s,
                http_status=418 if exchange == "binance" else 403,
            )
        raise BanActive(
            f"{exchange} account '{account}': the IP is banned by {host} until {when} "
            "(seen by an earlier run); nothing was sent, run again after that",
            retry_after=wait_s,
        )

    def record(self, exchange: str, host: str, err: Banned) -> Ban:
        """Remember a ban answer (keeping the later end) and save it to the state folder."""
        until = ban_end_ms(exchange, err, _now_ms())
        with self._lock:
            known = self._bans.get((exchange, host))
            if known is not None and known.until_ms >= until:
                return known
            ban = Ban(exchange, host, until, this_run=True)
            self._bans[(exchange, host)] = ban
            path = self._path
        # For the log file: every account that meets the ban says it once on stderr itself.
        logger.warning(
            "%s: IP banned by %s until %s", exchange, host, iso_utc(until), extra=FILE_ONLY
        )
        if path is not None:
            self._save(path)
        return ban

    def _save(self, path: Path) -> None:
        from dustsweep.storage.state import write_atomically

        with self._lock:
            data = {f"{b.exchange} {b.host}": b.until_ms for b in self._bans.values()}
        merged = {k: v for k, v in _read(path).items() if v > _now_ms()}
        for key, until in data.items():
            merged[key] = max(until, merged.get(key, 0))
        try:
            write_atomically(path, json.dumps(merged, sort_keys=True).encode())
        except OSError as exc:  # the ban still holds for this run; say why it is not kept
            logger.warning("could not save the ban to %s: %s", path, exc.strerror or exc)


def _read(path: Path) -> dict[str, int]:
    """Saved bans; an unreadable or damaged file holds none (a cache, not the truth)."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(k): int(v) for k, v in data.items() if isinstance(v, int) and not isinstance(v, bool)
    }


def _now_ms() -> int:
    return int(time.time() * 1000)


REGISTRY = BanRegistry()
