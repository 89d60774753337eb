"""``history``: what dustsweep sold or converted, read from the local ledger."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dustsweep.storage.ledger import LEDGER_FILE_NAME, Ledger
from dustsweep.storage.records import Record

# A tax tool imports every row: only what actually executed belongs there.
EXECUTED = frozenset({"filled", "partially_filled", "converted"})


def read_history(state_dir: Path, accounts: Sequence[str]) -> list[Record]:
    """The records of these accounts (all when none are named); none when there is no ledger."""
    path = state_dir / LEDGER_FILE_NAME
    if not path.exists():
        return []
    ledger = Ledger(path)
    try:
        return [r for r in ledger.records() if not accounts or r.account in accounts]
    finally:
        ledger.close()


def executed(records: Sequence[Record]) -> list[Record]:
    """Only what moved money (the CSV export for tax tools)."""
    return [r for r in records if r.status in EXECUTED]
