"""Real dustsweep processes for `sweep` and `convert`: killed at each dangerous point, run
concurrently, and run again over a lock a killed process left behind.

The simulators run in this test process; dustsweep runs as a subprocess. A simulator fault
SIGKILLs it at the chosen moment: before an order is processed (between plan and order), after
the exchange executed an order or a conversion but before dustsweep heard back (between action
and record). The rerun must settle every pending record from what the exchange says, never sell
or convert twice, and lose no record.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dustsweep.sim.demo import DEMO_KEYS, DEMO_SCENARIO
from dustsweep.storage.ledger import Ledger
from dustsweep.storage.records import Record
from dustsweep.storage.state import LOCK_FILE_NAME
from tests.conftest import write_config
from tests.sell.test_crash_recovery import Victim

D = Decimal
ORDER_PATH = {"binance": "/api/v3/order", "bybit": "/v5/order/create"}
CONVERT_PATH = {"binance": "/sapi/v1/asset/dust", "bybit": "/v5/asset/covert/small-balance-execute"}
TARGET = {"binance": "BNB", "bybit": "USDT"}


def start(config: Path, home: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    env.update({"DUSTSWEEP_HOME": str(home), "NO_COLOR": "1", "NO_PROXY": "127.0.0.1",
                "COLUMNS": "200"})  # fmt: skip
    env.pop("DUSTSWEEP_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "dustsweep", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )


def run(config: Path, home: Path, *args: str, victim: Victim | None = None) -> tuple[int, str, str]:
    proc = start(config, home, *args)
    if victim is not None:
        victim.proc = proc
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def one_account(sim: Any, exchange: str, folder: Path) -> Path:
    key, secret = DEMO_KEYS[exchange]
    account = {
        "name": "main",
        "exchange": exchange,
        "api_key": key,
        "api_secret": secret,
        "base_url": sim.url(exchange),
        "convert_to": TARGET[exchange],
        "timeout_s": 10,
    }
    return write_config(folder, [account], keep=["BNB"], reconcile_window_s=2)


def ledger_records(home: Path) -> list[Record]:
    ledger = Ledger(home / "history.sqlite3")
    try:
        return ledger.records()
    finally:
        ledger.close()


def sim_account(sim: Any, exchange: str) -> Any:
    return sim.dialect(exchange).account("demo")


def sim_orders(sim: Any, exchange: str) -> dict[str, Any]:
    """Orders on the exchange by client id."""
    orders = sim_account(sim, exchange).orders
    if exchange == "binance":
        return {o.client_order_id: o for o in orders}
    return {o.link_id: o for o in orders}


def executed_qty(order: Any) -> Decimal:
    return D(getattr(order, "executed_qty", None) or order.cum_exec_qty)


def sim_conversions(sim: Any, exchange: str) -> list[tuple[str, Decimal]]:
    """(asset, amount) of every asset the exchange converted, over all its conversions."""
    account = sim_account(sim, exchange)
    if exchange == "binance":
        return [
            (line["fromAsset"], D(line["amount"]))
            for batch in account.dribblets
            for line in batch["userAssetDribbletDetails"]
        ]
    return [(s.from_coin, s.from_amount) for r in account.conversions for s in r.subs
            if s.status == "success"]  # fmt: skip


def conversion_batches(sim: Any, exchange: str) -> int:
    account = sim_account(sim, exchange)
    return len(account.dribblets if exchange == "binance" else account.conversions)


def wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def wait_until_processed(sim: Any, exchange: str, path: str, dropped: int) -> None:
    """Orders are placed concurrently: wait until every order request that reached the
    exchange before the kill (but the dropped ones) has been processed there."""
    server = sim.servers[exchange]

    def done() -> bool:
        with server.request_lock:
            processed = server.requests.count(("POST", path))
        return processed == server.faults.count("POST", path) - dropped

    wait_for(done)
    time.sleep(0.3)  # a request still in flight when the process died; answers being made
    wait_for(done)


def last_json(text: str) -> dict[str, Any]:
    return dict(json.loads(text[text.index("{") : text.rindex("}") + 1]))


def assert_exchange_and_history_agree(sim: Any, exchange: str, home: Path) -> None:
    """No record pending or lost, nothing done twice: the history is the exchange's story."""
    records = ledger_records(home)
    assert not [r for r in records if r.status == "pending"], records
    orders = sim_orders(sim, exchange)
    filled = {r.client_id: r for r in records if r.kind == "order" and r.status == "filled"}
    assert set(filled) == set(orders)  # every order on the exchange is in the history
    for cid, order in orders.items():
        assert filled[cid].qty == executed_qty(order)
    symbols = Counter(o.symbol for o in orders.values())
    assert all(n == 1 for n in symbols.values()), symbols  # no sale repeated
    converted = Counter(
        (r.asset, r.qty) for r in records if r.kind == "conversion" and r.status == "converted"
    )
    assert converted == Counter(sim_conversions(sim, exchange))
    for asset, _amount in sim_conversions(sim, exchange):
        account = sim_account(sim, exchange)
        left = account.available(asset) if exchange == "bybit" else account.wallet.get(asset)[0]
        assert left == 0, (asset, left)


