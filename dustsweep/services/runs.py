"""The life of a money-moving run: the lock and the history around it, and its record.

Every command that trades (sell, convert, sweep) takes the state-folder lock before its first
request and writes the run's begin and end to the history; a dry run only reads the history
(the cool-down looks at past conversions).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from dustsweep.storage.ledger import LEDGER_FILE_NAME, Ledger
from dustsweep.storage.records import run_outcome
from dustsweep.storage.state import RunLock

if TYPE_CHECKING:
    from dustsweep.services.app import App


class MovingRun(Protocol):
    """What sell and convert runs share: prepare a plan per account, execute it, close."""

    run_id: int | None

    def execute(self, items: Sequence[Any]) -> None: ...


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


def execute_recorded(
    ledger: Ledger,
    command: str,
    run: MovingRun,
    items: Sequence[Any],
    exit_code: Callable[[Sequence[Any], bool], int],
) -> None:
    """Execute a confirmed plan between the history's begin and end of run."""
    run.run_id = ledger.begin_run(command, dry_run=False)
    run.execute(items)
    ledger.end_run(run.run_id, run_outcome(exit_code(items, True)))
