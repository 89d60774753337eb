"""`dustsweep history sync`: the exchanges' own logs merged into the local history, once.

Real CLI, real SDK clients, both simulators. Conversions are made with one state folder and
imported by another; dustsweep's own records are matched; a sync failing halfway keeps what it
merged and the rerun adds no duplicate; the logs are read in the windows the real APIs allow.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dustsweep.sim.demo import DEMO_SCENARIO
from dustsweep.storage.ledger import LEDGER_FILE_NAME, Ledger
from tests.cli.test_convert import (
    bybit_records,
    calls,
    dribblet_lines,
    history,
    run_json,
    sim_account,
)
from tests.cli.test_scan import accounts_for
from tests.cli.test_scan import keys as keys  # the fixture
from tests.conftest import write_config

pytestmark = pytest.mark.usefixtures("keys")

D = Decimal
DAY_MS = 86_400_000
DRIBBLET = "/sapi/v1/asset/dribblet"
TRADE_FLOW = "/sapi/v1/convert/tradeFlow"


@pytest.fixture
def sim(sim_factory: Any) -> Any:
    return sim_factory(DEMO_SCENARIO)


@pytest.fixture
def config(sim: Any, tmp_path: Path) -> Path:
    """The default first sync (a year back): these tests read the older windows."""
    return write_config(tmp_path, accounts_for(sim), keep=["BNB"], first_sync_days=None)


@pytest.fixture
def recent_config(sim: Any, tmp_path: Path) -> Path:
    """A first sync of a week: for tests whose conversions are all days old (a year of Bybit's
    7-day windows at 5 requests a second is ~10 s of waiting per sync)."""
    return write_config(tmp_path, accounts_for(sim), keep=["BNB"], first_sync_days=7)


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def use_state(monkeypatch: pytest.MonkeyPatch, folder: Path) -> Path:
    """Another machine: another state folder, hence another history."""
    monkeypatch.setenv("DUSTSWEEP_HOME", str(folder))
    return folder


def sync(cli: Any, config: Path, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    code, doc, err = run_json(cli, config, "history", "sync", *args)
    return code, list(doc), err  # type: ignore[arg-type]


def by_account(doc: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["account"]: row for row in doc}


def conversions(cli: Any, config: Path) -> list[dict[str, Any]]:
    return [r for r in history(cli, config) if r["kind"] == "conversion"]


def convert_here(cli: Any, config: Path, account: str, target: str) -> None:
    code, doc, err = run_json(cli, config, "convert", "--to", target, "--account", account, "--yes")
    assert code == 0, err
    assert doc["accounts"][0]["conversions"], "the scenario must have something to convert"


def test_conversions_made_elsewhere_are_imported_once_and_own_ones_matched(
    cli: Any, sim: Any, recent_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = recent_config
    use_state(monkeypatch, tmp_path / "machine-a")
    convert_here(cli, config, "main", "BNB")
    convert_here(cli, config, "uta", "USDT")
    own = conversions(cli, config)
    assert own and {r["source"] for r in own} == {"dustsweep"}

    # The machine that converted: its sync matches every logged line with its own record.
    code, doc, err = sync(cli, config)
    assert code == 0, err
    rows = by_account(doc)
    assert rows["main"]["added"] == 0 and rows["uta"]["added"] == 0
    assert rows["main"]["matched"] + rows["uta"]["matched"] == len(own)
    assert conversions(cli, config) == own

    # Another machine never saw them: its sync adds them, as the exchange logged them.
    use_state(monkeypatch, tmp_path / "machine-b")
    assert history(cli, config) == []
    code, doc, err = sync(cli, config)
    assert code == 0, err
    imported = conversions(cli, config)
    assert len(imported) == len(own)
    assert {r["source"] for r in imported} == {"exchange"}
    assert {r["status"] for r in imported} == {"converted"}
    logged = {line["fromAsset"]: line for line in dribblet_lines(sim)}
    for record in (r for r in imported if r["exchange"] == "binance"):
        line = logged[record["asset"]]
        assert D(record["qty"]) == D(line["amount"])
        assert record["received_asset"] == "BNB" and record["fee_asset"] == "BNB"
        assert D(record["fee"]) == D(line["serviceChargeAmount"])
        assert D(record["received_qty"]) == D(line["transferedAmount"]) + D(record["fee"])
    (bybit,) = bybit_records(sim)
    subs = {s.from_coin: s for s in bybit.subs}
    for record in (r for r in imported if r["exchange"] == "bybit"):
        sub = subs[record["asset"]]
        assert D(record["qty"]) == sub.from_amount and D(record["fee"]) == sub.fee
        assert D(record["received_qty"]) == sub.to_amount + sub.fee

    # Running it twice adds nothing; asking from an explicit date adds nothing either (a recent
    # one: each week back is one more Bybit request at 5 a second).
    explicit = (datetime.now(UTC) - timedelta(days=20)).date().isoformat()
    for args in ((), ("--since", explicit)):
        code, doc, err = sync(cli, config, *args)
        assert code == 0, err
        assert all(row["added"] == 0 and row["matched"] == 0 for row in doc), doc
        assert conversions(cli, config) == imported


def test_first_sync_reads_a_year_then_starts_from_the_last_one(
    cli: Any, sim: Any, tmp_path: Path
) -> None:
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"], first_sync_days=None)
    code, doc, err = sync(cli, config, "--account", "main")
    assert code == 0, err
    since = doc[0]["since"]
    ledger = Ledger(tmp_path / "state" / LEDGER_FILE_NAME)
    try:
        last = ledger.last_sync("binance", "main")
    finally:
        ledger.close()
    assert last is not None and since < last
    # One year back: 365 days before the mark (to the millisecond the mark was taken).
    assert parse(last) - parse(since) == timedelta(days=365)
    code, doc, err = sync(cli, config, "--account", "main")
    assert code == 0, err
    # The next sync starts a day before the last one ended (late settlements are not missed).
    assert parse(last) - parse(doc[0]["since"]) == timedelta(days=1)


@pytest.mark.parametrize("days", [8, 15])
def test_first_sync_days_bounds_how_far_back_a_first_sync_reads(
    cli: Any, sim: Any, tmp_path: Path, days: int
) -> None:
    """Bybit's small-balance log is read in 7-day windows: 8 days take 2 requests, 15 take 3."""
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"], first_sync_days=days)
    code, doc, err = sync(cli, config, "--account", "uta")
    assert code == 0, err
    ledger = Ledger(tmp_path / "state" / LEDGER_FILE_NAME)
    try:
        last = ledger.last_sync("bybit", "uta")
    finally:
        ledger.close()
    assert last is not None
    assert parse(last) - parse(doc[0]["since"]) == timedelta(days=days)
    windows = -(-days // 7)
    assert calls(sim, "bybit", "/v5/asset/covert/small-balance-history", "GET") == windows


# ---- the logs page and window as the real ones do ----------------------------------------------


def log_dust_elsewhere(sim: Any, count: int, start_ms: int, step_ms: int) -> None:
    """Dust conversions made on the web page: one asset each, straight into the sim's log."""
    account = sim_account(sim, "binance")
    for i in range(count):
        stamp = start_ms + i * step_ms
        account.dribblets.append(
            {
                "operateTime": stamp,
                "totalTransferedAmount": "0.00098",
                "totalServiceChargeAmount": "0.00002",
                "transId": 7_000_000 + i,
                "userAssetDribbletDetails": [
                    {
                        "transId": 8_000_000 + i,
                        "serviceChargeAmount": "0.00002",
                        "amount": f"{i + 1}.5",
                        "operateTime": stamp,
                        "transferedAmount": "0.00098",
                        "fromAsset": f"W{i}",
                    }
                ],
            }
        )


def convert_elsewhere(sim: Any, when_ms: list[int]) -> list[Any]:
    """Convert trades made in the app, months apart."""
    from dustsweep.sim.binance.convert import ConvertOrder, ConvertQuote

    account = sim_account(sim, "binance")
    orders = []
    for i, stamp in enumerate(when_ms):
        quote = ConvertQuote(f"q{i}", "demo", "XRP", "USDT", D("10"), D("20.5"), D("2.05"),
                             D("0.48780488"), stamp + 10_000, used=True)  # fmt: skip
        orders.append(ConvertOrder(900 + i, quote, stamp))
    account.convert_orders.extend(orders)
    return orders


def test_a_full_dust_log_window_is_split_and_convert_trades_are_read_30_days_at_a_time(
    cli: Any, sim: Any, config: Path
) -> None:
    now = sim.clock.now_ms()
    # 130 conversions within ten days: more than the 100 one dribblet answer holds.
    log_dust_elsewhere(sim, 130, now - 10 * DAY_MS, DAY_MS // 15)
    trades = convert_elsewhere(sim, [now - 300 * DAY_MS, now - 95 * DAY_MS, now - DAY_MS])
    code, doc, err = sync(cli, config, "--account", "main")
    assert code == 0, err
    assert doc[0]["added"] == 130 + len(trades)
    records = conversions(cli, config)
    dust = [r for r in records if r["asset"].startswith("W")]
    assert sorted(D(r["qty"]) for r in dust) == [D(f"{i + 1}.5") for i in range(130)]
    assert all(r["received_asset"] == "BNB" and r["fee"] == "0.00002" for r in dust)
    assert all(D(r["received_qty"]) == D("0.001") for r in dust)  # gross = net + charge
    convert = [r for r in records if r["asset"] == "XRP"]
    assert len(convert) == 3
    assert all((r["received_qty"], r["fee"], r["received_asset"]) == ("20.5", "0", "USDT")
               for r in convert)  # fmt: skip
    assert {r["order_id"] for r in convert} == {str(t.order_id) for t in trades}
    # Every tradeFlow query stayed within the real 30-day limit (the simulator refuses more).
    assert sim.servers["binance"].faults.count("GET", TRADE_FLOW) >= 13


def test_a_sync_failing_halfway_keeps_what_it_merged_and_the_rerun_adds_no_duplicate(
    cli: Any, sim: Any, config: Path, tmp_path: Path
) -> None:
    now = sim.clock.now_ms()
    log_dust_elsewhere(sim, 5, now - 2 * DAY_MS, 3_600_000)  # in the newest window
    dust_log = sim_account(sim, "binance").dribblets
    dust_log[-1]["operateTime"] = now - 45 * DAY_MS  # in the second window
    dust_log[-1]["userAssetDribbletDetails"][0]["operateTime"] = now - 45 * DAY_MS
    convert_elsewhere(sim, [now - 3 * DAY_MS])
    faults = sim.servers["binance"].faults
    refusal = {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
    faults.add("http", DRIBBLET, method="GET", calls=2, status=401, body=refusal)
    code, doc, err = sync(cli, config, "--account", "main")
    assert code == 3, err
    assert doc[0]["error"] and doc[0]["added"] == 4  # the newest window was merged
    assert len(conversions(cli, config)) == 4
    ledger = Ledger(tmp_path / "state" / LEDGER_FILE_NAME)
    try:
        assert ledger.last_sync("binance", "main") is None  # not complete: no mark
    finally:
        ledger.close()
    faults.clear()
    code, doc, err = sync(cli, config, "--account", "main")
    assert code == 0, err
    assert doc[0]["added"] == 2 and doc[0]["known"] == 4
    records = conversions(cli, config)
    assert len(records) == 6
    assert len({(r["asset"], r["order_id"]) for r in records}) == 6


@pytest.mark.parametrize("enabled", [True, False])
def test_a_live_sweep_syncs_unless_sync_history_is_false(
    cli: Any, sim: Any, tmp_path: Path, enabled: bool
) -> None:
    from tests.cli.test_sweep import sweep_accounts

    config = write_config(tmp_path, sweep_accounts(sim), keep=["BNB"], sync_history=enabled)
    now = sim.clock.now_ms()
    log_dust_elsewhere(sim, 2, now - 5 * DAY_MS, 3_600_000)  # from the web page, days ago
    code, _, err = run_json(cli, config, "sweep", "--dry-run")
    assert code == 0, err
    assert sim.servers["binance"].faults.count("GET", TRADE_FLOW) == 0  # a dry run never syncs
    code, _, err = run_json(cli, config, "sweep", "--yes")
    assert code == 0, err
    records = history(cli, config)
    from_web = [r for r in records if r["asset"].startswith("W")]
    ledger = Ledger(tmp_path / "state" / LEDGER_FILE_NAME)
    try:
        marks = [ledger.last_sync("binance", "main"), ledger.last_sync("bybit", "uta")]
    finally:
        ledger.close()
    if enabled:
        assert len(from_web) == 2 and {r["source"] for r in from_web} == {"exchange"}
        assert all(marks)
        # The sweep's own conversions were matched, not imported a second time.
        own = [r for r in records if r["kind"] == "conversion" and r["source"] == "dustsweep"]
        assert own
        code, doc, err = sync(cli, config)
        assert code == 0 and all(row["added"] == 0 for row in doc), (doc, err)
    else:
        assert from_web == [] and marks == [None, None]
        assert sim.servers["binance"].faults.count("GET", TRADE_FLOW) == 0


def test_bybit_convert_trades_from_the_app_are_imported_page_by_page(
    cli: Any, sim: Any, recent_config: Path
) -> None:
    config = recent_config
    from dustsweep.sim.bybit.convert import ConvertQuote as BybitQuote
    from dustsweep.sim.bybit.convert import ConvertRecord

    now = sim.clock.now_ms()
    account = sim_account(sim, "bybit")
    desk = sim.dialect("bybit").coin_exchange
    made = []
    for i in range(130):  # more than one page of 100
        quote = BybitQuote(f"tx{i}", account.name, "SOL", "USDT", D("0.1"), D("14.2"), D("142"),
                           now, "")  # fmt: skip
        made.append(ConvertRecord(quote, now - i * 3_600_000, 0, 0, status="success"))
    failed = BybitQuote("txf", account.name, "SOL", "USDT", D("1"), D("1"), D("1"), now, "")
    made.append(ConvertRecord(failed, now - 1000, 0, 0, status="failure"))
    desk.records.setdefault(account.name, []).extend(made)
    code, doc, err = sync(cli, config, "--account", "uta")
    assert code == 0, err
    assert doc[0]["added"] == 130  # the failed one moved nothing
    records = conversions(cli, config)
    assert len(records) == 130
    assert {(r["asset"], r["received_asset"], r["qty"], r["received_qty"], r["fee"])
            for r in records} == {("SOL", "USDT", "0.1", "14.2", "0")}  # fmt: skip
    assert {r["client_id"] for r in records} == {f"tx{i}" for i in range(130)}
    code, doc, err = sync(cli, config, "--account", "uta")
    assert code == 0 and doc[0]["added"] == 0, err
