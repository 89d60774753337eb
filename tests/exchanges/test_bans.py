"""A ban (Binance 418, Bybit 403) stops all traffic to that host, for every account and worker
of the run, and later runs wait for its end. Counted at the simulator, through the real SDKs."""

from __future__ import annotations

import json
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dustsweep.errors import Banned
from dustsweep.exchanges.bans import BANS_FILE_NAME, REGISTRY, BanActive, iso_utc
from dustsweep.exchanges.base import Credentials
from dustsweep.sim.demo import DEMO_SCENARIO
from tests.cli.test_scan import BINANCE_KEY, BINANCE_SECRET, accounts_for
from tests.cli.test_scan import keys as keys  # the fixture
from tests.conftest import write_config

pytestmark = pytest.mark.usefixtures("keys")

ORDER_PATH = {"binance": "/api/v3/order", "bybit": "/v5/order/create"}
BALANCE_PATH = {"binance": "/api/v3/account", "bybit": "/v5/account/wallet-balance"}
STATUS = {"binance": 418, "bybit": 403}
BODY: dict[str, Any] = {
    "binance": {"code": -1003, "msg": "Way too much request weight used; IP banned."},
    "bybit": b"<html><head><title>403 Forbidden</title></head><body>access too frequent</body>",
}
OTHER = {"binance": "bybit", "bybit": "binance"}


@pytest.fixture
def sim(sim_factory: Any) -> Any:
    return sim_factory(DEMO_SCENARIO)


def config_with(sim: Any, folder: Path, banned: str, copies: int = 3) -> Path:
    """``copies`` accounts on the banned exchange's host (one sim account, so every one of
    them has dust to sell) and one account on the other exchange's host."""
    binance, bybit = accounts_for(sim)
    base = binance if banned == "binance" else bybit
    other = bybit if banned == "binance" else binance
    same_host = [{**base, "name": f"{banned}{i}"} for i in range(copies)]
    return write_config(folder, [*same_host, {**other, "name": "other"}], keep=["BNB"])


def wallet(sim: Any, exchange: str) -> dict[str, Decimal]:
    account = sim.dialect(exchange).account("demo")
    return {asset: Decimal(account.wallet.get(asset)[0]) for asset in account.wallet.assets()}


def total_requests(sim: Any, exchange: str) -> int:
    return sum(sim.servers[exchange].faults.counts().values())


def assert_stopped_at_once(sim: Any, exchange: str) -> None:
    """Only requests already in flight when the first ban answer arrived reach the host: each
    worker (one connection per worker thread) gets at most one ban answer, then sends nothing."""
    banned = sim.servers[exchange].faults.banned_requests
    assert banned, "the ban was never triggered"
    per_connection = Counter(client for _m, _p, client in banned)
    assert max(per_connection.values()) == 1, banned


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_a_ban_on_an_order_stops_every_account_on_that_host(
    cli: Any, sim: Any, tmp_path: Path, isolated_env: Path, exchange: str
) -> None:
    config = config_with(sim, tmp_path, exchange)
    faults = sim.servers[exchange].faults
    faults.ban(
        STATUS[exchange], path=ORDER_PATH[exchange], method="POST", body=BODY[exchange],
        retry_after=120 if exchange == "binance" else None,
    )  # fmt: skip
    before = wallet(sim, exchange)
    other_before = wallet(sim, OTHER[exchange])
    started = time.time()
    result = cli("--config", str(config), "sell", "--yes", "--json")
    assert "Traceback" not in result.err
    assert result.code == 4, (result.out, result.err)  # the other host's account went on
    assert_stopped_at_once(sim, exchange)
    # Nothing moved on the banned host: every order after the trigger was refused unsent.
    assert wallet(sim, exchange) == before
    assert not [r for r in sim.servers[exchange].requests if r == ("POST", ORDER_PATH[exchange])]
    # The other exchange's account sold as usual.
    assert wallet(sim, OTHER[exchange]) != other_before
    doc = json.loads(result.out)
    errors = {a["name"]: a["error"] for a in doc["accounts"]}
    assert errors["other"] is None
    # The ban's end is saved: Retry-After for Binance, 10 minutes for a Bybit 403.
    saved = json.loads((isolated_env / BANS_FILE_NAME).read_text())
    [(key, until_ms)] = saved.items()
    assert key == f"{exchange} 127.0.0.1:{sim.servers[exchange].port}"
    wait = 120 if exchange == "binance" else 600
    assert started + wait - 5 <= until_ms / 1000 <= time.time() + wait + 5

    # A later run (a new process: the registry starts empty) sends nothing to that host.
    REGISTRY.clear()
    count = total_requests(sim, exchange)
    again = cli("--config", str(config), "sell", "--yes", "--account", f"{exchange}0")
    assert again.code == 5, (again.out, again.err)
    assert total_requests(sim, exchange) == count
    lines = [line for line in again.err.splitlines() if line.strip()]
    assert len(lines) == 1 and iso_utc(until_ms) in lines[0], again.err
    assert "Traceback" not in again.err


