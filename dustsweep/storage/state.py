"""The state folder: cached market rules, measured clock offsets, and the one-run-at-a-time lock.

Everything here is a cache or a guard, never the truth: a missing, stale or corrupt file means
"ask the exchange again", never a crash. Writes go to a temporary file that is renamed over the
old one, so a run killed mid-write leaves either the old file or the new one.

The rules cache exists because Binance's exchangeInfo is several megabytes: re-downloading and
re-parsing it on every cron run is the slowest part of a scan. It is stored pre-digested (one
small JSON array per symbol, decimals as strings) so loading ~2300 symbols takes milliseconds.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

from dustsweep.core.models import MarketRules
from dustsweep.errors import ConfigError, LockHeld

logger = logging.getLogger(__name__)

STATE_ENV = "DUSTSWEEP_HOME"
RULES_FORMAT = 1
LOCK_FILE_NAME = "dustsweep.lock"
CLOCK_FILE_NAME = "clock-offsets.json"
# A cache written more than this far "in the future" means the clock jumped: do not trust it.
_FUTURE_SLACK_S = 300.0


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """$DUSTSWEEP_HOME, else platformdirs' per-user state folder; created private (0700)."""
    environ = os.environ if env is None else env
    configured = environ.get(STATE_ENV, "").strip()
    if configured:
        path = Path(configured).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_state_dir("dustsweep"))
    if not path.is_dir():
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the state folder {path} ({exc.strerror or exc}); "
                f"set {STATE_ENV} to a writable folder"
            ) from None
    return path


def _key_text(exchange: str, base_url: str | None) -> str:
    return f"{exchange}|{(base_url or '').rstrip('/')}"


def _file_key(exchange: str, base_url: str | None) -> str:
    """A safe file-name part: different hosts (prod, testnet, simulator) never share a file."""
    digest = hashlib.sha256(_key_text(exchange, base_url).encode()).hexdigest()[:16]
    return f"{exchange}-{digest}"


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, then rename it over ``path``."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


# --------------------------------------------------------------------------- rules cache


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _encode_rule(rule: MarketRules) -> list[Any]:
    return [
        rule.symbol,
        rule.base,
        rule.quote,
        int(rule.trading),
        int(rule.market_orders),
        format(rule.step, "f"),
        format(rule.min_qty, "f"),
        _dec(rule.max_qty),
        format(rule.min_notional, "f"),
        _dec(rule.max_notional),
        rule.step_rule,
        rule.min_qty_rule,
        rule.min_notional_rule,
    ]


def _decode_rule(row: list[Any]) -> MarketRules:
    (symbol, base, quote, trading, market, step, min_qty, max_qty, min_notional, max_notional,
     step_rule, min_qty_rule, min_notional_rule) = row  # fmt: skip
    for text in (symbol, base, quote, step_rule, min_qty_rule, min_notional_rule):
        if not isinstance(text, str):
            raise TypeError("text field expected")
    return MarketRules(
        symbol=symbol,
        base=base,
        quote=quote,
        trading=bool(trading),
        market_orders=bool(market),
        step=_finite(step),
        min_qty=_finite(min_qty),
        max_qty=None if max_qty is None else _finite(max_qty),
        min_notional=_finite(min_notional),
        max_notional=None if max_notional is None else _finite(max_notional),
        step_rule=step_rule,
        min_qty_rule=min_qty_rule,
        min_notional_rule=min_notional_rule,
    )


def _finite(text: object) -> Decimal:
    """A cached amount: "NaN" or "Infinity" would parse and then break every comparison."""
    if not isinstance(text, str):
        raise TypeError("decimal text expected")
    value = Decimal(text)
    if not value.is_finite() or value < 0:
        raise ValueError(f"not a usable amount: {text[:20]!r}")
    return value


