"""``dustsweep demo``: the real product against the built-in simulator, with no keys.

The simulator runs in-process on 127.0.0.1; the accounts are reached through the real adapters
(python-binance and pybit), so what the command prints is exactly what a real user sees: first
the scan, then the unattended job, ``sweep --yes``, selling and converting on the simulated
accounts, and the history it wrote. State (rules cache, history, lock) goes to a temporary
folder, never the user's own. This module only runs it (the sweep itself is handed in by the
command, so the demo does not depend on the whole sweep stack); the command renders the result.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from dustsweep.errors import ExitCode

if TYPE_CHECKING:
    from collections.abc import Callable

    from dustsweep.services.app import AccountScan, App
    from dustsweep.services.sweep import SweepResult
    from dustsweep.storage.records import Record


@dataclass(frozen=True)
class DemoResult:
    """What the demo shows, in order: the scan, the sweep's plan (a dry run), the sweep, the
    scan again (for the before/after values), and the history the sweep wrote."""

    quote: str
    scans: list[AccountScan]
    plan: SweepResult
    sweep: SweepResult
    after: list[AccountScan]
    history: list[Record]
    code: ExitCode


@dataclass(frozen=True)
class Values:
    """Across accounts, in the quote: every priced balance, and the small balances in it."""

    total: Decimal
    small: Decimal


def values(scans: Sequence[AccountScan]) -> Values:
    reports = [s.report for s in scans if s.report is not None]
    return Values(
        total=sum((r.totals.total for r in reports), Decimal(0)),
        small=sum((r.totals.small for r in reports), Decimal(0)),
    )


def run_demo(sweep: Callable[[App, bool], SweepResult]) -> DemoResult:
    """Scan the demo accounts, plan their sweep, run it (``sweep``: ``services.sweep.sweep_all``
    with ``live``), scan again and read the history."""
    from dustsweep.config.load import load_config
    from dustsweep.run.exit import outcome_code, sweep_exit_code
    from dustsweep.services.app import App
    from dustsweep.services.history import read_history
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
        plan = sweep(app, False)
        result = sweep(app, True)
        after = app.scan([])
        history = read_history(state, ())
        code = outcome_code([s.error for s in scans]) or sweep_exit_code(result)
    return DemoResult(
        config.quote, scans, plan, result, after, history, code if code else ExitCode.OK
    )
