"""Run every benchmark, one after another, each in its own interpreter, and print the figures.

Each benchmark is a separate process so that one cannot warm another's imports or caches (the
start-up and cold-scan figures depend on that), and so that running ``bench/run.py`` prints
exactly what running each file alone prints. Benchmarks print figures next to their targets;
they assert nothing. A benchmark that crashes is reported and the others still run; the exit
status is 1 if any crashed.

Run: ``.venv/bin/python bench/run.py [--quick] [startup classify scan_requests warm_scan sell]``.
``--quick`` uses fewer runs and a smaller sale, for a smoke test of the benchmarks themselves.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
ORDER = ("startup", "classify", "scan_requests", "warm_scan", "sell")
QUICK_ARGS = {
    "startup": ["--runs", "3"],
    "classify": ["--runs", "5"],
    "scan_requests": [],
    "warm_scan": ["--runs", "3"],
    "sell": ["--assets", "20"],
}


def describe_machine() -> str:
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{when} · Python {platform.python_version()} · {platform.system()} "
        f"{platform.machine()} · {os.cpu_count()} CPUs · commit {commit or 'unknown'} "
        "(plus uncommitted changes, if any)"
    )


def run_one(name: str, quick: bool) -> tuple[int, float]:
    """Run ``bench_<name>.py``; its output goes straight to ours. Returns (status, seconds)."""
    command = [sys.executable, str(BENCH / f"bench_{name}.py")]
    if quick:
        command += QUICK_ARGS[name]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, check=False)
    return done.returncode, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run: {', '.join(ORDER)}")
    parser.add_argument("--quick", action="store_true", help="fewer runs, smaller sale")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(ORDER))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    names = [n for n in ORDER if n in args.names] if args.names else list(ORDER)

    print(f"dustsweep benchmarks · {describe_machine()}")
    failed = []
    for name in names:
        print()
        sys.stdout.flush()
        status, seconds = run_one(name, args.quick)
        if status != 0:
            failed.append(name)
            print(f"!! bench_{name}.py FAILED with exit status {status}")
        print(f"(bench_{name}.py took {seconds:.1f} s)")
    print()
    print("all benchmarks ran" if not failed else f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
