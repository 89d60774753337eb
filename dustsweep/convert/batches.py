"""Native conversion batches: which planned assets go in one request, and the quote to send."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dustsweep.convert.caps import exact_quoter
from dustsweep.core.models import ConversionPreview

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from dustsweep.convert.plan import PlannedConversion
    from dustsweep.exchanges.base import Exchange

Batch = tuple[ConversionPreview, list["PlannedConversion"]]


# A quote with less left than this is replaced before executing (Bybit quotes last ~30 s).
QUOTE_FRESH_MS = 5_000


def plan_batches(
    previews: Iterable[ConversionPreview],
    items: Sequence[PlannedConversion],
    limit: int | None,
) -> tuple[list[Batch], list[PlannedConversion]]:
    """Group the planned assets by the fresh preview that lists them (a Bybit quote covers at
    most 20 coins), at most ``limit`` per batch; the planned assets no preview lists any more
    are returned apart."""
    remaining = {item.asset: item for item in items}
    batches: list[Batch] = []
    for preview in previews:
        members = [remaining.pop(line.asset) for line in preview.lines if line.asset in remaining]
        size = limit or len(members) or 1
        for start in range(0, len(members), size):
            batches.append((preview, members[start : start + size]))
    return batches, list(remaining.values())


def quote_for(
    exchange: Exchange,
    target: str,
    preview: ConversionPreview,
    assets: Sequence[str],
    *,
    force: bool,
    now_ms: int | None = None,
) -> ConversionPreview:
    """The preview to execute for exactly ``assets``.

    A fresh quote that covers exactly these assets is used as it is (its id is then the client
    id). Otherwise an adapter that can quote exact coin lists (``quotes_exact_assets``) is asked;
    else the preview is narrowed to these assets without a quote id, and the adapter quotes
    them itself when executing. ``force``: the last quote expired, get a new one. A quote
    about to expire (``now_ms`` is the exchange's time) is replaced here, so the quote id the
    ledger records is the one executed (an adapter never swaps it: Bybit's refuses a quote in
    its last second as ``expired``, and the batch is quoted again).
    """
    wanted = set(assets)
    exact = preview.quote_id is not None and {x.asset for x in preview.lines} == wanted
    fresh = (
        now_ms is None or preview.expires_ms is None or preview.expires_ms - now_ms > QUOTE_FRESH_MS
    )
    if exact and fresh and not force:
        return preview
    quoter = exact_quoter(exchange)
    if quoter is not None:
        return quoter.quote_conversion(target, list(assets))
    lines = tuple(line for line in preview.lines if line.asset in wanted)
    return ConversionPreview(target=target, fee_rate=preview.fee_rate, lines=lines)
