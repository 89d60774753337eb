"""GET /v5/announcements/index of the Bybit simulator: the public announcements feed, the
closest thing Bybit has to a delisting schedule (bybit-api.md §6b).

``locale`` is required; ``type`` (e.g. ``delistings``) and ``tag`` filter; ``page`` (from 1)
and ``limit`` (1-50, default 20) page through the list, newest first. Each row carries
``title``, ``description``, ``type`` {``title``, ``key``}, ``tags``, ``url`` and the
``dateTimestamp`` / ``startDateTimestamp`` / ``endDateTimestamp`` / ``publishTime`` (ms).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dustsweep.sim.bybit.wire import BybitError

HOUR_MS = 3_600_000
TYPES = {"delistings": "Delistings", "new_crypto": "New Listings", "latest_bybit_news": "News"}
ROW_KEYS = frozenset({"title", "url", "type", "tags", "ageHours", "dateTimestamp", "description"})


def announcement(raw: Mapping[str, Any], now_ms: int) -> dict[str, Any]:
    """A feed row from a scenario entry: ``title`` (required), ``url``, ``type`` (key, default
    ``delistings``), ``tags``, and ``ageHours`` (before the simulator's clock) or
    ``dateTimestamp``."""
    unknown = set(raw) - ROW_KEYS
    if unknown or not raw.get("title"):
        raise ValueError(f"bybit announcement: needs a title; unknown keys {sorted(unknown)}")
    when = int(raw.get("dateTimestamp") or now_ms - int(float(raw.get("ageHours", 0)) * HOUR_MS))
    key = str(raw.get("type") or "delistings")
    slug = str(raw["title"]).lower().replace(" ", "-")[:60]
    return {
        "title": str(raw["title"]),
        "description": str(raw.get("description") or raw["title"]),
        "type": {"title": TYPES.get(key, key), "key": key},
        "tags": list(raw.get("tags") or ["Spot"]),
        "url": str(raw.get("url") or f"https://announcements.bybit.com/en/article/{slug}/"),
        "dateTimestamp": when,
        "startDateTimestamp": when,
        "endDateTimestamp": when + 30 * 24 * HOUR_MS,
        "publishTime": when,
    }


def index(rows: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> dict[str, Any]:
    """The answer to one request: rows filtered by ``type``/``tag``, newest first, paged."""
    if not params.get("locale"):
        raise BybitError(10001, "params error: locale is required")
    try:
        page = int(params.get("page") or 1)
        limit = int(params.get("limit") or 20)
    except ValueError:
        raise BybitError(10001, "params error: page and limit must be integers") from None
    if page < 1 or not 1 <= limit <= 50:
        raise BybitError(10001, "params error: page >= 1, limit 1-50")
    kind, tag = params.get("type"), params.get("tag")
    found = [
        dict(r)
        for r in rows
        if (not kind or r["type"]["key"] == kind) and (not tag or tag in r["tags"])
    ]
    found.sort(key=lambda r: -int(r["dateTimestamp"]))
    return {"total": len(found), "list": found[(page - 1) * limit : page * limit]}
