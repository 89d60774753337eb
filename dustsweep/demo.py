"""``dustsweep demo``: the real product against the built-in simulator, with no keys.

The simulator runs in-process on 127.0.0.1; the accounts are reached through the real adapters
(python-binance and pybit), so the table is exactly what a real user sees. State (rules cache,
history, lock) goes to a temporary folder so a demo never touches the user's own.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from dustsweep.errors import ExitCode


def run_demo(*, show_all: bool = False, as_json: bool = False) -> int:
    from dustsweep import render
    from dustsweep.config import load_config
    from dustsweep.service import App, outcome_code
    from dustsweep.sim.demo import DEMO_SCENARIO, demo_config_toml
    from dustsweep.sim.run import start_sim

    with (
        tempfile.TemporaryDirectory(prefix="dustsweep-demo-") as tmp,
        start_sim(DEMO_SCENARIO) as sim,
    ):
        folder = Path(tmp)
        config_path = folder / "config.toml"
        config_path.write_text(demo_config_toml(sim.url("binance"), sim.url("bybit")))
        os.chmod(config_path, 0o600)
        env = {"DUSTSWEEP_HOME": str(folder / "state")}
        config = load_config(config_path, env)
        app = App(config, config_path, env, folder / "state")
        scans = app.scan([])
        if as_json:
            render.print_json(render.scan_document(config.quote, scans))
        else:
            console = render.make_console()
            console.print(
                "[bold]dustsweep demo[/bold]: two simulated accounts on 127.0.0.1 "
                "(real rules and prices from exchange snapshots, made-up balances)\n"
            )
            render.print_scan(console, config.quote, scans, show_all)
        code = outcome_code([s.error for s in scans])
    return code if code else ExitCode.OK
