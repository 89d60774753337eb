"""Count the project frames one sell order passes from the click command to the SDK call.

Runs ``dustsweep sell --yes`` in-process against the built-in simulator (the demo accounts),
records the stack each time python-binance's ``order_market_sell`` is entered, and prints the
dustsweep frames from the command function down (lambdas that only wrap the SDK call aside).
``python tools/frames.py`` (issue 10 goal: at most 8).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "dustsweep"


def main() -> int:
    from binance.client import Client

    from dustsweep.cli import run
    from dustsweep.sim.demo import DEMO_SCENARIO, demo_config_toml
    from dustsweep.sim.run import start_sim

    stacks: list[list[traceback.FrameSummary]] = []
    original = Client.order_market_sell

    def spy(self: Any, **params: Any) -> Any:
        # The order runs in a worker thread: the frames that led to it are the main thread's
        # (blocked on its pool) and those of any account thread in between, then this one's.
        me = threading.get_ident()
        current = sys._current_frames()
        main = traceback.extract_stack(current[threading.main_thread().ident or 0])
        middle = [
            traceback.extract_stack(frame)
            for ident, frame in current.items()
            if ident not in (me, threading.main_thread().ident)
            and any(
                t.ident == ident and t.name.startswith("account") for t in threading.enumerate()
            )
        ]
        stack = main + (middle[0] if middle else []) + traceback.extract_stack()[:-1]
        stacks.append(stack)
        return original(self, **params)

    Client.order_market_sell = spy  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp, start_sim(DEMO_SCENARIO) as sim:
        config = Path(tmp) / "config.toml"
        urls = {f"{dialect}_url": server.url for dialect, server in sim.servers.items()}
        config.write_text(demo_config_toml(**urls))
        os.chmod(config, 0o600)
        os.environ["DUSTSWEEP_HOME"] = str(Path(tmp) / "state")
        code = run(["--config", str(config), "sell", "--yes", "--json"])
    if not stacks:
        print(f"no order reached the SDK (exit {code})", file=sys.stderr)
        return 1
    frames = [
        f
        for f in stacks[0]
        if Path(f.filename).resolve().is_relative_to(PKG)
        and f.name not in {"<lambda>", "<listcomp>", "<genexpr>"}
    ]
    start = next(i for i, f in enumerate(frames) if f.name == "sell")  # the click command
    chain = frames[start:]
    print(f"project frames from the command to the SDK: {len(chain)}", file=sys.stderr)
    for f in chain:
        rel = Path(f.filename).resolve().relative_to(REPO)
        print(f"  {rel}:{f.lineno} {f.name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
