"""Requests a scan sends, cold and warm rules cache, and what 50 ms of latency makes of them.

A scan is what cron runs every day, so its cost on the exchange's rate limits and on the clock
matters: with the rules cache warm, each account should need at most 3 requests (balances,
prices, conversion eligibility), sent at once, so the scan takes about one round trip however
many accounts there are. This starts the demo simulator (one Binance and one Bybit account,
real rules and prices), writes a config for its two accounts, and runs
``dustsweep.services.app.App.scan`` twice: cold cache, then warm. It prints the requests each
account's exchange processed (counted by the simulator itself) and then the wall time of the
same two scans with 50 ms added to every request, in round trips of that latency.

Run: ``.venv/bin/python bench/bench_scan_requests.py [--latency 0.05]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from dustsweep.config.load import load_config  # noqa: E402
from dustsweep.services.app import App  # noqa: E402
from dustsweep.sim.demo import DEMO_SCENARIO, demo_config_toml  # noqa: E402
from dustsweep.sim.run import RunningSim, start_sim  # noqa: E402

WARM_TARGET = 3  # requests per account with a warm rules cache
ACCOUNT_OF = {"binance": "binance-demo", "bybit": "bybit-demo"}  # demo_config_toml's names


@dataclass(frozen=True)
class ScanFigures:
    """One scan: wall time, and the requests each exchange processed by (method, path)."""

    wall_s: float
    requests: dict[str, Counter[tuple[str, str]]]
    errors: list[str]


def request_log(sim: RunningSim) -> dict[str, int]:
    """How many requests each server has processed so far."""
    counts = {}
    for name, server in sim.servers.items():
        with server.request_lock:
            counts[name] = len(server.requests)
    return counts


def scan_once(sim: RunningSim, app: App) -> ScanFigures:
    """Run one scan of every configured account and count what reached each exchange."""
    before = request_log(sim)
    start = time.perf_counter()
    scans = app.scan([])
    wall = time.perf_counter() - start
    requests: dict[str, Counter[tuple[str, str]]] = {}
    for name, server in sim.servers.items():
        with server.request_lock:
            requests[name] = Counter(server.requests[before[name] :])
    errors = [f"{s.name}: {s.error}" for s in scans if s.error is not None]
    return ScanFigures(wall, requests, errors)


def make_app(sim: RunningSim, folder: Path) -> App:
    """A config for the demo's two accounts, with a fresh (cold) state folder."""
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "config.toml"
    config_path.write_text(demo_config_toml(sim.url("binance"), sim.url("bybit")))
    os.chmod(config_path, 0o600)
    state = folder / "state"
    env = {"DUSTSWEEP_HOME": str(state)}
    return App(load_config(config_path, env), config_path, env, state)


def show_counts(label: str, figures: ScanFigures, target: int | None) -> None:
    for exchange, counter in figures.requests.items():
        total = sum(counter.values())
        verdict = ""
        if target is not None:
            verdict = f"  target <= {target}: {'ok' if total <= target else 'OVER'}"
        paths = ", ".join(f"{m} {p}" + (f" x{n}" if n > 1 else "") for (m, p), n in counter.items())
        print(f"{label:<6} {ACCOUNT_OF.get(exchange, exchange):<13} {total:2d} requests{verdict}")
        print(f"       {'':<13} {paths}")
    for error in figures.errors:
        print(f"       ERROR {error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added per request")
    args = parser.parse_args(argv)

    print("== scan: requests per account (demo simulator: one Binance, one Bybit account) ==")
    with (
        tempfile.TemporaryDirectory(prefix="dustsweep-bench-") as tmp,
        start_sim(DEMO_SCENARIO) as sim,
    ):
        # A new App per scan: one App is one run (public data is shared within a run only).
        cold = scan_once(sim, make_app(sim, Path(tmp) / "no-latency"))
        warm = scan_once(sim, make_app(sim, Path(tmp) / "no-latency"))
        show_counts("cold", cold, None)
        show_counts("warm", warm, WARM_TARGET)

        for server in sim.servers.values():
            server.faults.latency_s = args.latency
        slow_cold = scan_once(sim, make_app(sim, Path(tmp) / "latency"))
        slow_warm = scan_once(sim, make_app(sim, Path(tmp) / "latency"))
        latency_ms = args.latency * 1000
        print(f"with {latency_ms:.0f} ms latency per request, both accounts scanned concurrently:")
        for label, figures in (("cold", slow_cold), ("warm", slow_warm)):
            trips = figures.wall_s / args.latency if args.latency else float("nan")
            per_account = max(sum(c.values()) for c in figures.requests.values())
            print(
                f"{label:<6} wall {figures.wall_s * 1000:6.0f} ms = {trips:4.1f} round trips "
                f"(up to {per_account} requests per account: {per_account} round trips if "
                "sent one after another)"
            )
            for error in figures.errors:
                print(f"       ERROR {error}")
        print(
            f"no-latency wall time: cold {cold.wall_s * 1000:.0f} ms (includes importing the "
            f"SDKs), warm {warm.wall_s * 1000:.0f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
