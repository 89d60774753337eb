"""One line of an exchange's own conversion log, and how it meets the local history.

The exchanges keep their own records of small-balance conversions and Convert trades, made by
dustsweep, on the web page, by a broker or from another machine. A history sync reads them as
``LoggedConversion`` lines (one per converted asset) and merges them: a line that is one of
dustsweep's own records is matched (its id noted), any other is added once. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

SMALLBALANCE = "smallbalance"  # native small-balance conversion (dust->BNB, "covert")
CONVERT = "convert"  # the quote-based Convert

# A line with no id in common with a dustsweep record is still the same conversion when it has
# the same asset and amount and happened this close to the record's time (an id the exchange
# reported differently in its answer and in its log).
MATCH_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class LoggedConversion:
    """One converted asset as the exchange logged it (only conversions that happened).

    ``ext_id`` is unique per exchange and asset line (the dedup key); ``ids`` are every id the
    line is known by (line, batch, quote, order), to find dustsweep's own record of it.
    ``received`` is gross, ``fee`` in ``received_asset`` (zero for Convert).
    """

    route: str  # SMALLBALANCE | CONVERT
    ext_id: str
    ids: frozenset[str]
    order_id: str  # the id dustsweep records as ``order_id`` (transfer line, order, tx)
    client_id: str | None  # and as ``client_id`` (Convert: the quote id)
    time: datetime
    asset: str
    amount: Decimal
    received_asset: str
    received: Decimal | None
    fee: Decimal


class RecordLike(Protocol):
    """The fields of a ledger record the matching reads."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def asset(self) -> str: ...
    @property
    def qty(self) -> Decimal | None: ...
    @property
    def time(self) -> str: ...
    @property
    def order_id(self) -> str | None: ...
    @property
    def client_id(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def ext_id(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class MergePlan:
    """What to write: notes on dustsweep's own records, and new records for the rest."""

    matched: tuple[tuple[int, str], ...]  # (record id, ext_id)
    added: tuple[LoggedConversion, ...]
    known: int  # lines already in the history (an earlier sync)


def plan_merge(lines: Iterable[LoggedConversion], records: Sequence[RecordLike]) -> MergePlan:
    """Decide, for one account, which logged lines are already known, which are dustsweep's
    own (matched by id, else by asset, amount and time) and which are new."""
    known_ids = {r.ext_id for r in records if r.ext_id is not None}
    # A record matched earlier is known by its own ids too: a log that once reported a line
    # under another ext id (an id it garbled, or changed) must not add the same conversion again.
    owned = {
        (r.asset, own_id)
        for r in records
        if r.kind == "conversion" and r.ext_id is not None and r.status != "failed"
        for own_id in (r.order_id, r.client_id)
        if own_id
    }
    free = [r for r in records if r.kind == "conversion" and r.ext_id is None]
    matched: list[tuple[int, str]] = []
    added: list[LoggedConversion] = []
    known = 0
    seen: set[str] = set()
    for line in lines:
        if line.ext_id in known_ids or line.ext_id in seen:
            known += 1
            continue
        if any((line.asset, line_id) in owned for line_id in line.ids):
            known += 1
            seen.add(line.ext_id)
            continue
        seen.add(line.ext_id)
        own = _own_record(line, free)
        if own is None:
            added.append(line)
        else:
            free.remove(own)
            matched.append((own.id, line.ext_id))
    return MergePlan(tuple(matched), tuple(added), known)


def _own_record(line: LoggedConversion, free: Sequence[RecordLike]) -> RecordLike | None:
    candidates = [r for r in free if r.asset == line.asset and r.status != "failed"]
    for record in candidates:
        if {record.order_id, record.client_id} & line.ids:
            return record
    for record in candidates:
        if record.qty == line.amount and _close(record.time, line.time):
            return record
    return None


def _close(stamp: str, moment: datetime) -> bool:
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return False
    return abs(when - moment) <= MATCH_WINDOW
