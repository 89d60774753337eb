"""``python -m dustsweep.sim --scenario FILE``: run the simulator standalone until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from dustsweep.sim.demo import DEMO_SCENARIO
from dustsweep.sim.run import load_scenario, start_sim


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dustsweep.sim", description=__doc__)
    parser.add_argument("--scenario", type=Path, help="scenario .json/.toml (default: the demo)")
    parser.add_argument("--binance-port", type=int, default=0)
    parser.add_argument("--bybit-port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        scenario = load_scenario(args.scenario) if args.scenario else DEMO_SCENARIO
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"scenario: {exc}\n")
        return 2
    sim = start_sim(scenario, ports={"binance": args.binance_port, "bybit": args.bybit_port})
    for name, server in sim.servers.items():
        sys.stdout.write(f"{name}: {server.url}\n")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        sim.stop()


if __name__ == "__main__":
    sys.exit(main())
