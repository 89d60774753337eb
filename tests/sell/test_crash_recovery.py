"""A real dustsweep process killed at each dangerous point, then run again.

The simulator runs in this test process; dustsweep runs as a subprocess and is SIGKILLed by a
simulator fault at the chosen moment: before an order is processed (between plan and order), or
after the exchange executed it but before dustsweep heard back (between order and record). The
rerun must settle every pending record from what the exchange says and never sell twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dustsweep.sim.demo import DEMO_KEYS, DEMO_SCENARIO
from dustsweep.storage.ledger import Ledger
from tests.conftest import write_config

ORDER_PATH = {"binance": "/api/v3/order", "bybit": "/v5/order/create"}


class Victim:
    """The dustsweep subprocess a simulator fault may kill."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def run_dustsweep(config: Path, home: Path, victim: Victim | None, *args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PROXY")}
    env.update({"DUSTSWEEP_HOME": str(home), "NO_COLOR": "1", "NO_PROXY": "127.0.0.1"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "dustsweep", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    if victim is not None:
        victim.proc = proc
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out + err


def one_account(sim: Any, exchange: str, tmp_path: Path) -> Path:
    key, secret = DEMO_KEYS[exchange]
    account = {
        "name": "main",
        "exchange": exchange,
        "api_key": key,
        "api_secret": secret,
        "base_url": sim.url(exchange),
    }
    return write_config(tmp_path, [account], keep=["BNB"], reconcile_window_s=2)


def sim_client_ids(sim: Any, exchange: str) -> set[str]:
    orders = sim.dialect(exchange).account("demo").orders
    if exchange == "binance":
        return {o.client_order_id for o in orders}
    return {o.link_id for o in orders}


def orders_by_asset(sim: Any, exchange: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for order in sim.dialect(exchange).account("demo").orders:
        counts[order.symbol] = counts.get(order.symbol, 0) + 1
    return counts


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
@pytest.mark.parametrize("point", ["before_order", "after_execution"])
def test_killed_sell_is_settled_by_the_next_run(
    sim_factory: Any, tmp_path: Path, exchange: str, point: str
) -> None:
    sim = sim_factory(DEMO_SCENARIO)
    config = one_account(sim, exchange, tmp_path)
    home = tmp_path / "home"
    victim = Victim()
    faults = sim.servers[exchange].faults
    faults.add("action", ORDER_PATH[exchange], method="POST", calls=1, action=victim.kill)
    if point == "before_order":
        faults.add("drop", ORDER_PATH[exchange], method="POST", calls=1)
    code, output = run_dustsweep(config, home, victim, "sell", "--yes", "--json")
    assert code == -signal.SIGKILL, output
    ledger = Ledger(home / "history.sqlite3")
    pending = ledger.pending()
    ledger.close()
    assert len(pending) >= 1  # written before the order was sent
    executed_before = orders_by_asset(sim, exchange)

    faults.clear()
    code, output = run_dustsweep(config, home, None, "sell", "--yes", "--json")
    assert code == 0, output
    doc = json.loads(output[: output.rindex("}") + 1])
    ledger = Ledger(home / "history.sqlite3")
    records = ledger.records()
    ledger.close()
    assert not [r for r in records if r.status == "pending"]
    # Each record the killed run left pending is settled from what the exchange says.
    on_exchange = sim_client_ids(sim, exchange)
    final = {r.client_id: r.status for r in records}
    for record in pending:
        expected = "filled" if record.client_id in on_exchange else "failed"
        assert final[record.client_id] == expected, (record.client_id, final)
    settled = {o["client_order_id"]: o["status"] for o in doc["accounts"][0]["reconciled"]}
    assert set(settled) == {r.client_id for r in pending}
    if point == "after_execution":
        assert "filled" in settled.values()
    else:
        assert "failed" in final.values()
    # Every symbol was sold at most once across both runs.
    after = orders_by_asset(sim, exchange)
    assert all(count == 1 for count in after.values()), after
    assert sum(after.values()) >= sum(executed_before.values())
    # And nothing sellable is left behind.
    again = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-m",
                "dustsweep",
                "--config",
                str(config),
                "sell",
                "--dry-run",
                "--json",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "DUSTSWEEP_HOME": str(home)},
            check=False,
            timeout=120,
        ).stdout
    )
    primary = [o for o in again["accounts"][0]["orders"] if o["status"] == "planned"]
    assert all(Decimal(o["qty"]) > 0 for o in primary)
    assert not {o["asset"] for o in primary} & {r.asset for r in records if r.status == "filled"}
