"""The console script ends with ``os._exit`` after a command (``cli.finish``): nothing may be
lost on the way. Real processes (``cli.main`` as the console script runs it) against the
simulator: the whole JSON document arrives, the rules cache written in the background is on
disk, and the exit code is the command's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dustsweep.sim.demo import DEMO_KEYS, DEMO_SCENARIO
from tests.conftest import write_config
from tests.paths import REPO


def run_main(config: Path, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DUSTSWEEP_HOME=str(state), PYTHONPATH=str(REPO))
    command = [sys.executable, "-c", "from dustsweep.cli import main; main()"]
    return subprocess.run(
        [*command, "--config", str(config), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def accounts(sim: Any, secret: str | None = None) -> list[dict[str, Any]]:
    rows = []
    for exchange in ("binance", "bybit"):
        key, real_secret = DEMO_KEYS[exchange]
        rows.append(
            {
                "name": exchange,
                "exchange": exchange,
                "api_key": key,
                "api_secret": secret or real_secret,
                "base_url": sim.url(exchange),
            }
        )
    return rows


@pytest.mark.timeout(90)
def test_cold_scan_output_and_rules_cache_survive_the_fast_exit(
    sim_factory: Any, tmp_path: Path
) -> None:
    sim = sim_factory(DEMO_SCENARIO)
    config = write_config(tmp_path, accounts(sim))
    done = run_main(config, tmp_path / "state", "scan", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert [a["name"] for a in document["accounts"]] == ["binance", "bybit"]
    rules = sorted((tmp_path / "state").rglob("rules-*.json"))
    assert len(rules) == 2
    assert all(json.loads(path.read_bytes())["rules"] for path in rules)


@pytest.mark.timeout(90)
def test_the_fast_exit_keeps_the_commands_exit_code(sim_factory: Any, tmp_path: Path) -> None:
    sim = sim_factory(DEMO_SCENARIO)
    config = write_config(tmp_path, accounts(sim, secret="wrong-secret-1234567"))
    done = run_main(config, tmp_path / "state", "scan", "--json")
    assert done.returncode == 3, done.stderr
    assert len(json.loads(done.stdout)["accounts"]) == 2
    assert "wrong-secret-1234567" not in done.stdout + done.stderr
