"""``dustsweep demo``: the real product against the built-in simulator, with no keys.

The simulator runs in-process on 127.0.0.1; the accounts are reached through the real adapters
(python-binance and pybit), so what the command prints is exactly what a real user sees: first
the scan, then the unattended job, ``sweep --yes``, selling and converting on the simulated
accounts. State (rules cache, history, lock) goes to a temporary folder, never the user's own.
This module only runs it (the sweep itself is handed in by the command, so the demo does not
depend on the whole sweep stack); the command renders the result.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dustsweep.errors import ExitCode

if TYPE_CHECKING:
    from collections.abc import Callable

    from dustsweep.services.app import AccountScan, App
    from dustsweep.services.sweep import SweepResult


@dataclass(frozen=True)
class DemoResult:
    quote: str
    scans: list[AccountScan]
    sweep: SweepResult
    code: ExitCode


def run_demo(sweep: Callable[[App], SweepResult]) -> DemoResult:
    """Scan the demo accounts, then ``sweep`` them (``services.sweep.sweep_all``)."""
    from dustsweep.config.load import load_config
    from dustsweep.run.exit import outcome_code, sweep_exit_code
    from dustsweep.services.app import App
    from dustsweep.sim.demo import DEMO_SCENARIO, demo_config_toml
    from dustsweep.sim.run import start_sim

    with (
        tempfile.TemporaryDirectory(prefix="dustsweep-demo-") as tmp,
        start_sim(DEMO_SCENARIO) as sim,
    ):
        folder = Path(tmp)
        config_path = folder / "config.toml"
        # One simulated account per dialect the simulator serves: "<dialect>_url" each.
        urls = {f"{dialect}_url": server.url for dialect, server in sim.servers.items()}
        config_path.write_text(demo_config_toml(**urls))
        os.chmod(config_path, 0o600)
        state = folder / "state"
        env = {"DUSTSWEEP_HOME": str(state)}
        config = load_config(config_path, env)
        app = App(config, config_path, env, state)
        scans = app.scan([])
        result = sweep(app)
        code = outcome_code([s.error for s in scans]) or sweep_exit_code(result)
    return DemoResult(config.quote, scans, result, code if code else ExitCode.OK)