def test_a_ban_on_the_first_read_stops_concurrent_scans(cli: Any, sim: Any, tmp_path: Path) -> None:
    config = config_with(sim, tmp_path, "binance", copies=4)
    faults = sim.servers["binance"].faults
    faults.ban(418, path=BALANCE_PATH["binance"], method="GET", body=BODY["binance"])
    result = cli("--config", str(config), "scan", "--json")
    assert result.code == 4, (result.out, result.err)
    assert_stopped_at_once(sim, "binance")
    doc = json.loads(result.out)
    errors = {a["name"]: a["error"] for a in doc["accounts"]}
    assert errors["other"] is None
    assert all("banned" in (errors[f"binance{i}"] or "") for i in range(4)), errors


def test_the_registry_refuses_before_sending_and_an_earlier_ban_is_not_now(
    sim: Any, tmp_path: Path
) -> None:
    """Adapter level: a second adapter (another account) on the host is refused unsent."""
    from dustsweep.exchanges.binance.adapter import BinanceExchange

    url = sim.url("binance")
    first = BinanceExchange(Credentials("a", BINANCE_KEY, BINANCE_SECRET, base_url=url))
    second = BinanceExchange(Credentials("b", BINANCE_KEY, BINANCE_SECRET, base_url=url))
    faults = sim.servers["binance"].faults
    faults.ban(418, path="/api/v3/ticker/price", method="GET", retry_after=60)
    try:
        with pytest.raises(Banned):
            first.fetch_prices()
        count = total_requests(sim, "binance")
        with pytest.raises(Banned, match="until") as info:
            second.fetch_balances()
        assert not isinstance(info.value, BanActive)
        assert total_requests(sim, "binance") == count
        # Saved, then seen by a later run as "not now" (exit 5).
        REGISTRY.attach(tmp_path)
        REGISTRY.record("binance", "127.0.0.1:1", Banned("x", retry_after=60))
        REGISTRY.clear()
        REGISTRY.attach(tmp_path)
        with pytest.raises(BanActive) as later:
            REGISTRY.check("binance", "127.0.0.1:1", "a")
        assert later.value.exit_code == 5
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_a_ban_during_the_sales_of_a_sweep_also_stops_its_conversion(
    cli: Any, sim: Any, tmp_path: Path, exchange: str
) -> None:
    binance, bybit = accounts_for(sim)
    binance["convert_to"] = "BNB"
    bybit["convert_to"] = "USDT"
    config = write_config(tmp_path, [binance, bybit], keep=["BNB"])
    faults = sim.servers[exchange].faults
    faults.ban(STATUS[exchange], path=ORDER_PATH[exchange], method="POST", body=BODY[exchange])
    before = wallet(sim, exchange)
    result = cli("--config", str(config), "sweep", "--yes", "--json")
    assert "Traceback" not in result.err
    assert result.code in (3, 4), (result.out, result.err)
    assert_stopped_at_once(sim, exchange)
    assert wallet(sim, exchange) == before  # no sale, no dust conversion, no execution
    executions = {"/sapi/v1/asset/dust", "/v5/asset/covert/small-balance-execute"}
    assert not [r for r in sim.servers[exchange].requests if r[1] in executions]


