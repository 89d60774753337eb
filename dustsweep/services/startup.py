"""Garbage collection around start-up: a run imports ~500 modules before its first answer.

Those imports allocate a few hundred thousand objects that live until the process ends, and
the cyclic collector, counting allocations, walks them again and again (~0.03-0.05 s of a
0.5 s scan). So the console script starts with a high gen-0 threshold (collections are rare
but still happen: memory stays bounded whatever the command does), and once the exchanges
have answered (the SDKs are imported) everything alive is moved out of the collector's sight
with ``gc.freeze()`` and the usual thresholds come back.
"""

from __future__ import annotations

import gc

_STARTUP_THRESHOLD = 100_000
_normal: tuple[int, int, int] | None = None


def pause_collections() -> None:
    """Collect rarely until ``imports_done`` (called by the console script's ``main``)."""
    global _normal
    if _normal is None:
        _normal = gc.get_threshold()
        gc.set_threshold(_STARTUP_THRESHOLD, *_normal[1:])


def imports_done() -> None:
    """Freeze what start-up built and collect as usual again (no-op unless paused)."""
    global _normal
    if _normal is not None:
        gc.freeze()
        gc.set_threshold(*_normal)
        _normal = None
