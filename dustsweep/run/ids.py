"""Client order ids: the key that makes every sell happen at most once.

An order's id is written to the ledger before the order is sent, so after a lost answer or a
crash the exchange can be asked "do you have ``ds-<token>-<ASSET>``?" instead of guessing.
Both exchanges accept at most 36 characters of ``[A-Za-z0-9_-]`` (Binance FIX, Bybit
orderLinkId); asset names are not always that tame (Binance lists non-ASCII assets), so they
are reduced to that alphabet and, when too long, shortened with a hash that keeps ids distinct.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading

PREFIX = "ds"
MAX_LEN = 36
TOKEN_LEN = 10
_TOKEN_RE = re.compile(r"^[A-Za-z0-9]{1,16}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9]")
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
_SUFFIX_ROOM = 3  # "-NN": room for the re-plans and re-sends of one asset in one run
_HASH_LEN = 6


def new_run_token() -> str:
    """A fresh random token for one run (10 hex characters: collisions are not a concern)."""
    return secrets.token_hex(TOKEN_LEN // 2)


def check_token(token: str) -> str:
    """The run token goes into every id, so it must be short and plain."""
    if not _TOKEN_RE.match(token):
        raise ValueError(f"run token {token!r}: need 1-16 characters of [A-Za-z0-9]")
    return token


def asset_part(asset: str, room: int) -> str:
    """``asset`` in the id alphabet, at most ``room`` characters, distinct for distinct assets.

    Only when characters had to be dropped or the name is too long is a short hash of the real
    name appended, so ordinary ids stay readable (``ds-1a2b3c4d5e-ADA``).
    """
    safe = _UNSAFE.sub("", asset)
    if safe == asset and 0 < len(safe) <= room:
        return safe
    digest = hashlib.sha256(asset.encode("utf-8")).hexdigest()[:_HASH_LEN]
    keep = max(room - _HASH_LEN - 1, 0)
    head = safe[:keep]
    return f"{head}_{digest}" if head else digest


def client_id(token: str, asset: str, attempt: int = 1) -> str:
    """``ds-<token>-<ASSET>`` for the first order of an asset, ``...-2``, ``-3`` after."""
    check_token(token)
    if attempt < 1 or attempt > 99:
        raise ValueError(f"attempt must be 1..99, got {attempt}")
    base = f"{PREFIX}-{token}-"
    room = MAX_LEN - len(base) - _SUFFIX_ROOM
    text = base + asset_part(asset, room)
    if attempt > 1:
        text += f"-{attempt}"
    if not _ID_RE.match(text):  # pragma: no cover - guaranteed by construction
        raise AssertionError(f"bad client id {text!r}")
    return text


class ClientIds:
    """Hands out the ids of one run: each asset's attempts are numbered 1, 2, 3...

    Thread-safe, because a re-plan of one asset and the follow-up sale of the same asset may
    be decided on different worker threads.
    """

    def __init__(self, token: str) -> None:
        self.token = check_token(token)
        self._attempts: dict[str, int] = {}
        self._lock = threading.Lock()

    def next(self, asset: str) -> str:
        with self._lock:
            attempt = self._attempts.get(asset, 0) + 1
            self._attempts[asset] = attempt
        return client_id(self.token, asset, attempt)
