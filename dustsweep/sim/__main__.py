"""``python -m dustsweep.sim [--scenario FILE]``: run the simulator standalone until Ctrl-C.

Without a scenario it serves the demo accounts and prints their keys and a config for them,
so that any dustsweep command can be tried against it."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from dustsweep.sim.demo import DEMO_KEYS, DEMO_SCENARIO, demo_config_toml
from dustsweep.sim.run import load_scenario, start_sim


def demo_instructions(urls: dict[str, str]) -> str:
    """The demo accounts' keys, and a config that points dustsweep at this simulator."""
    lines = ["", "demo keys (simulated accounts; never valid on a real exchange):"]
    lines += [
        f"  {name}: api_key {key}  api_secret {secret}" for name, (key, secret) in DEMO_KEYS.items()
    ]
    lines += [
        "",
        "a config for them (save it, chmod 600 it, then: dustsweep --config FILE scan):",
        "",
    ]
    config = demo_config_toml(**{f"{name}_url": url for name, url in urls.items()})
    return "\n".join(lines) + "\n" + config


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
    if args.scenario is None:
        sys.stdout.write(demo_instructions({n: s.url for n, s in sim.servers.items()}))
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
