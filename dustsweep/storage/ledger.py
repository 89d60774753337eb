"""The history ledger: every run, order and conversion dustsweep made, in a local SQLite file.

It is written BEFORE money moves (a "pending" record with the client id) and updated after, so a
run that dies between sending an order and hearing back leaves a pending record the next run
can reconcile with the exchange. Each write is committed on its own (autocommit, WAL,
synchronous=FULL): a crash loses at most the write in progress, never earlier ones.

Amounts are stored as TEXT in plain decimal notation and read back as Decimal, so what a tax
tool receives is exactly what the exchange reported.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType

from dustsweep.storage.records import (
    DECIMAL_FIELDS,
    KINDS,
    RECORD_COLUMNS,
    STATUSES,
    UPDATABLE_FIELDS,
    LedgerError,
    Record,
    check_choice,
    decimal_column,
    iso_utc,
    to_record,
    utc_now,
)

SCHEMA_VERSION = 2


LEDGER_FILE_NAME = "history.sqlite3"


# Written beside the history when it is first created: a history that later turns up empty or
# missing (a full disk truncated it, a sync tool replaced it) is refused instead of silently
# started again, which would forget pending orders and the record of what was traded.
MARKER_SUFFIX = ".created"


# How long a write waits for another program holding the database (an sqlite browser).
BUSY_TIMEOUT_S = 10.0


_SCHEMA_V1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    command TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    outcome TEXT
);
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs(id),
    time TEXT NOT NULL,
    exchange TEXT NOT NULL,
    account TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('order', 'conversion')),
    asset TEXT NOT NULL,
    qty TEXT,
    received_asset TEXT,
    received_qty TEXT,
    fee TEXT,
    fee_asset TEXT,
    price TEXT,
    market TEXT,
    order_id TEXT,
    client_id TEXT,
    status TEXT NOT NULL,
    error TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX records_client_id ON records (exchange, account, client_id);
CREATE INDEX records_status ON records (status);
CREATE INDEX records_time ON records (time);
"""


# Version 2 (history sync): where a record comes from ("dustsweep" or "exchange"), the
# exchange's own id of the logged line it was matched with (the dedup key), and the time of
# each account's last completed sync.
_SCHEMA_V2 = """
ALTER TABLE records ADD COLUMN source TEXT NOT NULL DEFAULT 'dustsweep';
ALTER TABLE records ADD COLUMN ext_id TEXT;
CREATE UNIQUE INDEX records_ext_id ON records (exchange, account, ext_id);
CREATE TABLE syncs (
    exchange TEXT NOT NULL,
    account TEXT NOT NULL,
    synced_until TEXT NOT NULL,
    PRIMARY KEY (exchange, account)
);
"""


# Index i upgrades a database from version i to i + 1. Add, never edit, entries.
_MIGRATIONS: tuple[str, ...] = (_SCHEMA_V1, _SCHEMA_V2)


assert len(_MIGRATIONS) == SCHEMA_VERSION


