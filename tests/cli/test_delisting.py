"""Delisting end to end (issue 14): the schedule in scan, sweep's warnings (even with --quiet),
pre-emptive sales with sell_before_delist, Bybit announcements (warn only), the doctor's
``bnb_fees`` check, and config errors. Real SDKs against the simulator."""

from __future__ import annotations

import copy
import json
import re
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dustsweep.sim.demo import DEMO_SCENARIO
from tests.cli.test_scan import accounts_for
from tests.cli.test_scan import keys as keys  # the fixture
from tests.conftest import write_config

pytestmark = pytest.mark.usefixtures("keys")

CENT = Decimal("0.01")
SCHEDULE = ("GET", "/sapi/v1/spot/delist-schedule")
ANNOUNCEMENTS = ("GET", "/v5/announcements/index")
# every DOGE market into the default sell quotes (DOGETUSD is not one of them)
DOGE_MARKETS = ["DOGEUSDT", "DOGEUSDC", "DOGEFDUSD", "DOGEBTC", "DOGEBNB"]


def scenario(
    *,
    schedule: list[dict[str, Any]] | None = None,
    binance: dict[str, Any] | None = None,
    bybit: dict[str, Any] | None = None,
    announcements: list[dict[str, Any]] | None = None,
    bnb_burn: bool | None = None,
) -> dict[str, Any]:
    section = copy.deepcopy(DEMO_SCENARIO)
    if schedule is not None:
        section["binance"]["delist_schedule"] = schedule
    if binance is not None:
        section["binance"]["accounts"][0]["balances"] = binance
    if bybit is not None:
        section["bybit"]["accounts"][0]["balances"] = bybit
    if announcements is not None:
        section["bybit"]["announcements"] = announcements
    if bnb_burn is not None:
        section["binance"]["accounts"][0]["bnb_burn"] = bnb_burn
    return section


def processed(sim: Any, exchange: str, call: tuple[str, str]) -> int:
    return sum(1 for request in sim.servers[exchange].requests if request == call)


def doge_orders(sim: Any) -> list[Any]:
    return [o for o in sim.dialect("binance").account("demo").orders if o.symbol.startswith("DOGE")]


def scan_account(cli: Any, config: Path, name: str, *extra: str) -> dict[str, Any]:
    result = cli("--config", str(config), "scan", "--json", "--all", *extra)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    return next(a for a in doc["accounts"] if a["name"] == name)


