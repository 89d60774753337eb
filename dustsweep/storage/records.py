"""One history record and its columns: what the ledger stores, how amounts are read back, CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import IO, Any

from dustsweep.core.lots import plain
from dustsweep.errors import DustsweepError, ExitCode


def run_outcome(code: int) -> str:
    """The history's word for how a run ended, from its exit code."""
    return {0: "ok", 4: "partial", 5: "not now"}.get(int(code), "failed")


KINDS = frozenset({"order", "conversion"})


class RecordStatus(StrEnum):
    """A history record's state: ``pending`` until the exchange's answer (or the next run's
    reconciliation) says what happened."""

    PENDING = "pending"
    FILLED = "filled"
    PARTIALLY_FILLED = "partially_filled"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    CONVERTED = "converted"
    FAILED = "failed"


STATUSES = frozenset(RecordStatus)


DECIMAL_FIELDS = frozenset({"qty", "received_qty", "fee", "price"})


UPDATABLE_FIELDS = frozenset(
    {
        "asset",
        "qty",
        "received_asset",
        "received_qty",
        "fee",
        "fee_asset",
        "price",
        "market",
        "order_id",
        "client_id",
        "status",
        "error",
        "ext_id",
    }
)


CSV_COLUMNS = (
    "time",
    "exchange",
    "account",
    "kind",
    "sold_asset",
    "sold_qty",
    "received_asset",
    "received_qty",
    "fee",
    "fee_asset",
    "price",
    "order_id",
    "client_id",
    "status",
)


class LedgerError(DustsweepError):
    """The history file cannot be used or written (corrupt, locked, a full or read-only disk,
    written by a newer dustsweep). Exit 2: the state folder needs fixing, nothing is traded
    while the history cannot record."""

    exit_code = ExitCode.USAGE


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    """Fixed-width ISO-8601 UTC ("2026-11-25T03:00:01.123Z"): sorts as text, reads anywhere."""
    if moment.tzinfo is None:
        raise ValueError("a timezone-aware datetime is required (naive times are ambiguous)")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


@dataclass(frozen=True, slots=True)
class Record:
    """One order or one converted asset.

    ``qty`` is the amount of ``asset`` given up (requested while pending, executed once
    final); ``received_qty`` of ``received_asset`` is gross, and ``fee`` is in ``fee_asset``.
    For a conversion, ``client_id`` holds the exchange's transfer or quote id.
    """

    id: int
    run_id: int | None
    time: str
    exchange: str
    account: str
    kind: str
    asset: str
    qty: Decimal | None
    received_asset: str | None
    received_qty: Decimal | None
    fee: Decimal | None
    fee_asset: str | None
    price: Decimal | None
    market: str | None
    order_id: str | None
    client_id: str | None
    status: str
    error: str | None
    updated_at: str
    # "dustsweep" (made here) or "exchange" (found in the exchange's own log by a sync)
    source: str = "dustsweep"
    ext_id: str | None = None  # the exchange's id of the logged line this record matches

    def to_json(self) -> dict[str, Any]:
        """The ``history --json`` shape: decimals as strings, missing values as null."""
        return {
            "id": self.id,
            "run_id": self.run_id,
            "time": self.time,
            "exchange": self.exchange,
            "account": self.account,
            "kind": self.kind,
            "asset": self.asset,
            "qty": _plain(self.qty),
            "received_asset": self.received_asset,
            "received_qty": _plain(self.received_qty),
            "fee": _plain(self.fee),
            "fee_asset": self.fee_asset,
            "price": _plain(self.price),
            "market": self.market,
            "order_id": self.order_id,
            "client_id": self.client_id,
            "status": self.status,
            "error": self.error,
            "source": self.source,
        }


RECORD_COLUMNS = tuple(f.name for f in fields(Record))


def _plain(value: Decimal | None) -> str | None:
    """No exponent, no trailing zeros, so a Binance "0.04100000" and a Bybit "0.041" read the
    same in ``history --json``."""
    return None if value is None else plain(value)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def decimal_column(name: str, value: object) -> str | None:
    """Money must arrive as Decimal (or the exchange's own string), never as float."""
    if value is None:
        return None
    if isinstance(value, str):
        value = Decimal(value)
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite number (got {value})")
    return format(value, "f")


def check_choice(name: str, value: object, allowed: frozenset[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(sorted(allowed))} (got {value!r})")


def to_record(row: tuple[Any, ...]) -> Record:
    data = dict(zip(RECORD_COLUMNS, row, strict=True))
    for name in DECIMAL_FIELDS:
        if data[name] is not None:
            data[name] = Decimal(data[name])
    return Record(**data)


def write_csv(records: Iterable[Record], stream: IO[str]) -> None:
    """CSV for tax tools: one row per record, amounts in plain decimal notation."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        writer.writerow(
            [
                record.time,
                record.exchange,
                record.account,
                record.kind,
                record.asset,
                _text(record.qty) or "",
                record.received_asset or "",
                _text(record.received_qty) or "",
                _text(record.fee) or "",
                record.fee_asset or "",
                _text(record.price) or "",
                record.order_id or "",
                record.client_id or "",
                record.status,
            ]
        )
