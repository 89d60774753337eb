"""History ledger: pending-before-send records, exact decimals, threads, export, schema."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import stat
import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from dustsweep.storage.ledger import SCHEMA_VERSION, Ledger
from dustsweep.storage.records import CSV_COLUMNS, LedgerError, Record, iso_utc, write_csv


class StepClock:
    """Each call is one second later: records get distinct, predictable times."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 3, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "history.sqlite3", clock=StepClock())


def add_order(ledger: Ledger, **overrides: object) -> int:
    fields: dict[str, object] = {
        "exchange": "binance",
        "account": "main",
        "kind": "order",
        "asset": "DOGE",
        "qty": Decimal("12.30000000"),
        "market": "DOGEUSDT",
        "client_id": "ds-1",
    }
    fields.update(overrides)
    return ledger.add(**fields)  # type: ignore[arg-type]


def test_pending_record_then_fill(ledger: Ledger) -> None:
    run = ledger.begin_run("sweep", dry_run=False)
    record_id = add_order(ledger, run_id=run)
    pending = ledger.pending()
    assert [r.id for r in pending] == [record_id]
    assert pending[0].status == "pending" and pending[0].run_id == run
    assert pending[0].qty == Decimal("12.3") and str(pending[0].qty) == "12.30000000"

    ledger.update(
        record_id,
        status="filled",
        order_id="998877",
        received_asset="USDT",
        received_qty=Decimal("1.8573"),
        fee=Decimal("0.0018573"),
        fee_asset="USDT",
        price=Decimal("0.151"),
    )
    assert ledger.pending() == []
    record = ledger.find_by_client_id("binance", "main", "ds-1")
    assert record is not None
    assert (record.status, record.order_id) == ("filled", "998877")
    assert record.received_qty == Decimal("1.8573")
    assert record.fee == Decimal("0.0018573")
    assert isinstance(record.price, Decimal)
    assert record.updated_at > record.time  # the update was stamped later
    assert ledger.find_by_client_id("binance", "other", "ds-1") is None
    assert ledger.find_by_client_id("bybit", "main", "ds-1") is None


def test_writes_are_committed_at_once(tmp_path: Path) -> None:
    """Another connection (think: a crash right after) sees every write immediately."""
    path = tmp_path / "history.sqlite3"
    ledger = Ledger(path)
    record_id = add_order(ledger)
    other = Ledger(path)
    assert [r.id for r in other.pending()] == [record_id]
    ledger.update(record_id, status="rejected", error="-1013 Filter failure: NOTIONAL")
    record = other.get(record_id)
    assert record is not None and record.error == "-1013 Filter failure: NOTIONAL"
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    ledger.close()
    other.close()


def test_decimals_are_exact_text(ledger: Ledger, tmp_path: Path) -> None:
    tiny = Decimal("1E-8")
    record_id = add_order(ledger, qty=tiny, fee=Decimal("0.00000000123456789"))
    record = ledger.get(record_id)
    assert record is not None and record.qty == tiny and record.fee == Decimal("1.23456789E-9")
    raw = sqlite3.connect(tmp_path / "history.sqlite3")
    qty, fee = raw.execute("SELECT qty, fee FROM records WHERE id = ?", (record_id,)).fetchone()
    raw.close()
    assert (qty, fee) == ("0.00000001", "0.00000000123456789")  # never an exponent


def test_money_as_float_is_refused(ledger: Ledger) -> None:
    with pytest.raises(TypeError, match="qty must be a Decimal"):
        add_order(ledger, qty=0.1)
    record_id = add_order(ledger, qty="5.5")  # the exchange's own string is fine
    with pytest.raises(TypeError, match="fee must be a Decimal"):
        ledger.update(record_id, fee=0.001)
    with pytest.raises(ValueError, match="finite"):
        ledger.update(record_id, price=Decimal("NaN"))
    record = ledger.get(record_id)
    assert record is not None and record.qty == Decimal("5.5") and record.fee is None


def test_invalid_kind_status_and_fields(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="kind must be one of conversion, order"):
        add_order(ledger, kind="withdrawal")
    with pytest.raises(ValueError, match="status must be one of"):
        add_order(ledger, status="done")
    record_id = add_order(ledger)
    with pytest.raises(ValueError, match="status must be one of"):
        ledger.update(record_id, status="FILLED")
    with pytest.raises(ValueError, match="cannot update id, run_id"):
        ledger.update(record_id, id=5, run_id=2)
    with pytest.raises(KeyError):
        ledger.update(record_id + 100, status="filled")
    assert ledger.records()[0].status == "pending"


def test_conversion_lines_share_a_transfer_id(ledger: Ledger) -> None:
    for asset, amount in (("DOGE", "3"), ("SHIB", "100000")):
        ledger.add(
            exchange="binance",
            account="main",
            kind="conversion",
            asset=asset,
            qty=Decimal(amount),
            status="converted",
            received_asset="BNB",
            received_qty=Decimal("0.0001"),
            fee=Decimal("0.000002"),
            fee_asset="BNB",
            client_id="45178372831",
        )
    lines = ledger.find_all_by_client_id("binance", "main", "45178372831")
    assert [r.asset for r in lines] == ["DOGE", "SHIB"]
    latest = ledger.find_by_client_id("binance", "main", "45178372831")
    assert latest is not None and latest.asset == "SHIB"