# ---- killed runs -------------------------------------------------------------------------------


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
@pytest.mark.parametrize("point", ["before_order", "after_order", "during_conversion"])
def test_killed_sweep_is_settled_by_the_next_run(
    sim_factory: Any, tmp_path: Path, exchange: str, point: str
) -> None:
    sim = sim_factory(DEMO_SCENARIO)
    config = one_account(sim, exchange, tmp_path)
    home = tmp_path / "home"
    victim = Victim()
    faults = sim.servers[exchange].faults
    path = CONVERT_PATH[exchange] if point == "during_conversion" else ORDER_PATH[exchange]
    faults.add("action", path, method="POST", calls=1, action=victim.kill)
    if point == "before_order":
        faults.add("drop", path, method="POST", calls=1)
    code, out, err = run(config, home, "sweep", "--yes", "--json", victim=victim)
    assert code == -signal.SIGKILL, out + err
    pending = [r for r in ledger_records(home) if r.status == "pending"]
    assert pending  # written before the request was sent
    kind = "conversion" if point == "during_conversion" else "order"
    assert {r.kind for r in pending} == {kind}
    # The killed process is gone; the exchange goes on to process (or drop) what it sent.
    if point == "during_conversion":
        wait_for(lambda: conversion_batches(sim, exchange) == 1)
    else:
        dropped = 1 if point == "before_order" else 0
        wait_until_processed(sim, exchange, ORDER_PATH[exchange], dropped)

    faults.clear()
    code, out, err = run(config, home, "sweep", "--yes", "--json")
    assert code == 0, out + err
    doc = last_json(out)
    settled = doc["accounts"][0]["settled"]
    ids = {r.client_id for r in pending}
    if kind == "order":
        assert {o["client_order_id"] for o in settled["orders"]} == ids
    else:
        assert settled["conversions"]
        assert all(c["status"] == "converted" for c in settled["conversions"])
    assert conversion_batches(sim, exchange) == 1  # converted once, over both runs
    assert_exchange_and_history_agree(sim, exchange, home)


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_killed_convert_is_settled_not_repeated(
    sim_factory: Any, tmp_path: Path, exchange: str
) -> None:
    sim = sim_factory(DEMO_SCENARIO)
    config = one_account(sim, exchange, tmp_path)
    home = tmp_path / "home"
    victim = Victim()
    faults = sim.servers[exchange].faults
    faults.add("action", CONVERT_PATH[exchange], method="POST", calls=1, action=victim.kill)
    target = TARGET[exchange]
    code, out, err = run(config, home, "convert", "--to", target, "--yes", "--json", victim=victim)
    assert code == -signal.SIGKILL, out + err
    pending = [r for r in ledger_records(home) if r.status == "pending"]
    assert pending and {r.kind for r in pending} == {"conversion"}
    wait_for(lambda: conversion_batches(sim, exchange) == 1)  # processed after the kill

    faults.clear()
    code, out, err = run(config, home, "convert", "--to", target, "--yes", "--json")
    doc = last_json(out)
    entry = doc["accounts"][0]
    assert {c["asset"] for c in entry["settled"]} == {r.asset for r in pending}
    assert all(c["status"] == "converted" for c in entry["settled"]), entry["settled"]
    assert conversion_batches(sim, exchange) == 1  # no second conversion
    assert faults.count("POST", CONVERT_PATH[exchange]) == 1
    assert_exchange_and_history_agree(sim, exchange, home)
    records = {r.asset: r for r in ledger_records(home) if r.kind == "conversion"}
    for asset, amount in sim_conversions(sim, exchange):
        assert records[asset].status == "converted" and records[asset].qty == amount
        assert records[asset].fee is not None and records[asset].received_qty is not None
    # Binance: the cool-down that conversion started is what stops a new one now.
    assert code == (5 if exchange == "binance" else 0), err


# ---- the run lock ------------------------------------------------------------------------------


def test_a_second_sweep_on_the_same_home_exits_5_at_once(sim_factory: Any, tmp_path: Path) -> None:
    sim = sim_factory(DEMO_SCENARIO)
    config = one_account(sim, "binance", tmp_path)
    home = tmp_path / "home"
    faults = sim.servers["binance"].faults
    faults.add("delay", "/api/v3/account", method="GET", calls=1, seconds=6.0)
    first = start(config, home, "sweep", "--yes")
    try:
        wait_for(lambda: faults.count("GET", "/api/v3/account") >= 1)
        began = time.monotonic()
        code, out, err = run(config, home, "sweep", "--yes")
        elapsed = time.monotonic() - began
        assert code == 5, out + err
        assert first.poll() is None  # it answered while the first run was still working
        assert elapsed < 6.0
        assert "another dustsweep run" in err and f"pid {first.pid}" in err
        assert len(err.strip().splitlines()) == 1  # one clear line
        assert out == ""
        assert faults.count("GET", "/api/v3/account") == 1  # the second sent nothing
        first_out, first_err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=10)
    assert first.returncode == 0, first_out + first_err
    assert sim_orders(sim, "binance")


def test_a_lock_left_by_a_killed_run_is_taken_over(sim_factory: Any, tmp_path: Path) -> None:
    sim = sim_factory(DEMO_SCENARIO)
    config = one_account(sim, "binance", tmp_path)
    home = tmp_path / "home"
    faults = sim.servers["binance"].faults
    faults.add("delay", "/api/v3/account", method="GET", calls=1, seconds=20.0)
    first = start(config, home, "sweep", "--yes")
    try:
        wait_for(lambda: faults.count("GET", "/api/v3/account") >= 1)
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.communicate(timeout=10)
    lock = home / LOCK_FILE_NAME
    assert f"pid {first.pid}" in lock.read_text()  # the dead run's lock is still there
    code, out, err = run(config, home, "sweep", "--yes", "--json")
    assert code == 0, out + err
    doc = last_json(out)
    assert [o for o in doc["accounts"][0]["orders"] if o["status"] == "filled"]
    assert sim_orders(sim, "binance")
    assert_exchange_and_history_agree(sim, "binance", home)
