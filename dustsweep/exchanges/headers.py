"""HTTP response headers both adapters read: a case-insensitive lookup and ``Retry-After``;
the one-line summary of an error body that is an HTML page; and which HTTP statuses prove that
a request was not processed.

Imports no SDK: both exchanges' error translation uses it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Statuses a server (or a proxy in front of it) answers without processing the request: the
# request itself was refused. Any other unexpected status to an order or a conversion (408, 409,
# 425, a proxy's 4xx page...) leaves its outcome unknown: it is settled, never taken as refused.
NOT_PROCESSED = frozenset({400, 401, 404, 405, 411, 413, 414, 415, 431})


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


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_PAGE = re.compile(r"<(!doctype|html|head|body|title)\b", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_PAGE_WORDS = 8


def summarize_body(text: str) -> str:
    """An error body fit for one line: an HTML page (a proxy's 502, a WAF page) becomes
    "HTML error page" plus its first few words (the title when there is one), never the page."""
    start = _PAGE.search(text)  # python-binance prefixes "Invalid JSON error message..."
    if start is None:
        return text
    page = text[start.start() :]
    found = _TITLE.search(page)
    words = _TAG.sub(" ", found.group(1) if found else page).split()[:_PAGE_WORDS]
    return f"HTML error page ({' '.join(words)})" if words else "HTML error page"
