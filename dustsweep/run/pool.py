"""Independent jobs in threads, results in order: how accounts run side by side.

Kept in the execution core (not in ``services.app``) so that the sell, convert and sweep
services need nothing of the App at run time but what they are handed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

T = TypeVar("T")


def run_concurrently(jobs: Sequence[Callable[[], T]]) -> list[T]:
    """Run independent jobs in threads and return their results in order."""
    if len(jobs) <= 1:
        return [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=min(8, len(jobs)), thread_name_prefix="account") as pool:
        futures = [pool.submit(job) for job in jobs]
        return [f.result() for f in futures]
