"""Start-up: how long ``dustsweep --help`` takes, and which heavy libraries it drags in.

``--help`` is what a new user runs first and what shell completion runs on every TAB, so it
must not pay for the exchange SDKs (python-binance pulls in requests, aiohttp, websockets...).
This prints the median wall time of the real console script over several runs, beside the bare
interpreter's start-up (the floor nothing can go under) and the time importing the two SDKs
alone takes (what a non-lazy CLI would add), and, from ``-X importtime``,
which of the heavy libraries were imported and the slowest top-level imports.

Run: ``.venv/bin/python bench/bench_startup.py [--runs 7]``. Prints figures; asserts nothing
(tests/test_startup.py is the test that fails when an SDK creeps into ``--help``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from precompile import ensure_bytecode

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("binance", "pybit", "requests", "aiohttp", "websockets", "rich", "pydantic")
# What --help avoids: importing the two SDKs the way the adapters do.
SDK_IMPORT = "import binance.client, pybit.unified_trading"


@dataclass(frozen=True)
class ImportCost:
    """One module from ``-X importtime``: its own and cumulative import time in ms."""

    name: str
    self_ms: float
    cumulative_ms: float
    depth: int  # 0: imported by the program itself; 1+: imported by another module


def child_env() -> dict[str, str]:
    """The checkout's package first, no colours, no user config picked up by accident."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env["NO_COLOR"] = "1"
    env.pop("PYTHONSTARTUP", None)
    return env


def help_command() -> list[str]:
    """The installed console script when there is one (what users run), else ``-m``."""
    script = Path(sys.executable).with_name("dustsweep")
    if script.exists():
        return [str(script), "--help"]
    return [sys.executable, "-m", "dustsweep", "--help"]


def wall_times(command: list[str], runs: int) -> list[float]:
    """Wall time of each run in ms (output discarded; a failing command is an error)."""
    env = child_env()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return times


def import_costs(argv: list[str]) -> list[ImportCost]:
    """Every module imported by ``python -X importtime -m dustsweep <argv>``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dustsweep", *argv],
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    costs = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        own, cumulative, raw_name = line[len("import time:") :].split("|", 2)
        own, cumulative, name = own.strip(), cumulative.strip(), raw_name.strip()
        if own.isdigit() and cumulative.isdigit():
            depth = (len(raw_name) - len(raw_name.lstrip(" ")) - 1) // 2
            costs.append(ImportCost(name, int(own) / 1000, int(cumulative) / 1000, depth))
    return costs


def heavy_imported(costs: list[ImportCost]) -> dict[str, float]:
    """Heavy top-level packages that were imported, with their cumulative import time."""
    found: dict[str, float] = {}
    for cost in costs:
        if cost.name in HEAVY:
            found[cost.name] = max(found.get(cost.name, 0.0), cost.cumulative_ms)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (median)")
    args = parser.parse_args(argv)

    print("== start-up: dustsweep --help ==")
    print(ensure_bytecode())
    command = help_command()
    bare = wall_times([sys.executable, "-c", "pass"], args.runs)
    helped = wall_times(command, args.runs)
    sdks = wall_times([sys.executable, "-c", SDK_IMPORT], args.runs)
    median = statistics.median(helped)
    print(f"command: {Path(command[0]).name} {' '.join(command[1:])}")
    print(
        f"dustsweep --help   median {median:7.1f} ms  (min {min(helped):.1f}, max "
        f"{max(helped):.1f}, {args.runs} runs)"
    )
    print(f"bare interpreter   median {statistics.median(bare):7.1f} ms  (python -c pass)")
    print(f"SDK imports alone  median {statistics.median(sdks):7.1f} ms  ({SDK_IMPORT})")

    costs = import_costs(["--help"])
    heavy = heavy_imported(costs)
    if heavy:
        listed = ", ".join(f"{name} ({ms:.1f} ms)" for name, ms in sorted(heavy.items()))
        print(f"heavy modules imported by --help: {listed}")
    else:
        print(f"heavy modules imported by --help: none (checked: {', '.join(HEAVY)})")
    top = sorted((c for c in costs if c.depth == 0), key=lambda c: -c.cumulative_ms)[:5]
    slowest = ", ".join(f"{c.name} {c.cumulative_ms:.1f} ms" for c in top)
    print(f"slowest top-level imports: {slowest}")
    print(f"modules imported in all: {len(costs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
