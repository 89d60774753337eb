"""``dustsweep demo``: the real product against the built-in simulator, with no keys.

The simulator runs in-process on 127.0.0.1; the accounts are reached through the real adapters
(python-binance and pybit), so what it prints is exactly what a real user sees: first the scan,
then the unattended job, ``sweep --yes``, selling and converting on the simulated accounts.
State (rules cache, history, lock) goes to a temporary folder, never the user's own.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from dustsweep.errors import ExitCode


def run_demo(*, show_all: bool = False, as_json: bool = False) -> int:
    from dustsweep import render
    from dustsweep.config import load_config
    from dustsweep.services.app import App, outcome_code
    from dustsweep.services.sweep import Sweep, sweep_exit_code
    from dustsweep.sim.demo import DEMO_SCENARIO, demo_config_toml
    from dustsweep.sim.run import start_sim
    from dustsweep.storage.ledger import LEDGER_FILE_NAME, Ledger
    from dustsweep.storage.state import RunLock

    with (
        tempfile.TemporaryDirectory(prefix="dustsweep-demo-") as tmp,
        start_sim(DEMO_SCENARIO) as sim,
    ):
        folder = Path(tmp)
        config_path = folder / "config.toml"
        config_path.write_text(demo_config_toml(sim.url("binance"), sim.url("bybit")))
        os.chmod(config_path, 0o600)
        state = folder / "state"
        env = {"DUSTSWEEP_HOME": str(state)}
        config = load_config(config_path, env)
        app = App(config, config_path, env, state)
        scans = app.scan([])
        console = render.make_console()
        if not as_json:
            console.print(
                "[bold]dustsweep demo[/bold]: two simulated accounts on 127.0.0.1 "
                "(real rules and prices from exchange snapshots, made-up balances)\n"
            )
            console.print("[bold]$ dustsweep scan[/bold]\n")
            render.print_scan(console, config.quote, scans, show_all)
            console.print("[bold]$ dustsweep sweep --yes[/bold]   (on the simulator)\n")
        with RunLock(state):
            ledger = Ledger(state / LEDGER_FILE_NAME)
            try:
                result = Sweep(app, ledger, live=True).run(app.resolve([]))
            finally:
                ledger.close()
        if as_json:
            document = render.scan_document(config.quote, scans)
            document["sweep"] = render.sweep_document(result)
            render.print_json(document)
        else:
            render.print_sweep(console, config.quote, result)
        code = outcome_code([s.error for s in scans]) or sweep_exit_code(result)
    return code if code else ExitCode.OK
