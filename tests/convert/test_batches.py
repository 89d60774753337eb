"""quote_for: the quote executed is the one recorded, never a stale one swapped later."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from dustsweep.convert.batches import QUOTE_FRESH_MS, quote_for
from dustsweep.core.models import ConversionPreview, DustCandidate


class Quoter:
    """Stands in for an adapter that can quote exact coin lists (QuotesConversion)."""

    name = "bybit"

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def quote_conversion(self, target: str, assets: Sequence[str]) -> ConversionPreview:
        self.asked.append(list(assets))
        return preview(f"q{len(self.asked) + 1}", expires_ms=10_000_000)


def preview(quote_id: str, *, expires_ms: int) -> ConversionPreview:
    lines = (DustCandidate("XRP", Decimal("0.5")), DustCandidate("DOGE", Decimal("3")))
    return ConversionPreview("USDT", Decimal("0.02"), lines, quote_id, expires_ms)


def test_a_fresh_exact_quote_is_used_as_it_is() -> None:
    quoter = Quoter()
    current = preview("q1", expires_ms=1_000_000)
    now = 1_000_000 - QUOTE_FRESH_MS - 1
    assert quote_for(quoter, "USDT", current, ["XRP", "DOGE"], force=False, now_ms=now) is current  # type: ignore[arg-type]
    assert quoter.asked == []


def test_a_quote_about_to_expire_is_replaced_before_executing() -> None:
    quoter = Quoter()
    current = preview("q1", expires_ms=1_000_000)
    now = 1_000_000 - QUOTE_FRESH_MS + 1
    fresh = quote_for(quoter, "USDT", current, ["XRP", "DOGE"], force=False, now_ms=now)  # type: ignore[arg-type]
    assert fresh.quote_id == "q2" and quoter.asked == [["XRP", "DOGE"]]


def test_a_subset_is_quoted_exactly() -> None:
    quoter = Quoter()
    current = preview("q1", expires_ms=10_000_000)
    quote_for(quoter, "USDT", current, ["XRP"], force=False, now_ms=0)  # type: ignore[arg-type]
    assert quoter.asked == [["XRP"]]
