"""Progress of a money-moving run, at a terminal only: per account, orders done of planned and
conversions done, on stderr, gone once the run ends (the results take its place).

Nothing of the kind is shown when stderr is not a terminal (cron, a pipe), nor under --json or
--quiet: ``run_progress`` then returns None and the runs report to no one. The runs call
``advance`` from their worker threads; rich's Progress is thread-safe.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

KINDS = {"orders": "orders", "conversions": "conversions"}


class RunProgress:
    """One bar per (account, kind): "main  orders  3/4"."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[tuple[str, str], TaskID] = {}
        self.lock = threading.Lock()

    def plan(self, account: str, kind: str, total: int) -> None:
        """Announce ``total`` actions of ``kind`` ("orders", "conversions") for ``account``."""
        if total <= 0:
            return
        with self.lock:
            task = self.tasks.get((account, kind))
            if task is None:
                self.tasks[(account, kind)] = self.progress.add_task(
                    f"{account}: {KINDS.get(kind, kind)}", total=total
                )
            else:
                self.progress.update(task, total=total)

    def advance(self, account: str, kind: str, done: int = 1) -> None:
        with self.lock:
            task = self.tasks.get((account, kind))
        if task is not None:
            self.progress.advance(task, done)

    def __enter__(self) -> RunProgress:
        self.progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.progress.stop()


def run_progress(enabled: bool = True) -> RunProgress | None:
    """Progress on stderr when it is a terminal and ``enabled`` (not --json, not --quiet)."""
    if not enabled or not sys.stderr.isatty():
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from dustsweep.render.common import make_console

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=make_console(stderr=True),
        transient=True,
    )
    return RunProgress(progress)
