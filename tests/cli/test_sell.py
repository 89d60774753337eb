"""`dustsweep sell` end to end: plan, confirmation, execution and history, against the simulator."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dustsweep.sim.demo import DEMO_SCENARIO
from tests.cli.test_scan import accounts_for, keys  # noqa: F401 - fixture
from tests.conftest import write_config

pytestmark = pytest.mark.usefixtures("keys")


@pytest.fixture
def sim(sim_factory: Any) -> Any:
    return sim_factory(DEMO_SCENARIO)


@pytest.fixture
def config(sim: Any, tmp_path: Path) -> Path:
    return write_config(tmp_path, accounts_for(sim), keep=["BNB"])


def wallet(sim: Any, exchange: str) -> Any:
    return sim.dialect(exchange).account("demo").wallet


def free(sim: Any, exchange: str, asset: str) -> Decimal:
    return Decimal(wallet(sim, exchange).get(asset)[0])


def order_posts(sim: Any) -> int:
    return sum(
        1
        for server in sim.servers.values()
        for method, path in server.requests
        if method == "POST" and path in {"/api/v3/order", "/v5/order/create"}
    )


def test_without_terminal_and_without_yes_only_prints_the_plan(
    cli: Any, sim: Any, config: Path
) -> None:
    before = free(sim, "binance", "ADA")
    result = cli("--config", str(config), "sell")
    assert result.code == 0
    assert "sell plan" in result.out and "ADAUSDT" in result.out and "Dry run" in result.out
    assert order_posts(sim) == 0
    assert free(sim, "binance", "ADA") == before


def test_dry_run_json_lists_planned_orders(cli: Any, sim: Any, config: Path) -> None:
    result = cli("--config", str(config), "sell", "--dry-run", "--json", "--yes")
    assert result.code == 0
    doc = json.loads(result.out)
    assert doc["dry_run"] is True
    orders = {o["asset"]: o for o in doc["accounts"][0]["orders"]}
    assert orders["ADA"]["status"] == "planned" and orders["ADA"]["market"] == "ADAUSDT"
    for order in orders.values():
        assert set(order) == {
            "asset",
            "market",
            "qty",
            "status",
            "client_order_id",
            "filled_qty",
            "proceeds",
            "fee",
            "fee_asset",
            "residual",
            "error",
            "followup",
        }
    assert order_posts(sim) == 0


def test_yes_sells_exactly_the_planned_quantities_and_records_them(
    cli: Any, sim: Any, config: Path
) -> None:
    plan = json.loads(cli("--config", str(config), "sell", "--dry-run", "--json").out)
    planned = {
        (a["name"], o["asset"]): Decimal(o["qty"])
        for a in plan["accounts"]
        for o in a["orders"]
        if o["status"] == "planned" and not o["followup"]
    }
    followups = {
        (a["name"], o["asset"]) for a in plan["accounts"] for o in a["orders"] if o["followup"]
    }
    before = {k: free(sim, "binance" if k[0] == "main" else "bybit", k[1]) for k in planned}
    result = cli("--config", str(config), "sell", "--yes", "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["dry_run"] is False
    done = {(a["name"], o["asset"]): o for a in doc["accounts"] for o in a["orders"]}
    for key, qty in planned.items():
        exchange = "binance" if key[0] == "main" else "bybit"
        assert done[key]["status"] == "filled"
        assert Decimal(done[key]["filled_qty"]) == qty
        assert free(sim, exchange, key[1]) == before[key] - qty
        assert done[key]["client_order_id"]
    placed = {
        (a["name"], o["asset"]) for a in doc["accounts"] for o in a["orders"] if o["followup"]
    }
    assert placed == followups  # the plan named every follow-up sale the run placed
    # Never sold: the quote asset, the keep list, locked amounts.
    assert free(sim, "binance", "BNB") == Decimal("0.00835")
    assert wallet(sim, "binance").get("SOL")[1] == Decimal("0.05")
    history = json.loads(cli("--config", str(config), "history", "--json").out)
    recorded = {(r["account"], r["asset"]) for r in history if r["kind"] == "order"}
    assert set(planned) <= recorded
    assert all(r["status"] == "filled" for r in history)
    assert {
        "time",
        "exchange",
        "account",
        "kind",
        "asset",
        "qty",
        "received_asset",
        "received_qty",
        "fee",
        "fee_asset",
        "order_id",
        "client_id",
        "status",
    } <= set(history[0])
    csv_lines = cli("--config", str(config), "history", "--csv").out.strip().splitlines()
    assert csv_lines[0].startswith("time,exchange,account,kind,sold_asset,sold_qty")
    assert len(csv_lines) == len(history) + 1
    # A second run finds nothing left to sell: no order is sent twice.
    posts = order_posts(sim)
    again = json.loads(cli("--config", str(config), "sell", "--yes", "--json").out)
    assert all(o["status"] != "filled" for a in again["accounts"] for o in a["orders"])
    assert order_posts(sim) == posts


def test_follow_up_sells_what_the_run_received_in_an_intermediate_quote(
    cli: Any, sim: Any, config: Path
) -> None:
    result = cli("--config", str(config), "sell", "--yes", "--json", "--account", "main")
    orders = json.loads(result.out)["accounts"][0]["orders"]
    received_eth = sum(
        Decimal(o["proceeds"]) - Decimal(o["fee"]) for o in orders if o["market"].endswith("ETH")
    )
    follow = [o for o in orders if o["asset"] == "ETH"]
    assert received_eth > 0 and len(follow) == 1
    assert Decimal(follow[0]["filled_qty"]) <= received_eth
    assert free(sim, "binance", "ETH") < Decimal("0.0001")  # what stays is below one step


@pytest.mark.parametrize(("answer", "sold"), [("y\n", True), ("n\n", False)])
def test_at_a_terminal_it_asks_first(
    cli: Any, sim: Any, config: Path, monkeypatch: pytest.MonkeyPatch, answer: str, sold: bool
) -> None:
    monkeypatch.setattr("dustsweep.cli.options.stdin_is_terminal", lambda: True)
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    result = cli("--config", str(config), "sell", "--account", "main")
    assert result.code == 0
    # The question never mixes with the output, and counts the follow-up sale it will place
    # (3 sales, then the ETH received -> USDT).
    assert "Place 4 market order(s)?" in result.err
    assert order_posts(sim) == (4 if sold else 0)
    assert (free(sim, "binance", "ADA") < Decimal("12.3456")) is sold


def test_max_value_caps_the_run(cli: Any, sim: Any, config: Path) -> None:
    doc = json.loads(
        cli("--config", str(config), "sell", "--dry-run", "--json", "--max-value", "5").out
    )
    orders = [o for a in doc["accounts"] for o in a["orders"]]
    planned = [o for o in orders if o["status"] == "planned"]
    assert planned and any(o["status"] == "skipped" and "max-value" in o["error"] for o in orders)
    assert Decimal(doc["totals"]["expected_value"]) <= 5


def test_to_restricts_markets_and_asset_names_a_large_balance(
    cli: Any, sim: Any, config: Path
) -> None:
    doc = json.loads(
        cli(
            "--config",
            str(config),
            "sell",
            "--dry-run",
            "--json",
            "--account",
            "main",
            "--to",
            "ETH",
        ).out
    )
    markets = {o["market"] for o in doc["accounts"][0]["orders"] if o["status"] == "planned"}
    assert markets and all(m.endswith("ETH") for m in markets)
    big = json.loads(
        cli(
            "--config",
            str(config),
            "sell",
            "--dry-run",
            "--json",
            "--account",
            "main",
            "--asset",
            "btc",
        ).out
    )
    assert [o["asset"] for o in big["accounts"][0]["orders"]] == ["BTC"]


def test_keep_list_and_config_guards(cli: Any, sim: Any, tmp_path: Path) -> None:
    config = write_config(tmp_path, accounts_for(sim), keep=["ADA"], only=["ADA", "XRP", "ETH"])
    doc = json.loads(cli("--config", str(config), "sell", "--dry-run", "--json").out)
    planned = {o["asset"] for a in doc["accounts"] for o in a["orders"] if o["status"] == "planned"}
    assert "ADA" not in planned and planned <= {"XRP", "ETH"}


@pytest.mark.parametrize("value", ["ten", "-1", "nan"])
def test_bad_max_value_is_a_usage_error(cli: Any, sim: Any, config: Path, value: str) -> None:
    result = cli("--config", str(config), "sell", "--yes", "--max-value", value)
    assert result.code == 2 and "--max-value" in result.err
    assert order_posts(sim) == 0


def test_a_market_halted_underneath_is_skipped_and_others_go_on(
    cli: Any, sim: Any, config: Path
) -> None:
    binance = sim.dialect("binance")
    server = sim.servers["binance"]
    server.faults.add(
        "action",
        "/api/v3/order",
        method="POST",
        calls=1,
        action=lambda: [
            binance.set_symbol(s, status="HALT")
            for s in (
                "ADAUSDT",
                "ADABTC",
                "ADAETH",
                "ADABNB",
                "ADATUSD",
                "XRPETH",
                "XRPBTC",
                "XRPUSDT",
                "XRPBNB",
                "XRPTUSD",
                "XRPFDUSD",
                "LTCETH",
                "LTCBTC",
                "LTCUSDT",
                "LTCBNB",
                "LTCTUSD",
            )
        ],
    )
    result = cli("--config", str(config), "sell", "--yes", "--json", "--account", "main")
    assert result.code == 4
    orders = json.loads(result.out)["accounts"][0]["orders"]
    assert any(o["status"] in {"rejected", "skipped"} and o["error"] for o in orders)


def test_exchange_down_is_exit_3(cli: Any, sim: Any, tmp_path: Path) -> None:
    accounts = accounts_for(sim)
    accounts[0]["base_url"] = "http://127.0.0.1:9"
    config = write_config(tmp_path, accounts[:1])
    result = cli("--config", str(config), "sell", "--yes")
    assert result.code == 3
    assert "main" in result.err


def test_binance_notional_is_checked_at_the_average_price_before_sending(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    import copy

    scenario = copy.deepcopy(DEMO_SCENARIO)
    # At the ticker price 8.5 ADA is worth 5.31 USDT, just above ADAUSDT's 5 USDT minimum (+1%);
    # Binance judges NOTIONAL at the 5-minute average price, which makes it 5.02: below.
    scenario["binance"]["accounts"][0]["balances"]["ADA"] = "8.55000000"
    scenario["binance"]["avg_prices"] = {"ADAUSDT": "0.59000000"}
    sim = sim_factory(scenario)
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    doc = json.loads(
        cli("--config", str(config), "sell", "--dry-run", "--json", "--account", "main").out
    )
    ada = [o for o in doc["accounts"][0]["orders"] if o["asset"] == "ADA"]
    assert [o["market"] for o in ada if o["status"] == "planned"] == ["ADAETH"]
    result = cli("--config", str(config), "sell", "--yes", "--json", "--account", "main")
    assert result.code == 0, result.err
    sold = {o["asset"]: o for o in json.loads(result.out)["accounts"][0]["orders"]}
    assert sold["ADA"]["market"] == "ADAETH" and sold["ADA"]["status"] == "filled"
    orders = sim.dialect("binance").account("demo").orders
    assert "ADAUSDT" not in {o.symbol for o in orders}  # never sent where it would break NOTIONAL
    avg_requests = [r for r in sim.servers["binance"].requests if r[1] == "/api/v3/avgPrice"]
    assert 0 < len(avg_requests) <= 2 * len(orders)


def test_history_csv_holds_only_what_executed(cli: Any, isolated_env: Path) -> None:
    from dustsweep.storage.ledger import LEDGER_FILE_NAME, Ledger

    ledger = Ledger(isolated_env / LEDGER_FILE_NAME)
    run = ledger.begin_run("sell", dry_run=False)
    common = {"exchange": "binance", "account": "main", "kind": "order", "run_id": run}
    ledger.add(asset="ADA", qty=Decimal("12.3"), status="filled", client_id="ds-a-ADA", **common)
    ledger.add(asset="XRP", qty=Decimal("1"), status="rejected", client_id="ds-a-XRP", **common)
    ledger.close()
    everything = json.loads(cli("history", "--json").out)
    assert {r["status"] for r in everything} == {"filled", "rejected"}
    rows = cli("history", "--csv").out.strip().splitlines()
    assert len(rows) == 2 and ",ADA," in rows[1]


def test_follow_up_sales_get_the_same_average_price_check(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    """Issue 9: the follow-up sale of the ETH this run received is checked at Binance's
    average price like a planned order: at that price it breaks ETHUSDT's NOTIONAL, so it is
    never sent there (re-planned or left with the reason), instead of being rejected."""
    import copy

    scenario = copy.deepcopy(DEMO_SCENARIO)
    scenario["binance"]["avg_prices"] = {"ETHUSDT": "1000.00000000"}
    sim = sim_factory(scenario)
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    result = cli("--config", str(config), "sell", "--yes", "--json", "--account", "main")
    assert result.code == 0, result.err
    orders = json.loads(result.out)["accounts"][0]["orders"]
    assert any(o["market"].endswith("ETH") and o["status"] == "filled" for o in orders)
    sent = sim.dialect("binance").account("demo").orders
    assert "ETHUSDT" not in {o.symbol for o in sent}
    history = json.loads(cli("--config", str(config), "history", "--json").out)
    assert not [r for r in history if r["market"] == "ETHUSDT"]
    assert all(r["status"] != "rejected" for r in history)
