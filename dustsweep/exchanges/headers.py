"""HTTP response headers both adapters read: a case-insensitive lookup and ``Retry-After``.

Imports no SDK: both exchanges' error translation uses it.
"""

from __future__ import annotations

from collections.abc import Mapping


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Case-insensitive header lookup that also works on plain dicts."""
    if not headers:
        return None
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from a ``Retry-After`` header (both exchanges send whole seconds); None when
    absent or not a number (an HTTP-date: the caller falls back to its own rule)."""
    value = header(headers, "Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))  # seconds to wait, not money
    except ValueError:
        return None
