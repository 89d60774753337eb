"""A failed side read never costs the account its sales: reads are retried a little, and what a
read that still fails feeds becomes unknown while the rest goes on. Real SDKs, simulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dustsweep.sim.demo import DEMO_SCENARIO
from tests.cli.test_scan import accounts_for
from tests.cli.test_scan import keys as keys  # the fixture
from tests.conftest import write_config

pytestmark = pytest.mark.usefixtures("keys")

ELIGIBILITY = {
    "binance": ("POST", "/sapi/v1/asset/dust-btc"),
    "bybit": ("GET", "/v5/asset/covert/small-balance-list"),
}
ORDER = {"binance": ("POST", "/api/v3/order"), "bybit": ("POST", "/v5/order/create")}
NAME = {"binance": "main", "bybit": "uta"}
HTML_502 = (
    b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>"
    + (b"<p>nginx</p>" * 200)
    + b"</body></html>"
)


@pytest.fixture
def sim(sim_factory: Any) -> Any:
    return sim_factory(DEMO_SCENARIO)


def processed(sim: Any, exchange: str, call: tuple[str, str]) -> int:
    return sum(1 for request in sim.servers[exchange].requests if request == call)


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_eligibility_that_keeps_failing_is_unknown_and_the_sales_happen(
    cli: Any, sim: Any, tmp_path: Path, exchange: str
) -> None:
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    method, path = ELIGIBILITY[exchange]
    sim.servers[exchange].faults.add("http", path, method=method, status=500, body=HTML_502)
    scan = cli("--config", str(config), "scan", "--json")
    assert scan.code == 0, scan.err
    account = next(a for a in json.loads(scan.out)["accounts"] if a["name"] == NAME[exchange])
    assert account["error"] is None
    assert all(row["convertible"] is None for row in account["assets"])
    assert any("eligibility unknown" in w for w in account["warnings"])
    warnings = account["warnings"]
    assert not any("<html" in w.lower() or "nginx" in w for w in warnings), warnings
    # Retried within a small budget: three attempts, not one, not forever.
    assert sim.servers[exchange].faults.count(method, path) == 3

    sell = cli("--config", str(config), "sell", "--yes", "--json")
    assert sell.code == 0, sell.err
    doc = json.loads(sell.out)
    orders = next(a for a in doc["accounts"] if a["name"] == NAME[exchange])["orders"]
    assert orders and all(o["status"] == "filled" for o in orders), orders
    assert processed(sim, exchange, ORDER[exchange]) == len(orders)


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
@pytest.mark.parametrize("kind", ["http", "drop"])
def test_one_failed_read_is_retried_and_nothing_is_lost(
    cli: Any, sim: Any, tmp_path: Path, exchange: str, kind: str
) -> None:
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    method, path = ELIGIBILITY[exchange]
    extra = {"status": 503, "body": HTML_502} if kind == "http" else {}
    sim.servers[exchange].faults.add(kind, path, method=method, calls=1, **extra)
    scan = cli("--config", str(config), "scan", "--json")
    assert scan.code == 0, scan.err
    account = next(a for a in json.loads(scan.out)["accounts"] if a["name"] == NAME[exchange])
    assert any(row["convertible"] is True for row in account["assets"])
    assert sim.servers[exchange].faults.count(method, path) == 2


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_an_order_is_never_retried_after_a_5xx(
    cli: Any, sim: Any, tmp_path: Path, exchange: str
) -> None:
    """The read retry must not reach orders: a 5xx on an order is reconciled, not resent."""
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    method, path = ORDER[exchange]
    sim.servers[exchange].faults.add("lose", path, method=method, calls=1)
    sell = cli("--config", str(config), "sell", "--yes", "--json")
    assert "Traceback" not in sell.err
    doc = json.loads(sell.out)
    orders = next(a for a in doc["accounts"] if a["name"] == NAME[exchange])["orders"]
    # Every order id reached the exchange exactly once.
    assert processed(sim, exchange, ORDER[exchange]) == len(orders)


def test_an_html_error_page_on_a_main_read_is_one_short_line(
    cli: Any, sim: Any, tmp_path: Path
) -> None:
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    sim.servers["binance"].faults.add("http", "/api/v3/account", status=502, body=HTML_502)
    result = cli("--config", str(config), "scan", "--account", "main")
    assert result.code == 3
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert "502" in lines[0] and "nginx" not in lines[0] and "<" not in lines[0]
    assert "Traceback" not in result.err


def test_an_unreadable_average_price_does_not_cost_the_sale(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    """avgPrice is a side read: when it keeps failing, the NOTIONAL check is unknown and the
    order goes out as planned (the exchange would refuse it, executing nothing, if too small)."""
    import copy

    scenario = copy.deepcopy(DEMO_SCENARIO)
    # 8.55 ADA at the ticker is within 10 % of ADAUSDT's minimum: the average price is asked.
    scenario["binance"]["accounts"][0]["balances"]["ADA"] = "8.55000000"
    sim = sim_factory(scenario)
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    faults = sim.servers["binance"].faults
    faults.add("http", "/api/v3/avgPrice", method="GET", status=502, body=HTML_502)
    result = cli("--config", str(config), "sell", "--yes", "--json", "--account", "main")
    assert result.code == 0, result.err
    sold = {o["asset"]: o for o in json.loads(result.out)["accounts"][0]["orders"]}
    assert sold["ADA"]["status"] == "filled" and sold["ADA"]["market"] == "ADAUSDT"
    assert faults.count("GET", "/api/v3/avgPrice") >= 3  # asked, retried, then gone on


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_a_truncated_answer_to_a_read_is_retried(
    cli: Any, sim: Any, tmp_path: Path, exchange: str
) -> None:
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    path = {"binance": "/api/v3/account", "bybit": "/v5/account/wallet-balance"}[exchange]
    faults = sim.servers[exchange].faults
    faults.add("http", path, method="GET", status=200, body=b'{"balances": [{"asset": "A', calls=1)
    result = cli("--config", str(config), "scan", "--json", "--account", NAME[exchange])
    assert result.code == 0, result.err
    assert faults.count("GET", path) == 2