def test_scan_shows_when_each_asset_is_delisted_with_markets_closing_on_some_quotes(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    sim = sim_factory(
        scenario(
            schedule=[
                # SHIB sells only into USDT: delisting when SHIBUSDT closes
                {"delistInHours": 23.5, "symbols": ["SHIBUSDT", "ADAUSDT"]},
                # ADA keeps ADAUSDC, ADABTC...: not delisting although ADAUSDT closes
                {"delistInHours": 30, "symbols": DOGE_MARKETS[:2]},
                {"delistInHours": 40, "symbols": DOGE_MARKETS[2:]},
            ]
        )
    )
    config = write_config(tmp_path, accounts_for(sim))
    account = scan_account(cli, config, "main")
    rows = {row["asset"]: row for row in account["assets"]}
    shib = datetime.fromisoformat(rows["SHIB"]["delist_at"])
    doge = datetime.fromisoformat(rows["DOGE"]["delist_at"])
    assert shib.tzinfo == UTC and rows["SHIB"]["delist_at"].endswith("Z")
    # DOGE: the last of its markets decides
    assert 16.5 * 3600 - 1 <= (doge - shib).total_seconds() <= 16.5 * 3600 + 1
    assert rows["ADA"]["delist_at"] is None
    assert rows["XRP"]["delist_at"] is None
    table = cli("--config", str(config), "scan", "--account", "main")
    assert table.code == 0, table.err
    assert re.search(r"SHIB .* delisted in 23 h", table.out), table.out
    assert re.search(r"DOGE .* delisted in 39 h", table.out), table.out
    # Bybit has no schedule: its rows say null
    uta = scan_account(cli, config, "uta")
    assert all(row["delist_at"] is None for row in uta["assets"])


def test_a_market_past_its_close_is_not_chosen(cli: Any, sim_factory: Any, tmp_path: Path) -> None:
    sim = sim_factory(scenario(schedule=[{"delistInHours": -1, "symbols": ["ADAUSDT"]}]))
    config = write_config(tmp_path, accounts_for(sim))
    ada = next(row for row in scan_account(cli, config, "main")["assets"] if row["asset"] == "ADA")
    assert ada["market"] not in (None, "ADAUSDT"), ada
    assert ada["delist_at"] is None  # its other markets stay open


def test_a_market_closing_after_the_rules_were_cached_is_not_used(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    """The rules cache (24 h) still says TRADING; the schedule says the market has closed, and
    the simulator, like Binance, refuses orders on it from its delisting time on."""
    sim = sim_factory(scenario(schedule=[{"delistInHours": 5 / 3600, "symbols": ["ADAUSDT"]}]))
    began = time.monotonic()  # not before the simulator started: its schedule counts from then
    config = write_config(tmp_path, accounts_for(sim))
    ada = next(row for row in scan_account(cli, config, "main")["assets"] if row["asset"] == "ADA")
    assert ada["market"] == "ADAUSDT"  # still open: the usual choice (5 s: room for a slow CI)
    time.sleep(max(0.0, began + 5.2 - time.monotonic()))
    result = cli("--config", str(config), "sell", "--yes", "--asset", "ADA", "--account", "main")
    assert result.code == 0, result.out + result.err
    accepted = sim.dialect("binance").account("demo").orders
    symbols = {o.symbol for o in accepted}
    assert {s for s in symbols if s.startswith("ADA")} - {"ADAUSDT"}, symbols
    # chosen right away: no order was first sent to the closed market and refused
    assert processed(sim, "binance", ("POST", "/api/v3/order")) == len(accepted), result.out


def test_the_schedule_is_read_once_per_host_and_cached(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    sim = sim_factory(scenario(schedule=[{"delistInHours": 23.5, "symbols": ["SHIBUSDT"]}]))
    second = {**accounts_for(sim)[0], "name": "second"}
    config = write_config(tmp_path, [*accounts_for(sim), second])
    assert scan_account(cli, config, "second")["error"] is None
    assert processed(sim, "binance", SCHEDULE) == 1  # two accounts, one host: one read
    assert processed(sim, "bybit", ANNOUNCEMENTS) == 1
    account = scan_account(cli, config, "main")
    assert processed(sim, "binance", SCHEDULE) == 1  # warm: from the state folder
    assert any(row["delist_at"] for row in account["assets"])


def test_a_failing_schedule_is_unknown_and_the_sales_still_happen(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    sim = sim_factory(scenario())
    method, path = SCHEDULE
    sim.servers["binance"].faults.add("http", path, method=method, status=500, body=b"oops")
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    account = scan_account(cli, config, "main")
    assert account["error"] is None
    assert any("delisting schedule unknown" in w for w in account["warnings"])
    assert all(row["delist_at"] is None for row in account["assets"])
    reads = sim.servers["binance"].faults.count(method, path)
    assert reads == 3  # the adapter's own retries, then unknown
    sweep = cli("--config", str(config), "sweep", "--yes", "--json")
    assert sweep.code == 0, sweep.err
    assert sim.dialect("binance").account("demo").orders  # the sales happened
    # one failed read per host per run, however many snapshots the run takes
    assert sim.servers["binance"].faults.count(method, path) == reads + 3


DOGE_SOON = [{"delistInHours": 23.5, "symbols": DOGE_MARKETS}]
BIG_DOGE = {"USDT": "25", "DOGE": "400"}  # ~63 USDT: above the dust threshold of 10


def test_sweep_warns_under_quiet_and_sells_nothing_without_the_setting(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    sim = sim_factory(scenario(schedule=DOGE_SOON, binance=BIG_DOGE, bybit={"USDT": "5"}))
    config = write_config(tmp_path, accounts_for(sim, bybit={"convert_to": "USDT"}))
    result = cli("--config", str(config), "sweep", "--yes", "--quiet")
    assert result.code == 0, result.err
    assert result.out == ""  # nothing to do: quiet
    lines = [line for line in result.err.splitlines() if "DOGE" in line]
    assert len(lines) == 1, result.err
    worth = (Decimal(400) * sim.dialect("binance").market.price("DOGEUSDT")).quantize(CENT)
    expected = rf"main: DOGE 400 \(worth {worth} USDT\) delisted in 23 h \(20\d\d-"
    assert re.search(expected, lines[0]), lines[0]
    assert "set sell_before_delist = true" in lines[0]
    assert doge_orders(sim) == []
    # beyond delist_warn_hours: no warning
    narrow = write_config(
        tmp_path, accounts_for(sim, bybit={"convert_to": "USDT"}), delist_warn_hours=12
    )
    later = cli("--config", str(narrow), "sweep", "--yes", "--quiet")
    assert "DOGE" not in later.err


def test_sell_before_delist_sells_a_large_balance_before_the_time(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    sim = sim_factory(scenario(schedule=DOGE_SOON, binance=BIG_DOGE, bybit={"USDT": "5"}))
    accounts = accounts_for(sim, bybit={"convert_to": "USDT"})
    config = write_config(tmp_path, accounts, sell_before_delist=True)
    dry = cli("--config", str(config), "sweep", "--json")
    assert dry.code == 0, dry.err
    assert doge_orders(sim) == []
    result = cli("--config", str(config), "sweep", "--yes", "--quiet")
    assert result.code == 0, result.err
    assert "sweep sells it before then" in result.err
    orders = doge_orders(sim)
    assert len(orders) == 1 and orders[0].side == "SELL"
    assert orders[0].symbol in DOGE_MARKETS
    wallet = sim.dialect("binance").account("demo").wallet
    assert wallet.get("DOGE")[0] < 1  # sold, down to the step remainder


def test_keep_and_the_per_asset_cap_still_apply(cli: Any, sim_factory: Any, tmp_path: Path) -> None:
    sim = sim_factory(scenario(schedule=DOGE_SOON, binance=BIG_DOGE, bybit={"USDT": "5"}))
    accounts = accounts_for(sim, bybit={"convert_to": "USDT"})
    kept = write_config(tmp_path, accounts, sell_before_delist=True, keep=["DOGE"])
    assert cli("--config", str(kept), "sweep", "--yes").code == 0
    capped = write_config(tmp_path, accounts, sell_before_delist=True, max_value_per_asset=20)
    assert cli("--config", str(capped), "sweep", "--yes").code == 0
    assert doge_orders(sim) == []


def test_bybit_announcements_warn_with_the_link_and_never_sell(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    notes = [
        {"title": "Delisting of KAVA/USDT and ETHFI/USDT Spot Trading Pairs", "ageHours": 5},
        {"title": "New listing: FIL2 perpetual", "type": "new_crypto", "ageHours": 1},
    ]
    bybit = {"USDT": "5", "KAVA": "400", "ETH": "0.5", "FIL": "1.5"}
    sim = sim_factory(scenario(bybit=bybit, binance={"USDT": "5"}, announcements=notes))
    accounts = accounts_for(sim, bybit={"convert_to": "USDT"})
    config = write_config(tmp_path, accounts, sell_before_delist=True)
    result = cli("--config", str(config), "sweep", "--yes", "--quiet")
    warned = [line for line in result.err.splitlines() if "delisting announcement" in line]
    assert len(warned) == 1 and "uta: KAVA 400" in warned[0], result.err
    assert "https://announcements.bybit.com/" in warned[0]
    orders = sim.dialect("bybit").account("demo").orders
    assert not any(str(o.symbol).startswith("KAVA") for o in orders)


def test_announcements_endpoint_requires_locale(sim_factory: Any) -> None:
    from pybit.unified_trading import HTTP

    sim = sim_factory(scenario(announcements=[{"title": "Delisting of KAVA", "ageHours": 1}]))
    session = HTTP(testnet=False, max_retries=1, retry_codes={-1})
    session.endpoint = sim.url("bybit")
    answer = session.get_announcement(locale="en-US", type="delistings", limit=50)
    assert answer["result"]["total"] == 1
    assert answer["result"]["list"][0]["type"]["key"] == "delistings"
    with pytest.raises(Exception, match="locale"):
        session.get_announcement(type="delistings")


@pytest.mark.parametrize("on", [True, False])
def test_doctor_bnb_fees_both_ways(cli: Any, sim_factory: Any, tmp_path: Path, on: bool) -> None:
    sim = sim_factory(scenario(bnb_burn=on))
    config = write_config(tmp_path, accounts_for(sim))
    result = cli("--config", str(config), "doctor")
    assert result.code == 0, result.out + result.err
    binance = [line for line in result.out.splitlines() if "main (binance) bnb_fees" in line]
    bybit = [line for line in result.out.splitlines() if "uta (bybit) bnb_fees" in line]
    assert len(binance) == 1 and len(bybit) == 1, result.out
    if on:
        assert binance[0].startswith("ok ")
    else:
        assert binance[0].startswith("warn ")
        assert "spotBNBBurn" in binance[0] and "BNB to pay for fees" in binance[0]
    assert bybit[0].startswith("ok ") and "fee" in bybit[0]


@pytest.mark.parametrize(
    ("setting", "needle"),
    [
        ("delist_warn_hours = 0", "delist_warn_hours"),
        ("delist_warn_hours = -3", "delist_warn_hours"),
        ('delist_warn_hours = "soon"', "delist_warn_hours"),
        ('sell_before_delist = "yes"', "sell_before_delist"),
        ("sell_before_delist = 1", "sell_before_delist"),
    ],
)
def test_bad_delisting_settings_are_one_line_exit_2(
    cli: Any, sim_factory: Any, tmp_path: Path, setting: str, needle: str
) -> None:
    sim = sim_factory(scenario())
    config = write_config(tmp_path, accounts_for(sim))
    config.write_text(setting + "\n" + config.read_text())
    result = cli("--config", str(config), "scan")
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.err
    assert sum(len(s.requests) for s in sim.servers.values()) == 0


@pytest.mark.parametrize("setting", [True, False])
def test_what_cannot_be_sold_before_delisting_is_converted_with_the_setting(
    cli: Any, sim_factory: Any, tmp_path: Path, setting: bool
) -> None:
    section = scenario(schedule=DOGE_SOON, binance={"USDT": "5", "DOGE": "300"})
    # every DOGE market asks far more than 300 DOGE are worth: nothing can be sold
    for symbol in DOGE_MARKETS:
        section["binance"]["symbols"][symbol] = {"filters": {"NOTIONAL": {"minNotional": "1000"}}}
    section["binance"]["conversion"] = {"max_value": "0.01"}  # Binance would convert it
    sim = sim_factory(section)
    accounts = accounts_for(sim, binance={"convert_to": "BNB"}, bybit={"convert_to": "USDT"})
    config = write_config(tmp_path, accounts, keep=["BNB"], sell_before_delist=setting)
    result = cli("--config", str(config), "sweep", "--yes")
    assert result.code == 0, result.out + result.err
    assert doge_orders(sim) == []
    account = sim.dialect("binance").account("demo")
    conversions = [*account.dribblets, *account.convert_orders]
    assert bool(conversions) is setting, conversions
    assert account.wallet.get("DOGE")[0] == (0 if setting else 300)
