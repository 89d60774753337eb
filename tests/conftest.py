"""Shared fixtures: an isolated environment for every test, the simulator, and a CLI runner."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dustsweep.sim.run import RunningSim, start_sim

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No test sees the user's config, state, proxies or colours."""
    home = tmp_path / "state"
    monkeypatch.setenv("DUSTSWEEP_HOME", str(home))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "220")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("DUSTSWEEP_CONFIG", raising=False)
    monkeypatch.delenv("DUSTSWEEP_DEBUG", raising=False)
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    from dustsweep.exchanges.bans import REGISTRY

    REGISTRY.clear()  # a ban is process-wide: one test's ban must not stop the next test
    return home


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run the real command line in-process; returns exit code, stdout and stderr."""
    from dustsweep.cli import run

    def invoke(*args: str) -> CliResult:
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def sim_factory() -> Iterator[Any]:
    """Start simulators for scenarios; all stopped at the end of the test."""
    running: list[RunningSim] = []

    def start(scenario: Mapping[str, Any]) -> RunningSim:
        sim = start_sim(scenario)
        running.append(sim)
        return sim

    yield start
    for sim in running:
        sim.stop()


def write_config(
    folder: Path,
    accounts: Sequence[Mapping[str, Any]],
    *,
    mode: int = 0o600,
    first_sync_days: int | None = 7,
    **top: Any,
) -> Path:
    """Write a config TOML (accounts as tables) and return its path.

    ``first_sync_days`` is 7 unless a test says otherwise (None: the default, a year): a live
    sweep syncs the history, and a year of Bybit's small-balance log is 53 windows read at 5
    requests a second, ~10 s of real waiting per test that the simulator's accounts (created
    empty) do not need."""
    if first_sync_days is not None:
        top = {"first_sync_days": first_sync_days, **top}
    lines = []
    for key, value in top.items():
        lines.append(f"{key} = {toml_value(value)}")
    for account in accounts:
        lines.append("")
        lines.append("[[accounts]]")
        for key, value in account.items():
            lines.append(f"{key} = {toml_value(value)}")
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    os.chmod(path, mode)
    return path


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
