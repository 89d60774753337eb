"""Garbage in gives one line, not a crash: NaN, Infinity, empty or negative amounts from an
exchange, and a damaged rules cache. Real SDKs against the simulator's ``garble`` fault."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dustsweep.exchanges.amounts import BadAmount, amount
from dustsweep.sim.demo import DEMO_SCENARIO
from dustsweep.storage.state import RulesCache
from tests.cli.test_scan import accounts_for
from tests.cli.test_scan import keys as keys  # the fixture
from tests.conftest import write_config

pytestmark = pytest.mark.usefixtures("keys")

BALANCES = {"binance": "/api/v3/account", "bybit": "/v5/account/wallet-balance"}
FIELD = {"binance": "free", "bybit": "walletBalance"}
NAME = {"binance": "main", "bybit": "uta"}
ORDER = {"binance": ("POST", "/api/v3/order"), "bybit": ("POST", "/v5/order/create")}
# Bybit sends "" for empty fields and a negative walletBalance can be a debt, so those two are
# garbage on Binance only.
CASES = [
    ("binance", "NaN"),
    ("binance", "Infinity"),
    ("binance", ""),
    ("binance", "-1.5"),
    ("binance", "12abc"),
    ("bybit", "NaN"),
    ("bybit", "-Infinity"),
    ("bybit", "sNaN"),
]


@pytest.fixture
def sim(sim_factory: Any) -> Any:
    return sim_factory(DEMO_SCENARIO)


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "InvalidOperation" not in err
    return lines[0]


@pytest.mark.parametrize(("exchange", "value"), CASES)
def test_a_garbled_balance_is_one_line_naming_account_field_and_value(
    cli: Any, sim: Any, tmp_path: Path, exchange: str, value: str
) -> None:
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    sim.servers[exchange].faults.add(
        "garble", BALANCES[exchange], method="GET", field=FIELD[exchange], value=value
    )
    result = cli("--config", str(config), "sell", "--yes", "--account", NAME[exchange])
    assert result.code == 3, (result.out, result.err)
    line = one_line(result.err)
    assert f"'{NAME[exchange]}'" in line and FIELD[exchange] in line
    assert repr(value) in line or (value == "" and "empty" in line), line
    method, path = ORDER[exchange]
    assert sim.servers[exchange].faults.count(method, path) == 0  # nothing was sold


def test_the_checked_parser_refuses_every_kind_of_garbage() -> None:
    for bad in ("NaN", "nan", "sNaN", "Infinity", "-inf", "1e", "abc", True):
        with pytest.raises(BadAmount, match="free"):
            amount(bad, "free")
    with pytest.raises(BadAmount, match="is empty"):
        amount("", "free", required=True)
    with pytest.raises(BadAmount, match="negative"):
        amount("-0.1", "free", negative_ok=False)
    assert amount("", "free") == 0 and str(amount("0.00100", "free")) == "0.00100"


def rules_file(home: Path) -> Path:
    [path] = list(home.glob("rules-binance-*.json"))
    return path


def test_a_rules_cache_with_nan_is_discarded_and_reloaded(
    cli: Any, sim: Any, tmp_path: Path, isolated_env: Path
) -> None:
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    assert cli("--config", str(config), "scan", "--account", "main").code == 0
    path = rules_file(isolated_env)
    document = json.loads(path.read_text())
    for row in document["rules"]:
        row[5] = "NaN"  # the step size
    path.write_text(json.dumps(document))
    before = sim.servers["binance"].faults.count("GET", "/api/v3/exchangeInfo")
    result = cli("--config", str(config), "sell", "--yes", "--account", "main", "--json")
    assert result.code == 0, result.err
    assert sim.servers["binance"].faults.count("GET", "/api/v3/exchangeInfo") == before + 1
    assert "NaN" not in path.read_text()  # replaced by the fresh rules
    doc = json.loads(result.out)
    assert all(o["status"] == "filled" for a in doc["accounts"] for o in a["orders"])


def test_a_rules_cache_that_is_a_folder_is_skipped_with_a_warning(
    cli: Any, sim: Any, tmp_path: Path, isolated_env: Path
) -> None:
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    assert cli("--config", str(config), "scan", "--account", "main").code == 0
    path = rules_file(isolated_env)
    path.unlink()
    path.mkdir()
    result = cli("--config", str(config), "scan", "--account", "main", "--json")
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    assert path.is_dir()  # never removed: it is the user's, the rules are simply re-read
    # The cache class itself: unreadable is "missing", an unwritable file is not an error.
    cache = RulesCache(isolated_env)
    assert cache.load("binance", sim.url("binance"), 3600) is None
