"""Back-off for asking the exchange again: the one schedule every route uses to settle an
unknown outcome (an order looked up by client id, a conversion found in the exchange's log)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

BACKOFF_S: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)  # then 8 s until the window ends


def backoff(window_s: float) -> Iterator[float]:
    """Waits before each lookup: 0 first, then 0.2, 0.5, 1, 2, 4, 8, 8... within ``window_s``."""
    yield 0.0
    waited = 0.0
    index = 0
    while True:
        delay = BACKOFF_S[min(index, len(BACKOFF_S) - 1)]
        if waited + delay > window_s:
            remaining = window_s - waited
            if remaining > 1e-9:
                yield remaining  # one last look at the very end of the window
            return
        waited += delay
        index += 1
        yield delay
