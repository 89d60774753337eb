"""State-folder trouble gives one line, exit 2, no traceback, and nothing traded when the
history cannot record: a full disk, a read-only folder, a locked, corrupt, misplaced or lost
history. Real conditions: tests run as root, where chmod denies nothing, so a full or read-only
file system is a small tmpfs (skipped where mounting is not allowed)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dustsweep.sim.demo import DEMO_SCENARIO
from dustsweep.storage.ledger import LEDGER_FILE_NAME, MARKER_SUFFIX, Ledger
from tests.cli.test_scan import accounts_for
from tests.cli.test_scan import keys as keys  # the fixture
from tests.conftest import write_config
from tests.sell.test_execute import make_harness as make_harness  # the fixture

pytestmark = pytest.mark.usefixtures("keys")

ORDER_PATHS = {"binance": "/api/v3/order", "bybit": "/v5/order/create"}


@pytest.fixture
def sim(sim_factory: Any) -> Any:
    return sim_factory(DEMO_SCENARIO)


@pytest.fixture
def config(sim: Any, tmp_path: Path) -> Path:
    return write_config(tmp_path, accounts_for(sim), keep=["BNB"])


def wallets(sim: Any) -> dict[str, dict[str, Decimal]]:
    out = {}
    for exchange in ("binance", "bybit"):
        wallet = sim.dialect(exchange).account("demo").wallet
        out[exchange] = {a: Decimal(wallet.get(a)[0]) for a in wallet.assets()}
    return out


def nothing_traded(sim: Any, before: dict[str, dict[str, Decimal]]) -> None:
    for exchange, path in ORDER_PATHS.items():
        assert sim.servers[exchange].faults.count("POST", path) == 0, exchange
    assert wallets(sim) == before


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "unexpected error" not in err
    return lines[0]


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: a file system that really fills up or really is read-only."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "mnt"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def fill(folder: Path) -> None:
    """Write until the file system says it is full."""
    with contextlib.suppress(OSError), (folder / "filler").open("wb") as handle:
        while True:
            handle.write(b"\0" * 65536)
            handle.flush()
            os.fsync(handle.fileno())


@pytest.mark.parametrize("history_exists", [False, True])
def test_a_full_disk_is_one_line_and_nothing_is_traded(
    cli: Any,
    sim: Any,
    config: Path,
    tmpfs: Path,
    monkeypatch: pytest.MonkeyPatch,
    history_exists: bool,
) -> None:
    home = tmpfs / "state"
    monkeypatch.setenv("DUSTSWEEP_HOME", str(home))
    assert cli("--config", str(config), "scan").code == 0  # the rules cache fits
    if history_exists:
        Ledger(home / LEDGER_FILE_NAME).close()
    fill(tmpfs)
    before = wallets(sim)
    result = cli("--config", str(config), "sell", "--yes")
    assert result.code == 2, (result.out, result.err)
    line = one_line(result.err)
    assert LEDGER_FILE_NAME in line and "nothing" in line, line
    nothing_traded(sim, before)


def test_a_read_only_state_folder_is_one_line(
    cli: Any, sim: Any, config: Path, tmpfs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmpfs / "state"
    monkeypatch.setenv("DUSTSWEEP_HOME", str(home))
    assert cli("--config", str(config), "scan").code == 0
    remount = ["mount", "-o", "remount,ro", str(tmpfs)]
    if subprocess.run(remount, capture_output=True, check=False).returncode != 0:
        pytest.skip("cannot remount read-only here")
    before = wallets(sim)
    result = cli("--config", str(config), "sell", "--yes")
    assert result.code == 2, (result.out, result.err)
    line = one_line(result.err)
    assert str(home) in line and "nothing was sent" in line, line
    nothing_traded(sim, before)


def test_history_path_that_is_a_folder_is_one_line(
    cli: Any, sim: Any, config: Path, isolated_env: Path
) -> None:
    (isolated_env / LEDGER_FILE_NAME).mkdir(parents=True)
    before = wallets(sim)
    result = cli("--config", str(config), "sell", "--yes")
    assert result.code == 2, (result.out, result.err)
    assert LEDGER_FILE_NAME in one_line(result.err)
    nothing_traded(sim, before)


def test_a_corrupt_history_is_one_line(
    cli: Any, sim: Any, config: Path, isolated_env: Path
) -> None:
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / LEDGER_FILE_NAME).write_bytes(b"this is not a database" * 500)
    before = wallets(sim)
    result = cli("--config", str(config), "sell", "--yes")
    assert result.code == 2, (result.out, result.err)
    assert "not a database" in one_line(result.err)
    nothing_traded(sim, before)
    history = cli("--config", str(config), "history")
    assert history.code == 2 and "Traceback" not in history.err


def test_a_locked_history_is_one_line(
    cli: Any, sim: Any, config: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dustsweep.storage.ledger.BUSY_TIMEOUT_S", 0.2)
    path = isolated_env / LEDGER_FILE_NAME
    Ledger(path).close()
    other = sqlite3.connect(path, isolation_level=None)  # e.g. an sqlite browser
    try:
        other.execute("BEGIN EXCLUSIVE")
        before = wallets(sim)
        result = cli("--config", str(config), "sell", "--yes")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert result.code == 2, (result.out, result.err)
    assert "locked" in one_line(result.err)
    nothing_traded(sim, before)


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_a_lost_history_is_refused_not_recreated(
    cli: Any, sim: Any, config: Path, isolated_env: Path, damage: str
) -> None:
    path = isolated_env / LEDGER_FILE_NAME
    Ledger(path).close()
    marker = path.with_name(path.name + MARKER_SUFFIX)
    assert marker.exists()
    if damage == "truncate":
        path.write_bytes(b"")
    else:
        path.unlink()
    before = wallets(sim)
    result = cli("--config", str(config), "sell", "--yes")
    assert result.code == 2, (result.out, result.err)
    line = one_line(result.err)
    assert "a history existed" in line and marker.name in line
    nothing_traded(sim, before)
    assert not path.exists() or path.stat().st_size == 0  # never silently re-created
    # Deleting the marker is the documented way to start a new history.
    marker.unlink()
    assert cli("--config", str(config), "sell", "--yes").code == 0
    assert marker.exists() and path.stat().st_size > 0


def test_an_existing_history_without_marker_gets_one(isolated_env: Path) -> None:
    """Histories from before the marker existed are adopted, not refused."""
    path = isolated_env / LEDGER_FILE_NAME
    Ledger(path).close()
    marker = path.with_name(path.name + MARKER_SUFFIX)
    marker.unlink()
    Ledger(path).close()
    assert marker.exists()


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_when_the_history_stops_recording_mid_run_no_further_order_is_sent(
    make_harness: Any, exchange: str
) -> None:
    """Every order is recorded before it is sent: a history that fails (here: closed under
    the run, as a vanished disk would) stops the run's orders, each with the one line."""
    from dustsweep.sell.execute import SKIPPED

    h = make_harness(exchange, {"ADA": "12.3456", "XRP": "3", "DOT": "2"})
    from dustsweep.sell.execute import execute_sells

    snap, plan = h.plan()
    ctx = h.context(snap, concurrency=2)  # the run is recorded as started
    h.ledger.close()
    result = execute_sells(plan, ctx)
    assert h.orders_placed() == 0
    assert all(o.status == SKIPPED for o in result.outcomes)
    assert all(LEDGER_FILE_NAME in (o.error or "") for o in result.outcomes)
    assert not any("internal error" in (o.error or "") for o in result.outcomes)