def test_filters(ledger: Ledger) -> None:
    add_order(ledger, account="a", exchange="binance")
    add_order(ledger, account="b", exchange="bybit", status="filled")
    add_order(ledger, account="a", exchange="binance", kind="conversion", status="converted")
    add_order(ledger, account="b", exchange="bybit")
    assert [r.account for r in ledger.pending(account="b")] == ["b"]
    assert [r.exchange for r in ledger.pending(exchange="binance")] == ["binance"]
    assert len(ledger.pending()) == 2
    assert len(ledger.records(account="a")) == 2
    assert [r.kind for r in ledger.records(kind="conversion")] == ["conversion"]
    assert len(ledger.records(exchange="bybit", account="b")) == 2

    everything = ledger.records()
    assert [r.id for r in everything] == sorted(r.id for r in everything)  # time order
    third = datetime.fromisoformat(everything[2].time)
    assert [r.id for r in ledger.records(since=third)] == [r.id for r in everything[2:]]
    # the same instant written in another zone selects the same records
    east = third.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert len(ledger.records(since=east)) == 2
    with pytest.raises(ValueError, match="timezone-aware"):
        ledger.records(since=datetime(2026, 1, 1))  # noqa: DTZ001 - testing the refusal


def test_explicit_time_and_iso_format(ledger: Ledger) -> None:
    when = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=-5)))
    record_id = add_order(ledger, time=when)
    record = ledger.get(record_id)
    assert record is not None
    assert record.time == "2025-01-02T08:04:05.678Z"
    assert datetime.fromisoformat(record.time) == when.replace(microsecond=678000)
    assert iso_utc(datetime(2026, 11, 25, tzinfo=UTC)) == "2026-11-25T00:00:00.000Z"


def test_to_json_contract(ledger: Ledger) -> None:
    record_id = add_order(ledger, status="filled", fee=Decimal("0.00100000"), fee_asset="USDT")
    record = ledger.get(record_id)
    assert record is not None
    data = record.to_json()
    expected_keys = {
        "time", "exchange", "account", "kind", "asset", "qty", "received_asset",
        "received_qty", "fee", "fee_asset", "price", "order_id", "client_id", "status",
        "market", "error",
    }  # fmt: skip
    assert expected_keys <= set(data)
    # Plain decimals as every JSON document writes them: a Binance "12.30000000" and a Bybit
    # "12.3" read the same (issue 11).
    assert data["qty"] == "12.3" and data["fee"] == "0.001"
    assert data["received_qty"] is None and data["price"] is None and data["error"] is None
    assert json.loads(json.dumps(data)) == data  # JSON-ready: no Decimal, no datetime


def test_write_csv_tax_columns(ledger: Ledger) -> None:
    sold = add_order(ledger)
    ledger.update(
        sold,
        status="filled",
        order_id="1",
        received_asset="USDT",
        received_qty=Decimal("1.85730000"),
        fee=Decimal("0.00185730"),
        fee_asset="USDT",
        price=Decimal("0.151"),
    )
    add_order(ledger, asset="PEPE", qty=Decimal("1E+6"), client_id="ds,2", error="x")
    stream = io.StringIO()
    write_csv(ledger.records(), stream)
    rows = list(csv.DictReader(io.StringIO(stream.getvalue())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert CSV_COLUMNS == (
        "time", "exchange", "account", "kind", "sold_asset", "sold_qty", "received_asset",
        "received_qty", "fee", "fee_asset", "price", "order_id", "client_id", "status",
    )  # fmt: skip
    first, second = rows
    assert (first["sold_asset"], first["sold_qty"]) == ("DOGE", "12.30000000")
    assert (first["received_qty"], first["fee"], first["price"]) == (
        "1.85730000",
        "0.00185730",
        "0.151",
    )
    assert first["status"] == "filled"
    assert second["sold_qty"] == "1000000"  # plain notation for spreadsheets
    assert second["client_id"] == "ds,2"  # quoted properly
    assert second["received_qty"] == "" and second["fee_asset"] == ""


def test_threads_share_one_ledger(ledger: Ledger) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(25):
                record_id = add_order(ledger, client_id=f"t{n}-{i}", account=f"acct{n}")
                ledger.update(record_id, status="filled", received_qty=Decimal(i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    records = ledger.records()
    assert len(records) == 150
    assert {r.status for r in records} == {"filled"}
    assert len({r.id for r in records}) == 150


def test_runs_are_recorded(ledger: Ledger, tmp_path: Path) -> None:
    first = ledger.begin_run("sweep", dry_run=True)
    second = ledger.begin_run("convert", dry_run=False)
    assert second > first
    ledger.end_run(first, "ok")
    raw = sqlite3.connect(tmp_path / "history.sqlite3")
    rows = raw.execute("SELECT id, command, dry_run, outcome, finished_at FROM runs").fetchall()
    raw.close()
    assert rows[0][:4] == (first, "sweep", 1, "ok") and rows[0][4] is not None
    assert rows[1][:4] == (second, "convert", 0, None)


def test_schema_version_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with Ledger(path) as ledger:
        add_order(ledger)
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    raw.close()
    with Ledger(path) as reopened:  # opening again does not re-create or wipe anything
        assert len(reopened.records()) == 1


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    Ledger(path).close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(LedgerError, match="newer dustsweep"):
        Ledger(path)


def test_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(LedgerError) as caught:
        Ledger(path)
    assert str(caught.value).startswith(f"{path}: cannot use the history file")


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_history_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "history.sqlite3"
    Ledger(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_closed_ledger_refuses_work(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "h.sqlite3")
    ledger.close()
    ledger.close()  # twice is fine
    with pytest.raises(LedgerError, match="closed"):
        ledger.records()
    with pytest.raises(LedgerError, match="closed"):
        ledger.begin_run("scan", dry_run=True)


def test_record_is_frozen(ledger: Ledger) -> None:
    record = ledger.get(add_order(ledger))
    assert isinstance(record, Record)
    with pytest.raises(AttributeError):
        record.status = "filled"  # type: ignore[misc]
