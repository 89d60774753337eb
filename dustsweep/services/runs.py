"""The life of a money-moving run: the lock and the history around it, and its record.

Every command that trades (sell, convert, sweep) takes the state-folder lock before its first
request and writes the run's begin and end to the history; a dry run only reads the history
(the cool-down looks at past conversions).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Protocol

from dustsweep.storage.ledger import LEDGER_FILE_NAME, Ledger
from dustsweep.storage.records import run_outcome
from dustsweep.storage.state import RunLock

if TYPE_CHECKING:
    from dustsweep.services.app import App


class MovingRun(Protocol):
    """What sell and convert runs share: each is recorded as one run of the history."""

    run_id: int | None


@contextlib.contextmanager
def money_moving_run(app: App, *, live: bool) -> Iterator[Ledger]:
    """The history for this run: behind the state-folder lock (taken before any request) when
    the run may trade, read-only use without the lock for a dry run."""
    if not live:
        ledger = open_ledger(app)
        try:
            yield ledger
        finally:
            ledger.close()
        return
    with RunLock(app.state_dir):
        ledger = open_ledger(app)
        try:
            yield ledger
        finally:
            ledger.close()


def open_ledger(app: App) -> Ledger:
    """The history in the state folder."""
    return Ledger(app.state_dir / LEDGER_FILE_NAME)


@contextlib.contextmanager
def recorded_run(
    ledger: Ledger, command: str, run: MovingRun, exit_code: Callable[[], int]
) -> Iterator[None]:
    """The history's begin and end of a live run around its execution (the body): a context,
    not a wrapper, so the execution is not one call deeper."""
    run.run_id = ledger.begin_run(command, dry_run=False)
    yield
    ledger.end_run(run.run_id, run_outcome(exit_code()))


class ProgressSink(Protocol):
    """Where a run reports progress (render.progress at a terminal; None elsewhere)."""

    def plan(self, account: str, kind: str, total: int) -> None: ...

    def advance(self, account: str, kind: str, done: int = 1) -> None: ...