class Ledger:
    """The history database. Safe to share between threads: one connection behind a lock."""

    def __init__(self, path: Path, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.marker = self.path.with_name(self.path.name + MARKER_SUFFIX)
        try:
            self._check_not_lost()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                # Trading history is private; sqlite copies this mode to its -wal/-shm files.
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            self._conn = self._open()
            if not self.marker.exists():
                self.marker.write_text("dustsweep history created here; keep this file\n")
        except sqlite3.Error as exc:
            raise LedgerError(
                f"{self.path}: cannot use the history file ({exc}); nothing was traded"
            ) from None
        except OSError as exc:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            raise LedgerError(
                f"{self.path}: cannot use the history file ({exc.strerror or exc}); "
                "nothing was traded"
            ) from None

    def _check_not_lost(self) -> None:
        """A marker without a history (or with an empty file) means the history was lost."""
        if not self.marker.exists():
            return
        if self.path.is_file() and self.path.stat().st_size > 0:
            return
        state = "is empty" if self.path.exists() else "is missing"
        raise LedgerError(
            f"{self.path} {state} but a history existed here ({self.marker.name}); nothing "
            "was traded. Restore it from a backup, or delete the marker to start a new history"
        )

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_S
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"{self.path}: written by a newer dustsweep (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); upgrade dustsweep"
            )
        for target in range(version, SCHEMA_VERSION):
            conn.execute("BEGIN IMMEDIATE")  # not executescript(): it would commit mid-way
            try:
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target + 1}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    # ----------------------------------------------------------------------- writing

    def _execute(self, sql: str, params: Iterable[object] = ()) -> sqlite3.Cursor:
        """Every statement; a database failure (full disk, locked, corrupt) is one line."""
        with self._lock:
            if self._conn is None:
                raise LedgerError(f"{self.path}: the ledger is closed")
            try:
                return self._conn.execute(sql, tuple(params))
            except sqlite3.Error as exc:
                raise LedgerError(
                    f"{self.path}: cannot record in the history ({exc}); no further trade is sent"
                ) from None

    def begin_run(self, command: str, dry_run: bool) -> int:
        """Start a run (one command invocation); its id ties the records together."""
        cursor = self._execute(
            "INSERT INTO runs (started_at, command, dry_run) VALUES (?, ?, ?)",
            (iso_utc(self._clock()), command, int(dry_run)),
        )
        return _rowid(cursor)

    def end_run(self, run_id: int, outcome: str) -> None:
        """Mark a run finished with a short outcome ("ok", "partial", "failed", ...)."""
        self._execute(
            "UPDATE runs SET finished_at = ?, outcome = ? WHERE id = ?",
            (iso_utc(self._clock()), outcome, run_id),
        )

    def add(
        self,
        *,
        exchange: str,
        account: str,
        kind: str,
        asset: str,
        qty: Decimal | None,
        status: str = "pending",
        run_id: int | None = None,
        received_asset: str | None = None,
        received_qty: Decimal | None = None,
        fee: Decimal | None = None,
        fee_asset: str | None = None,
        price: Decimal | None = None,
        market: str | None = None,
        order_id: str | None = None,
        client_id: str | None = None,
        error: str | None = None,
        time: datetime | None = None,
        source: str = "dustsweep",
        ext_id: str | None = None,
    ) -> int:
        """Insert a record (typically "pending", before the order is sent); returns its id."""
        check_choice("kind", kind, KINDS)
        check_choice("status", status, STATUSES)
        stamp = iso_utc(self._clock())
        values = {
            "run_id": run_id,
            "time": iso_utc(time) if time is not None else stamp,
            "exchange": exchange,
            "account": account,
            "kind": kind,
            "asset": asset,
            "qty": decimal_column("qty", qty),
            "received_asset": received_asset,
            "received_qty": decimal_column("received_qty", received_qty),
            "fee": decimal_column("fee", fee),
            "fee_asset": fee_asset,
            "price": decimal_column("price", price),
            "market": market,
            "order_id": order_id,
            "client_id": client_id,
            "status": status,
            "error": error,
            "updated_at": stamp,
            "source": source,
            "ext_id": ext_id,
        }
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cursor = self._execute(f"INSERT INTO records ({columns}) VALUES ({marks})", values.values())
        return _rowid(cursor)

    def update(self, record_id: int, **changes: object) -> None:
        """Change some fields of a record (fill, fee, status...); stamps ``updated_at``."""
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown:
            raise ValueError(f"cannot update {', '.join(sorted(unknown))}")
        if "status" in changes:
            check_choice("status", changes["status"], STATUSES)
        values: dict[str, object] = {
            name: decimal_column(name, value) if name in DECIMAL_FIELDS else value
            for name, value in changes.items()
        }
        values["updated_at"] = iso_utc(self._clock())
        assignments = ", ".join(f"{name} = ?" for name in values)
        cursor = self._execute(
            f"UPDATE records SET {assignments} WHERE id = ?", [*values.values(), record_id]
        )
        if cursor.rowcount == 0:
            raise KeyError(f"no ledger record with id {record_id}")

    # ----------------------------------------------------------------------- reading

    def _select(self, where: Sequence[str], params: Sequence[object]) -> list[Record]:
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT {', '.join(RECORD_COLUMNS)} FROM records{clause} ORDER BY time, id"
        with self._lock:
            if self._conn is None:
                raise LedgerError(f"{self.path}: the ledger is closed")
            rows = self._conn.execute(sql, params).fetchall()
        return [to_record(row) for row in rows]

    def get(self, record_id: int) -> Record | None:
        found = self._select(["id = ?"], [record_id])
        return found[0] if found else None

    def find_by_client_id(self, exchange: str, account: str, client_id: str) -> Record | None:
        """The latest record with this client id (for an order there is only one)."""
        found = self.find_all_by_client_id(exchange, account, client_id)
        return found[-1] if found else None

    def find_all_by_client_id(self, exchange: str, account: str, client_id: str) -> list[Record]:
        """Every record with this id: one Binance dust transfer covers several assets."""
        return self._select(
            ["exchange = ?", "account = ?", "client_id = ?"], [exchange, account, client_id]
        )

    def pending(self, exchange: str | None = None, account: str | None = None) -> list[Record]:
        """Records whose outcome is still unknown: reconcile these before selling again."""
        where: list[str] = ["status = 'pending'"]
        params: list[object] = []
        for column, value in (("exchange", exchange), ("account", account)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        return self._select(where, params)

    def records(
        self,
        since: datetime | None = None,
        account: str | None = None,
        kind: str | None = None,
        exchange: str | None = None,
    ) -> list[Record]:
        """History in time order, optionally from ``since`` (aware datetime) onwards."""
        where: list[str] = []
        params: list[object] = []
        if since is not None:
            where.append("time >= ?")
            params.append(iso_utc(since))
        for column, value in (("account", account), ("kind", kind), ("exchange", exchange)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        return self._select(where, params)

    def last_sync(self, exchange: str, account: str) -> str | None:
        """The exchange time (ISO) up to which this account's logs were last fully merged."""
        with self._lock:
            if self._conn is None:
                raise LedgerError(f"{self.path}: the ledger is closed")
            row = self._conn.execute(
                "SELECT synced_until FROM syncs WHERE exchange = ? AND account = ?",
                (exchange, account),
            ).fetchone()
        return None if row is None else str(row[0])

    def mark_synced(self, exchange: str, account: str, until: datetime) -> None:
        """Written only after a whole sync: a failed one is simply run again from the last."""
        self._execute(
            "INSERT INTO syncs (exchange, account, synced_until) VALUES (?, ?, ?) "
            "ON CONFLICT (exchange, account) DO UPDATE SET synced_until = excluded.synced_until",
            (exchange, account, iso_utc(until)),
        )

    # ----------------------------------------------------------------------- lifetime

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _rowid(cursor: sqlite3.Cursor) -> int:
    rowid = cursor.lastrowid
    if rowid is None:  # pragma: no cover - sqlite always sets it after an INSERT
        raise LedgerError("sqlite did not return a row id")
    return rowid