class RulesCache:
    """Market rules per (exchange, base_url), with the time they were fetched.

    A damaged cache (bad JSON, NaN inside, a folder where the file belongs) is a missing one:
    the rules are fetched again. Writing raises OSError; callers treat it as "not cached"."""

    def __init__(self, directory: Path, *, now: Callable[[], float] = time.time) -> None:
        self.directory = Path(directory)
        self._now = now
        self._lock = threading.Lock()

    def path(self, exchange: str, base_url: str | None) -> Path:
        return self.directory / f"rules-{_file_key(exchange, base_url)}.json"

    def load(self, exchange: str, base_url: str | None, ttl_s: float) -> list[MarketRules] | None:
        """The cached rules if younger than ``ttl_s``; None if missing, stale or unreadable."""
        if ttl_s <= 0:
            return None
        loaded = self._read(exchange, base_url)
        if loaded is None:
            return None
        saved_at, rules = loaded
        age = self._now() - saved_at
        if age > ttl_s or age < -_FUTURE_SLACK_S:
            return None
        return rules

    def save(self, exchange: str, base_url: str | None, rules: list[MarketRules]) -> None:
        """Replace the cache for this host with a full, freshly fetched rule set."""
        self._write(exchange, base_url, self._now(), rules)

    def merge(self, exchange: str, base_url: str | None, rules: list[MarketRules]) -> bool:
        """Put re-fetched rules for a few symbols (e.g. after a filter rejection) into the
        existing cache, keeping its age, so the next run does not repeat the rejection.
        Returns False (and writes nothing) when there is no readable cache to update."""
        with self._lock:
            loaded = self._read(exchange, base_url)
            if loaded is None:
                return False
            saved_at, cached = loaded
            by_symbol = {rule.symbol: rule for rule in cached}
            by_symbol.update((rule.symbol, rule) for rule in rules)
            try:
                self._write(exchange, base_url, saved_at, list(by_symbol.values()))
            except OSError as exc:
                logger.warning("market rules not cached: %s", exc.strerror or exc)
                return False
            return True

    def _write(
        self, exchange: str, base_url: str | None, saved_at: float, rules: list[MarketRules]
    ) -> None:
        document = {
            "format": RULES_FORMAT,
            "key": _key_text(exchange, base_url),
            "saved_at": saved_at,
            "rules": [_encode_rule(rule) for rule in rules],
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
        write_atomically(self.path(exchange, base_url), text.encode())

    def _read(self, exchange: str, base_url: str | None) -> tuple[float, list[MarketRules]] | None:
        try:
            document = json.loads(self.path(exchange, base_url).read_bytes())
            if document["format"] != RULES_FORMAT or document["key"] != _key_text(
                exchange, base_url
            ):
                return None
            saved_at = float(document["saved_at"])
            if not math.isfinite(saved_at):
                return None
            return saved_at, [_decode_rule(row) for row in document["rules"]]
        except (OSError, ValueError, TypeError, KeyError, ArithmeticError, AttributeError):
            # ValueError covers bad JSON, bad UTF-8 and wrong row lengths; ArithmeticError
            # covers decimal.InvalidOperation. A bad cache is simply a missing one.
            return None


def cached_assets(directory: Path) -> set[str]:
    """Every asset (base or quote) in any rules cache of the folder, whatever its age: what
    shell completion offers, without the network or an exchange SDK."""
    assets: set[str] = set()
    for path in Path(directory).glob("rules-*.json"):
        try:
            document = json.loads(path.read_bytes())
            if document["format"] == RULES_FORMAT:
                assets.update(str(a) for row in document["rules"] for a in row[1:3])
        except (OSError, ValueError, TypeError, KeyError, IndexError):
            continue  # a damaged cache offers nothing
    return assets


# --------------------------------------------------------------------------- clock offsets


class ClockOffsets:
    """server time - local time in ms, per (exchange, base_url), kept between runs.

    Without it every run's first signed request would fail with -1021 / 10002 on a machine
    whose clock is off, before the adapter had a chance to measure the offset again.
    """

    def __init__(self, directory: Path, *, now: Callable[[], float] = time.time) -> None:
        self.directory = Path(directory)
        self.file = self.directory / CLOCK_FILE_NAME
        self._now = now
        self._lock = threading.Lock()

    def load(self, exchange: str, base_url: str | None) -> int | None:
        entry = self._read().get(_key_text(exchange, base_url))
        if not isinstance(entry, dict):
            return None
        offset = entry.get("offset_ms")
        if isinstance(offset, bool) or not isinstance(offset, int):
            return None
        return offset

    def save(self, exchange: str, base_url: str | None, offset_ms: int) -> None:
        with self._lock:
            entries = self._read()
            entries[_key_text(exchange, base_url)] = {
                "offset_ms": int(offset_ms),
                "measured_at": self._now(),
            }
            self.directory.mkdir(parents=True, exist_ok=True)
            write_atomically(self.file, json.dumps(entries, indent=1, sort_keys=True).encode())

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.file.read_bytes())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


# --------------------------------------------------------------------------- run lock


class RunLock:
    """Only one dustsweep run may use a state folder at a time (two runs selling the same
    balances would race each other into rejections and double records).

    flock() is released by the kernel when the holder dies, so a lock left by a killed run is
    taken over without any "stale lock" heuristics. The file is never deleted (deleting a
    flock()ed file lets two processes each lock a different inode); it just carries the
    holder's pid and start time for the message.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.file = self.directory / LOCK_FILE_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            raise RuntimeError("RunLock is already held by this object")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError(
                f"cannot use the state folder {self.directory}: cannot create the lock file "
                f"({exc.strerror or exc}); nothing was sent. Make it writable or set {STATE_ENV}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise LockHeld(
                f"another dustsweep run ({holder}) is using {self.directory}; "
                "try again when it ends"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        with contextlib.suppress(OSError):  # who holds it is for messages only (disk full)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}\nstarted {started}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the last descriptor releases the flock

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    """The holder as "pid 123, started 2026-11-25 03:00:01 UTC", as far as the file says."""
    try:
        text = os.pread(fd, 256, 0).decode("utf-8", "replace")
    except OSError:
        text = ""
    fields = dict(_split_line(line) for line in text.splitlines() if " " in line)
    pid = fields.get("pid", "").strip()
    started = fields.get("started", "").strip()
    parts = [f"pid {pid}" if pid.isdigit() else "pid unknown"]
    if started:
        parts.append(f"started {started}")
    return ", ".join(parts)


def _split_line(line: str) -> tuple[str, str]:
    key, _, value = line.partition(" ")
    return key, value
