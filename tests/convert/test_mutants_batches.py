"""quote_for (convert/batches.py): edges found by mutation testing: the freshness boundary and
the preview narrowed for an adapter that quotes when executing."""

from __future__ import annotations

from decimal import Decimal

from dustsweep.convert.batches import QUOTE_FRESH_MS, quote_for
from dustsweep.exchanges.base import Capabilities
from tests.convert.test_batches import Quoter, preview


class QuotesWhenExecuting:
    """An adapter without exact quotes (Binance): the preview is narrowed, not re-quoted."""

    name = "binance"
    capabilities = Capabilities(quotes_exact_assets=False)


def test_a_quote_with_exactly_the_margin_left_is_replaced() -> None:
    quoter = Quoter()
    current = preview("q1", expires_ms=1_000_000)
    now = 1_000_000 - QUOTE_FRESH_MS
    got = quote_for(quoter, "USDT", current, ["XRP", "DOGE"], force=False, now_ms=now)  # type: ignore[arg-type]
    assert got.quote_id == "q2" and quoter.asked == [["XRP", "DOGE"]]


def test_without_exact_quotes_the_preview_is_narrowed_to_the_assets_and_keeps_its_fee() -> None:
    current = preview("q1", expires_ms=1_000_000)
    got = quote_for(QuotesWhenExecuting(), "USDT", current, ["DOGE"], force=False, now_ms=0)  # type: ignore[arg-type]
    assert [line.asset for line in got.lines] == ["DOGE"]
    assert (got.target, got.fee_rate, got.quote_id) == ("USDT", Decimal("0.02"), None)
