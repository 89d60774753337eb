"""``history`` filters and totals over the ledger's records (no output, no exchange).

Dates on the command line are UTC: a bare date ("2026-01-31") or an ISO time. ``--until`` with
a bare date includes that whole day. ``--asset`` keeps a record that sends or receives the asset.
``--limit N`` keeps the N most recent matching records (still shown oldest first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from dustsweep.errors import ConfigError as UsageError
from dustsweep.storage.records import Record, iso_utc

# A sale or conversion that received one of these was worth what it received, in it: the
# quote value at the time, as recorded. Anything else has no recorded value.
VALUE_ASSETS = frozenset(
    {"USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "USDE", "USD1", "USD", "EUR", "GBP"}
)

KIND_NAMES = {"sell": "order", "conversion": "conversion"}
EXECUTED = frozenset({"filled", "partially_filled", "converted"})


def parse_when(name: str, text: str, *, end_of_day: bool = False) -> datetime:
    """A UTC date or ISO time from the command line; a UsageError naming the option if not."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) - timedelta(microseconds=1) if end_of_day else start
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{name}: {text!r} is not a date (YYYY-MM-DD) or an ISO time "
            "(YYYY-MM-DDTHH:MM[:SS][+00:00])"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class HistoryFilter:
    since: datetime | None = None
    until: datetime | None = None
    assets: frozenset[str] = frozenset()
    kind: str | None = None  # "sell" | "conversion"
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.until < self.since:
            raise UsageError(
                f"--until ({iso_utc(self.until)}) is before --since ({iso_utc(self.since)})"
            )
        if self.limit is not None and self.limit < 1:
            raise UsageError(f"--limit must be at least 1 (got {self.limit})")

    def apply(self, records: Sequence[Record]) -> list[Record]:
        since = iso_utc(self.since) if self.since is not None else None
        until = iso_utc(self.until) if self.until is not None else None
        kind = KIND_NAMES.get(self.kind) if self.kind is not None else None
        kept = [
            r
            for r in records
            if (since is None or r.time >= since)
            and (until is None or r.time <= until)
            and (kind is None or r.kind == kind)
            and (not self.assets or r.asset in self.assets or r.received_asset in self.assets)
        ]
        if self.limit is not None:
            kept = kept[-self.limit :]
        return kept


def value_of(record: Record) -> tuple[Decimal, str] | None:
    """The record's quote value at the time, where the record itself holds it."""
    if record.received_asset in VALUE_ASSETS and record.received_qty is not None:
        return record.received_qty, record.received_asset
    return None


@dataclass
class AssetTotal:
    """What one asset saw over the records: sent, received, fees, and the value of what was
    sent (received in a VALUE_ASSETS quote), per quote asset."""

    asset: str
    sent: Decimal = Decimal(0)
    received: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    value: dict[str, Decimal] = field(default_factory=dict)
    unvalued: int = 0  # sends without a recorded value


def totals(records: Sequence[Record]) -> list[AssetTotal]:
    """Per asset, over executed records only, sorted by asset."""
    by_asset: dict[str, AssetTotal] = {}

    def of(asset: str) -> AssetTotal:
        return by_asset.setdefault(asset, AssetTotal(asset))

    for r in records:
        if r.status not in EXECUTED:
            continue
        if r.qty is not None:
            total = of(r.asset)
            total.sent += r.qty
            value = value_of(r)
            if value is None:
                total.unvalued += 1
            else:
                total.value[value[1]] = total.value.get(value[1], Decimal(0)) + value[0]
        if r.received_asset and r.received_qty is not None:
            of(r.received_asset).received += r.received_qty
        if r.fee_asset and r.fee:
            of(r.fee_asset).fees += r.fee
    return [by_asset[a] for a in sorted(by_asset)]
