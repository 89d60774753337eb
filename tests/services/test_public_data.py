"""Public data once per exchange host per run (issue 12): six accounts (3 Binance + 3 Bybit)
read the rules and the ticker once per host, and each account adds only its own signed
requests. Counted by the simulator itself, through the CLI and the real SDKs."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dustsweep.services.public_data import PublicData, Writes
from dustsweep.sim.demo import DEMO_KEYS, DEMO_SCENARIO
from tests.conftest import write_config

PUBLIC = {
    "binance": {"/api/v3/exchangeInfo", "/api/v3/ticker/price"},
    "bybit": {"/v5/market/instruments-info", "/v5/market/tickers"},
}
RULES_PATH = {"binance": "/api/v3/exchangeInfo", "bybit": "/v5/market/instruments-info"}


@pytest.fixture
def six_accounts(sim_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    sim = sim_factory(DEMO_SCENARIO)
    accounts = []
    for exchange in ("binance", "bybit"):
        key, secret = DEMO_KEYS[exchange]
        monkeypatch.setenv(f"T_{exchange.upper()}_KEY", key)
        monkeypatch.setenv(f"T_{exchange.upper()}_SECRET", secret)
        for n in range(3):
            accounts.append(
                {
                    "name": f"{exchange}-{n}",
                    "exchange": exchange,
                    "api_key_env": f"T_{exchange.upper()}_KEY",
                    "api_secret_env": f"T_{exchange.upper()}_SECRET",
                    "base_url": sim.url(exchange),
                }
            )
    monkeypatch.setenv("DUSTSWEEP_HOME", str(tmp_path / "state"))
    return sim, write_config(tmp_path, accounts)


def scan_counts(cli: Any, sim: Any, config: Path, *extra: str) -> dict[str, Counter[str]]:
    for server in sim.servers.values():
        server.requests.clear()
    result = cli("--config", str(config), "scan", "--json", *extra)
    assert result.code == 0, result.err
    return {name: Counter(path for _, path in s.requests) for name, s in sim.servers.items()}


def test_six_accounts_read_public_data_once_per_host(cli: Any, six_accounts: Any) -> None:
    sim, config = six_accounts
    cold = scan_counts(cli, sim, config)
    warm = scan_counts(cli, sim, config)
    refreshed = scan_counts(cli, sim, config, "--refresh")
    for exchange in ("binance", "bybit"):
        public = PUBLIC[exchange]
        for label, counts in (("cold", cold), ("refresh", refreshed)):
            assert {p: counts[exchange][p] for p in public} == dict.fromkeys(public, 1), label
        assert warm[exchange][RULES_PATH[exchange]] == 0
        assert sum(n for p, n in warm[exchange].items() if p in public) == 1
        signed = {p: n for p, n in warm[exchange].items() if p not in public}
        # each account: its own balances and eligibility reads, nothing else
        assert signed and all(n == 3 for n in signed.values()), signed
        assert sum(warm[exchange].values()) <= 3 * 3  # <= 3 per account, public once


def test_a_rules_cache_file_is_written_once_per_host(cli: Any, six_accounts: Any) -> None:
    sim, config = six_accounts
    scan_counts(cli, sim, config)
    state = config.parent / "state"
    assert len(list(state.rglob("rules-*.json"))) == 2


def test_concurrent_callers_share_one_fetch() -> None:
    public = PublicData()
    calls: list[int] = []
    gate = threading.Event()

    def fetch() -> str:
        calls.append(1)
        gate.wait(5)
        return "rules"

    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(public.get("r", "x", "h", fetch)))
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    gate.set()
    for thread in threads:
        thread.join(5)
    assert results == ["rules"] * 5
    assert calls == [1]
    assert public.get("r", "x", "other-host", lambda: "other") == "other"


def test_a_failed_fetch_is_not_kept_and_max_age_refetches() -> None:
    now = [0.0]
    public = PublicData(clock=lambda: now[0])

    def boom() -> str:
        raise RuntimeError("down")

    with pytest.raises(RuntimeError):
        public.get("p", "x", "h", boom)
    assert public.get("p", "x", "h", lambda: "1", max_age_s=10) == "1"
    now[0] = 5.0
    assert public.get("p", "x", "h", lambda: "2", max_age_s=10) == "1"
    now[0] = 11.0
    assert public.get("p", "x", "h", lambda: "3", max_age_s=10) == "3"
    public.put("p", "x", "h", "4")
    assert public.get("p", "x", "h", lambda: "5") == "4"


def test_writes_drain_waits_for_every_write() -> None:
    writes = Writes()
    done: list[int] = []
    for n in range(3):
        writes.start("w", lambda n=n: (time.sleep(0.02), done.append(n)))  # type: ignore[misc]
    writes.drain()
    assert sorted(done) == [0, 1, 2]
