"""Explore faults at random: a run with injected faults, then a clean run, and the checks
that must hold whatever happened. Not a test (it is random and slow); a way to find the cases
no test thought of. Every finding so far became a test in tests/cli/test_garbage.py.

    .venv/bin/python tools/chaos.py --seed 1 --trials 200 [--command sweep|convert|rfq]
        [--faults basic|garble|codes|lose|delay] [--lag-ms N]

Each trial starts the simulator with the demo accounts, picks one to three faults among the
endpoints a clean run calls (kind, call number), runs the command through the real CLI
in-process, clears the faults and runs it again. It reports a trial as BAD when:
- either run printed a traceback or exited with a code README does not list;
- the first run wrote more than one line to stderr (one problem, one line);
- the second run did not end with 0 or 5 (a cool-down);
- after the second run the history and the exchange disagree: a record still pending, an order
  on the exchange missing from the history or recorded with another quantity, a sale made twice,
  or the converted assets not the ones the exchange converted (small balances and Convert).
The same seed draws the same faults, so a BAD trial can be replayed.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import os
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dustsweep.cli import run as cli_run  # noqa: E402
from dustsweep.exchanges.bans import REGISTRY  # noqa: E402
from dustsweep.sim.demo import DEMO_SCENARIO  # noqa: E402
from dustsweep.sim.run import start_sim  # noqa: E402
from tests.services import test_sweep_crash as crash  # noqa: E402

HTML_503 = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
BYBIT_10016 = {"retCode": 10016, "retMsg": "Server error", "result": {}, "retExtInfo": {}}
FAULTS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "basic": [
        ("http", {"status": 500}),
        ("http", {"status": 503, "body": HTML_503}),
        ("http", {"status": 429, "retry_after": 1}),
        ("drop", {}),
        ("lose", {}),
        ("http_after", {"status": 500}),
        ("http_after", {"status": 502}),
    ],
    "codes": [
        ("http", {"status": 200, "body": BYBIT_10016}),
        ("http_after", {"status": 200, "body": BYBIT_10016}),
        ("http", {"status": 500, "body": {"code": -1001, "msg": "Internal error"}}),
        ("http_after", {"status": 408, "body": {"code": -1007, "msg": "Timeout waiting"}}),
        ("http_after", {"status": 408, "body": {"error": "proxy timeout"}}),
        ("http_after", {"status": 503, "body": {"code": -1008, "msg": "Server is overloaded"}}),
    ],
    "lose": [("lose", {}), ("http_after", {"status": 500}), ("http_after", {"status": 503})],
    "delay": [("delay", {"seconds": 3})],  # with timeout_s = 2: the client gives up first
}
GARBLED_FIELDS = (
    "free", "locked", "executedQty", "cummulativeQuoteQty", "origQty", "price", "commission",
    "walletBalance", "cumExecQty", "cumExecValue", "cumExecFee", "qty", "lastPrice", "amount",
    "transferedAmount", "serviceChargeAmount", "fromAmount", "toAmount", "feeAmount", "orderId",
    "transId", "tranId", "status", "orderStatus", "stepSize", "minNotional", "basePrecision",
)  # fmt: skip
GARBLED_VALUES = ("NaN", "-1", "", "Infinity", None, "1e-9", "0", "abc", 12)
FAULTS["garble"] = [
    ("garble", {"field": f, "value": v}) for f in GARBLED_FIELDS for v in GARBLED_VALUES
]
COMMANDS = {
    "sweep": {"binance": ["sweep", "--yes", "--json"], "bybit": ["sweep", "--yes", "--json"]},
    "convert": {
        "binance": ["convert", "--to", "USDT", "--yes", "--json"],
        "bybit": ["convert", "--to", "USDC", "--yes", "--json"],
    },
}
COMMANDS["rfq"] = COMMANDS["convert"]  # with balances above the Convert minimums
EXIT_CODES = (0, 2, 3, 4, 5)


def cli(*args: str) -> tuple[int | str, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code: int | str = cli_run(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else str(exc.code)
        except BaseException:  # a crash is what this looks for
            code = "crash"
            err.write(traceback.format_exc())
    return code, out.getvalue(), err.getvalue()


class Explorer:
    def __init__(self, command: str, faults: str, lag_ms: int) -> None:
        self.command = COMMANDS[command]
        self.kinds = FAULTS[faults]
        self.timeout_s = 2 if faults == "delay" else 10
        self.lag_ms = lag_ms
        self.scenario = copy.deepcopy(DEMO_SCENARIO)
        self.dust_threshold: str | None = None
        if command == "rfq":
            balances = self.scenario["binance"]["accounts"][0]["balances"]
            balances.update({"ADA": "40", "XRP": "12", "DOGE": "100", "LTC": "0.2"})
            self.dust_threshold = "1000"
        if lag_ms:
            self.scenario["binance"]["order_query_lag_ms"] = lag_ms

    def config(self, sim: Any, exchange: str, folder: Path) -> Path:
        path: Path = crash.one_account(sim, exchange, folder)
        text = path.read_text().replace("timeout_s = 10", f"timeout_s = {self.timeout_s}")
        if self.dust_threshold is not None:
            text = f'dust_threshold = "{self.dust_threshold}"\n' + text
        path.write_text(text)
        return path

    def in_sandbox(self, exchange: str, body: Callable[[Any, Path, Path], str]) -> str:
        sim = start_sim(self.scenario)
        try:
            with tempfile.TemporaryDirectory() as folder:
                home = Path(folder) / "home"
                os.environ["DUSTSWEEP_HOME"] = str(home)
                REGISTRY.clear()
                return body(sim, home, self.config(sim, exchange, Path(folder)))
        finally:
            sim.stop()

    def endpoints(self, exchange: str) -> Counter[tuple[str, str]]:
        """(method, path) -> calls, from a clean run: where faults can land."""
        calls: Counter[tuple[str, str]] = Counter()

        def clean(sim: Any, _home: Path, config: Path) -> str:
            code, _out, err = cli("--config", str(config), *self.command[exchange])
            if code != 0:
                raise SystemExit(f"a clean {exchange} run failed ({code}): {err}")
            calls.update(sim.servers[exchange].requests)
            return ""

        self.in_sandbox(exchange, clean)
        return calls

    def trial(self, exchange: str, faults: list[tuple[str, dict[str, Any], str, str, int]]) -> str:
        def body(sim: Any, home: Path, config: Path) -> str:
            plan = sim.servers[exchange].faults
            for kind, kw, method, path, call in faults:
                plan.add(kind, path, method=method, calls=call, **kw)
            code, _out, err = cli("--config", str(config), *self.command[exchange])
            problems = []
            if code not in EXIT_CODES or "Traceback" in err:
                problems.append(f"first run: exit {code}: {err[-1500:]}")
            elif len([line for line in err.splitlines() if line.strip()]) > 1:
                problems.append(f"first run: more than one line on stderr: {err[-800:]}")
            plan.clear()
            REGISTRY.clear()
            if self.lag_ms:
                time.sleep(self.lag_ms / 1000 + 0.5)  # until the exchange can find the order
            again, _out, err = cli("--config", str(config), *self.command[exchange])
            if again not in (0, 5) or "Traceback" in err:
                problems.append(f"second run: exit {again}: {err[-1500:]}")
            problems.extend(disagreements(sim, exchange, home))
            return "\n".join([f"exits {code},{again}", *problems])

        return self.in_sandbox(exchange, body)


def disagreements(sim: Any, exchange: str, home: Path) -> list[str]:
    """What the history and the exchange disagree on (nothing, when all is well)."""
    small = crash.sim_conversions

    def every_conversion(sim: Any, exchange: str) -> list[tuple[str, Decimal]]:
        return small(sim, exchange) + convert_trades(sim, exchange)

    crash.sim_conversions = every_conversion
    try:
        crash.assert_exchange_and_history_agree(sim, exchange, home)
    except AssertionError as exc:
        records = [
            (r.kind, r.asset, r.status, format(r.qty or 0, "f"), r.error)
            for r in crash.ledger_records(home)
        ]
        return [f"history and exchange disagree: {str(exc)[:600]} | history: {records}"]
    finally:
        crash.sim_conversions = small
    return []


def convert_trades(sim: Any, exchange: str) -> list[tuple[str, Decimal]]:
    """(asset, amount) of every Convert trade the exchange carried out."""
    if exchange == "binance":
        orders = sim.dialect("binance").account("demo").convert_orders
        return [(o.quote.from_asset, o.quote.from_amount) for o in orders]
    trades = []
    for part in vars(sim.dialect("bybit")).values():
        records = getattr(part, "records", None)
        if isinstance(records, dict):
            for rows in records.values():
                trades += [
                    (r.quote.from_coin, r.quote.from_amount)
                    for r in rows
                    if getattr(r, "status", "") == "success"
                ]
    return trades


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--command", choices=sorted(COMMANDS), default="sweep")
    parser.add_argument("--faults", choices=sorted(FAULTS), default="basic")
    parser.add_argument("--lag-ms", type=int, default=0, help="Binance order-query lag")
    args = parser.parse_args()
    os.environ.update({"NO_COLOR": "1", "COLUMNS": "200", "NO_PROXY": "127.0.0.1"})
    explorer = Explorer(args.command, args.faults, args.lag_ms)
    rng = random.Random(args.seed)
    endpoints = {ex: explorer.endpoints(ex) for ex in ("binance", "bybit")}
    bad = 0
    for n in range(args.trials):
        exchange = rng.choice(["binance", "bybit"])
        chosen = []
        for _ in range(rng.choice([1, 1, 2, 3])):
            (method, path), count = rng.choice(sorted(endpoints[exchange].items()))
            kind, kw = rng.choice(explorer.kinds)
            chosen.append((kind, kw, method, path, rng.randint(1, count)))
        report = explorer.trial(exchange, chosen)
        verdict = "BAD" if "\n" in report else "ok "
        bad += verdict == "BAD"
        shown = [(k, kw.get("field") or kw.get("status", ""), m, p, c) for k, kw, m, p, c in chosen]
        print(f"{n:4d} {verdict} {exchange} {report.splitlines()[0]} faults {shown}", flush=True)
        for line in report.splitlines()[1:]:
            print(f"       {line}", flush=True)
    print(f"{args.trials} trials, {bad} BAD", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
