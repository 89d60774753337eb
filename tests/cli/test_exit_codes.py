"""Every documented exit code is produced by the one mapping in cli.run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dustsweep.errors import ExitCode
from dustsweep.sim.demo import DEMO_SCENARIO
from dustsweep.storage.state import RunLock
from tests.cli.test_scan import accounts_for, keys  # noqa: F401 - fixture
from tests.conftest import write_config

pytestmark = pytest.mark.usefixtures("keys")


def test_documented_codes_have_fixed_values() -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 5, 130]


def test_unexpected_error_is_exit_1_without_traceback(
    cli: Any, sim_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = sim_factory(DEMO_SCENARIO)
    config = write_config(tmp_path, accounts_for(sim))

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("dustsweep.core.classify.classify", boom)
    result = cli("--config", str(config), "scan")
    assert result.code == 1
    assert "unexpected error" in result.err and "DUSTSWEEP_DEBUG" in result.err
    assert "Traceback" not in result.err


def test_interrupt_is_exit_130(
    cli: Any, sim_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = sim_factory(DEMO_SCENARIO)
    config = write_config(tmp_path, accounts_for(sim))

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("dustsweep.services.app.App.scan", interrupted)
    result = cli("--config", str(config), "scan")
    assert result.code == 130 and "interrupted" in result.err


def test_lock_held_by_another_run_is_exit_5_before_any_request(
    cli: Any, sim_factory: Any, tmp_path: Path, isolated_env: Path
) -> None:
    sim = sim_factory(DEMO_SCENARIO)
    config = write_config(tmp_path, accounts_for(sim))
    with RunLock(isolated_env):
        for command in (["sell", "--yes"], ["sweep", "--yes"], ["convert", "--to", "BNB", "--yes"]):
            result = cli("--config", str(config), *command)
            assert result.code == 5, (command, result.err)
            assert "another dustsweep run" in result.err
    assert all(not server.requests for server in sim.servers.values())


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["sel"], "No such command 'sel'"),
        (["scan", "--json", "--csv"], "dustsweep scan --help"),
        (["sell", "--max-value", "abc"], "--max-value"),
        (["convert", "--to"], "'--to'"),  # --to is optional (convert_to), not its value
    ],
)
def test_usage_errors_are_one_line_exit_2(cli: Any, args: list[str], needle: str) -> None:
    result = cli(*args)
    assert result.code == 2
    assert needle in result.err
    assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err