def test_the_end_of_a_ban_comes_from_retry_after_the_message_or_a_default() -> None:
    from dustsweep.exchanges import capabilities_of
    from dustsweep.exchanges.bans import ban_end_ms

    BINANCE_BAN_S = capabilities_of("binance").ban_default_s
    BYBIT_BAN_S = capabilities_of("bybit").ban_default_s

    now = 1_767_323_000_000
    assert ban_end_ms("binance", Banned("x", retry_after=120), now) == now + 120_000
    said = Banned("Way too much request weight used; IP banned until 1767323045000.")
    assert ban_end_ms("binance", said, now) == 1767323045000
    assert ban_end_ms("binance", Banned("418"), now) == now + int(BINANCE_BAN_S * 1000)
    assert ban_end_ms("bybit", Banned("403"), now) == now + int(BYBIT_BAN_S * 1000)
    assert BYBIT_BAN_S == 600  # Bybit: at least 10 minutes after a 403
    assert iso_utc(1767323045000) == "2026-01-02T03:04:05Z"


def test_a_damaged_bans_file_holds_no_ban(tmp_path: Path) -> None:
    (tmp_path / BANS_FILE_NAME).write_text('{"binance h": "NaN", "x": [1]')
    REGISTRY.attach(tmp_path)
    REGISTRY.check("binance", "h", "a")  # does not raise


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_a_sweep_that_meets_a_ban_says_so_once_and_a_run_during_it_once(
    cli: Any, sim: Any, tmp_path: Path, exchange: str
) -> None:
    """One problem, one line: the sweep's closing history sync neither retries a banned host nor
    repeats its ban, and a sweep while the ban lasts prints one line for that account."""
    binance, bybit = accounts_for(sim)
    config = write_config(
        tmp_path,
        [{**binance, "convert_to": "BNB"}, {**bybit, "convert_to": "USDT"}],
        keep=["BNB"],
    )
    name = binance["name"] if exchange == "binance" else bybit["name"]
    faults = sim.servers[exchange].faults
    faults.ban(STATUS[exchange], path=ORDER_PATH[exchange], method="POST", body=BODY[exchange])
    for attempt in ("meets the ban", "during the ban"):
        result = cli("--config", str(config), "sweep", "--yes")
        assert "Traceback" not in result.err
        assert result.code in (3, 4), (attempt, result.code, result.err)
        lines = [line for line in result.err.splitlines() if line.strip()]
        assert len(lines) == 1, (attempt, result.err)
        assert lines[0].startswith(f"dustsweep: {name}: ") and "banned" in lines[0], lines
        assert_stopped_at_once(sim, exchange)
        REGISTRY.clear()  # the next run is a new process: only bans.json remembers


def test_a_run_during_a_saved_ban_is_5_even_when_another_host_worked(
    cli: Any, sim: Any, tmp_path: Path
) -> None:
    """The ban came on a read (nothing left pending). The next run, with an account on the other
    exchange that sells as usual, exits 5 so that cron tries again after the ban's end."""
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    faults = sim.servers["binance"].faults
    faults.ban(418, path="/api/v3/account", method="GET", body=BODY["binance"], retry_after=120)
    first = cli("--config", str(config), "sell", "--yes")
    assert first.code == 4, (first.out, first.err)  # the bybit account sold; binance met the ban
    REGISTRY.clear()  # a new process: only bans.json remembers
    count = total_requests(sim, "binance")
    again = cli("--config", str(config), "sell", "--yes")
    assert again.code == 5, (again.out, again.err)
    assert total_requests(sim, "binance") == count  # nothing sent to the banned host
    lines = [line for line in again.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "seen by an earlier run" in lines[0], again.err
