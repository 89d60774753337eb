"""A warm ``dustsweep scan`` beside its floor, and six accounts beside one (issue 12).

The floor is the least a scan of one Binance account can cost from the shell: an interpreter
that imports ``binance.client`` and sends the three requests a warm scan needs (balances,
prices, dust->BNB eligibility) at once, against the same simulator. Each figure is the median
wall time of a whole process started from the shell, and the variants run *interleaved*
(floor, scan, six accounts, floor, ...) so that load from other processes on the machine hits
them alike. Goals: one account <= 1.10 x the floor; six accounts (3 Binance + 3 Bybit, on the
same two hosts) <= 1.3 x one account. With ccxt installed, a ccxt script doing the same job
(load markets, balances, tickers) is timed too; without it that line says "skipped".

Scenario: the demo simulator (real bundled rules and prices), each account holding 300
balances (the demo's own plus made-up coins without a market), 50 ms added to every request;
the rules cache is warmed by one scan first.

Run: ``.venv/bin/python bench/bench_warm_scan.py [--runs 9] [--latency 0.05]``.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from precompile import ensure_bytecode  # noqa: E402

from dustsweep.sim.demo import DEMO_KEYS, DEMO_SCENARIO  # noqa: E402
from dustsweep.sim.run import start_sim  # noqa: E402

BALANCES = 300
FLOOR_GOAL = 1.10
SIX_GOAL = 1.3

FLOOR = """
import sys, threading
from binance.client import Client
url, key, secret = sys.argv[1:4]
client = Client(key, secret, ping=False)
client.API_URL, client.MARGIN_API_URL = url + "/api", url + "/sapi"
calls = (
    lambda: client.get_account(omitZeroBalances="true"),
    lambda: client._get("ticker/price"),
    lambda: client.get_dust_assets(),
)
threads = [threading.Thread(target=call) for call in calls]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""

CCXT = """
import sys, ccxt
url, key, secret = sys.argv[1:4]
exchange = ccxt.binance({"apiKey": key, "secret": secret})
for name in ("public", "private"):
    exchange.urls["api"][name] = url + "/api/v3"
exchange.urls["api"]["sapi"] = url + "/sapi/v1"
exchange.options["fetchMarkets"] = ["spot"]
exchange.load_markets()
exchange.fetch_balance()
exchange.fetch_tickers()
"""


def scenario() -> dict[str, Any]:
    """The demo, every account padded to BALANCES balances with made-up unlisted coins."""
    data = copy.deepcopy(DEMO_SCENARIO)
    for exchange in ("binance", "bybit"):
        balances = data[exchange]["accounts"][0]["balances"]
        n = 0
        while len(balances) < BALANCES:
            balances[f"ZZ{n:03d}"] = "1.5"
            n += 1
    return data


def write_config(folder: Path, urls: dict[str, str], per_exchange: dict[str, int]) -> Path:
    lines = []
    for exchange, count in per_exchange.items():
        key, secret = DEMO_KEYS[exchange]
        for n in range(count):
            lines += [
                "[[accounts]]",
                f'name = "{exchange}-{n}"',
                f'exchange = "{exchange}"',
                f'api_key = "{key}"',
                f'api_secret = "{secret}"',
                f'base_url = "{urls[exchange]}"',
                "",
            ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text("\n".join(lines))
    os.chmod(path, 0o600)
    return path


def timed(command: Sequence[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[:3]} failed ({done.returncode}): {done.stderr[-500:]}")
    return wall


def dustsweep_command() -> list[str]:
    script = Path(sys.executable).with_name("dustsweep")
    return [str(script)] if script.exists() else [sys.executable, "-m", "dustsweep"]


def verdict(ratio: float, goal: float) -> str:
    return "ok" if ratio <= goal else "OVER"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    args = parser.parse_args(argv)
    has_ccxt = find_spec("ccxt") is not None
    print(ensure_bytecode())
    with (
        tempfile.TemporaryDirectory(prefix="dustsweep-bench-") as tmp,
        start_sim(scenario()) as sim,
    ):
        urls = {name: sim.url(name) for name in ("binance", "bybit")}
        env = dict(os.environ, DUSTSWEEP_HOME=str(Path(tmp) / "state"))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        one = write_config(Path(tmp) / "one", urls, {"binance": 1})
        six = write_config(Path(tmp) / "six", urls, {"binance": 3, "bybit": 3})
        scan = dustsweep_command()
        key, secret = DEMO_KEYS["binance"]
        variants: dict[str, list[str]] = {
            "floor": [sys.executable, "-c", FLOOR, urls["binance"], key, secret],
            "scan 1 account": [*scan, "--config", str(one), "scan", "--json"],
            "scan 6 accounts": [*scan, "--config", str(six), "scan", "--json"],
        }
        if has_ccxt:
            variants["ccxt"] = [sys.executable, "-c", CCXT, urls["binance"], key, secret]
        for command in variants.values():  # warm: rules cache, OS file cache
            timed(command, env)
        for server in sim.servers.values():
            server.faults.latency_s = args.latency
        times: dict[str, list[float]] = {name: [] for name in variants}
        names = list(variants)
        for run in range(args.runs):
            for name in names[run % len(names) :] + names[: run % len(names)]:
                times[name].append(timed(variants[name], env))
    median = {name: statistics.median(values) for name, values in times.items()}
    spread = {name: (min(v), max(v)) for name, v in times.items()}
    print(
        f"== warm scan vs floor: {args.runs} interleaved runs, {args.latency * 1000:.0f} ms per "
        f"request, {BALANCES} balances per account, {os.cpu_count()} CPUs (shared) =="
    )
    for name, value in median.items():
        low, high = spread[name]
        ms = f"median {value * 1000:6.0f} ms  (min {low * 1000:.0f}, max {high * 1000:.0f})"
        print(f"{name:<16} {ms}")
    ratio = median["scan 1 account"] / median["floor"]
    six_ratio = median["scan 6 accounts"] / median["scan 1 account"]
    for label, value, goal in (
        ("scan / floor", ratio, FLOOR_GOAL),
        ("6 accounts / 1 account", six_ratio, SIX_GOAL),
    ):
        print(f"{label:<24}{value:5.2f}  goal <= {goal}: {verdict(value, goal)}")
    if has_ccxt:
        print(f"scan / ccxt             {median['scan 1 account'] / median['ccxt']:5.2f}")
    else:
        print("scan / ccxt             skipped (ccxt not installed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
