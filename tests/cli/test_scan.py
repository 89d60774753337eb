"""`dustsweep scan` end to end: real adapters and SDKs against the simulator, through the CLI."""

from __future__ import annotations

import json
import socket
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dustsweep.core.lots import floor_to_step
from dustsweep.sim.demo import DEMO_KEYS, DEMO_SCENARIO
from tests.conftest import write_config

BINANCE_KEY, BINANCE_SECRET = DEMO_KEYS["binance"]
BYBIT_KEY, BYBIT_SECRET = DEMO_KEYS["bybit"]


def accounts_for(sim: Any, **overrides: Any) -> list[dict[str, Any]]:
    binance = {
        "name": "main",
        "exchange": "binance",
        "api_key_env": "T_BINANCE_KEY",
        "api_secret_env": "T_BINANCE_SECRET",
        "base_url": sim.url("binance"),
    }
    bybit = {
        "name": "uta",
        "exchange": "bybit",
        "api_key_env": "T_BYBIT_KEY",
        "api_secret_env": "T_BYBIT_SECRET",
        "base_url": sim.url("bybit"),
    }
    binance.update(overrides.get("binance", {}))
    bybit.update(overrides.get("bybit", {}))
    return [binance, bybit]


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_BINANCE_KEY", BINANCE_KEY)
    monkeypatch.setenv("T_BINANCE_SECRET", BINANCE_SECRET)
    monkeypatch.setenv("T_BYBIT_KEY", BYBIT_KEY)
    monkeypatch.setenv("T_BYBIT_SECRET", BYBIT_SECRET)


@pytest.fixture
def demo_sim(sim_factory: Any) -> Any:
    return sim_factory(DEMO_SCENARIO)


def scan_json(cli: Any, config: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = cli("--config", str(config), "scan", "--json", *extra)
    return result.code, json.loads(result.out), result.err


def by_asset(account: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["asset"]: row for row in account["assets"]}


def test_scan_json_reports_every_balance_with_a_verdict(
    cli: Any, demo_sim: Any, keys: None, tmp_path: Path
) -> None:
    config = write_config(tmp_path, accounts_for(demo_sim), keep=["BNB"])
    code, doc, _ = scan_json(cli, config)
    assert code == 0
    assert doc["quote"] == "USDT"
    binance, bybit = doc["accounts"]
    assert (binance["name"], binance["exchange"], binance["error"]) == ("main", "binance", None)
    # Every balance the exchange holds is reported, whatever its size.
    wallet = demo_sim.dialect("binance").account("demo").wallet
    held = {a for a in wallet.assets() if sum(wallet.get(a)) > 0}
    assert set(by_asset(binance)) == held
    for row in binance["assets"] + bybit["assets"]:
        assert set(row) >= {
            "asset",
            "free",
            "locked",
            "value",
            "status",
            "reason",
            "market",
            "sell_qty",
            "residual",
            "convertible",
        }
        free, sell = Decimal(row["free"]), Decimal(row["sell_qty"])
        residual = Decimal(row["residual"])
        if row["status"] == "sellable":
            assert sell == free and residual == 0 and row["market"]
        elif row["status"] == "partial":
            assert 0 < sell < free and sell + residual == free
        elif row["status"] in {"dust", "no_market"}:
            assert sell == 0 and row["reason"]
        assert "E" not in row["free"] and "e" not in row["free"]
    assets = by_asset(binance)
    # ADAUSDT steps by 0.1 (real LOT_SIZE): the floored quantity sells, the rest stays.
    assert assets["ADA"]["status"] == "partial"
    assert Decimal(assets["ADA"]["sell_qty"]) == floor_to_step(Decimal("12.3456"), Decimal("0.1"))
    assert assets["USDT"]["status"] == "ignored" and assets["BNB"]["status"] == "ignored"
    assert assets["LDUSDT"]["status"] == "ignored"
    assert assets["SOL"]["status"] == "locked"
    assert assets["BCC"]["status"] == "no_market" and assets["BCC"]["value"] is None
    assert assets["TRX"]["status"] == "dust" and "LOT_SIZE minQty" in assets["TRX"]["reason"]
    assert assets["DOGE"]["status"] == "dust" and "NOTIONAL" in assets["DOGE"]["reason"]
    # XRP is too small for XRPUSDT but one whole XRP passes XRPETH's lower minimum.
    assert assets["XRP"]["market"] == "XRPETH"
    ybit = by_asset(bybit)
    # Bybit's sellable amount excludes what is borrowed.
    assert Decimal(ybit["XRP"]["free"]) == Decimal("0.5")
    assert ybit["FIL"]["market"] == "FILUSDC" and ybit["FIL"]["status"] == "sellable"
    assert ybit["KAVA"]["status"] == "no_market"
    totals = binance["totals"]
    assert Decimal(totals["total"]) >= Decimal(totals["small"]) >= Decimal(totals["dust"])
    assert totals["unpriced"] == sum(1 for r in binance["assets"] if r["value"] is None)


def test_scan_table_hides_large_sellable_balances_unless_all(
    cli: Any, demo_sim: Any, keys: None, tmp_path: Path
) -> None:
    config = write_config(tmp_path, accounts_for(demo_sim))
    short = cli("--config", str(config), "scan", "--account", "main")
    assert short.code == 0
    assert "ADA" in short.out and "partial" in short.out
    assert "│ BTC " not in short.out and "--all" in short.out
    full = cli("--config", str(config), "scan", "--account", "main", "--all")
    assert "│ BTC " in full.out
    assert "uta" not in full.out


def test_scan_csv(cli: Any, demo_sim: Any, keys: None, tmp_path: Path) -> None:
    config = write_config(tmp_path, accounts_for(demo_sim))
    result = cli("--config", str(config), "scan", "--csv", "--account", "uta")
    lines = result.out.strip().splitlines()
    assert lines[0].split(",")[:4] == ["account", "exchange", "asset", "free"]
    assert all(line.startswith("uta,bybit,") for line in lines[1:])


def test_warm_cache_scan_sends_three_requests_per_account(
    cli: Any, demo_sim: Any, keys: None, tmp_path: Path
) -> None:
    config = write_config(tmp_path, accounts_for(demo_sim))
    assert cli("--config", str(config), "scan", "--json").code == 0
    servers = demo_sim.servers
    for server in servers.values():
        server.requests.clear()
    assert cli("--config", str(config), "scan", "--json").code == 0
    for server in servers.values():
        assert len(server.requests) <= 3, server.requests
    for server in servers.values():
        server.requests.clear()
    assert cli("--config", str(config), "scan", "--json", "--refresh").code == 0
    assert all(len(s.requests) == 4 for s in servers.values())


def test_wrong_secret_is_an_auth_error_naming_the_account(
    cli: Any, demo_sim: Any, keys: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("T_BINANCE_SECRET", "not-the-secret-123")
    config = write_config(tmp_path, accounts_for(demo_sim))
    result = cli("--config", str(config), "scan", "--json", "--account", "main")
    assert result.code == 3
    assert "main" in result.err
    assert "not-the-secret-123" not in result.out + result.err
    assert json.loads(result.out)["accounts"][0]["error"]


def test_one_account_failing_still_reports_the_other(
    cli: Any, demo_sim: Any, keys: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("T_BYBIT_KEY", "unknown-key")
    config = write_config(tmp_path, accounts_for(demo_sim))
    code, doc, err = scan_json(cli, config)
    assert code == 4
    main, uta = doc["accounts"]
    assert main["error"] is None and main["assets"]
    assert uta["error"] and uta["assets"] == [] and uta["totals"] is None
    assert "uta" in err and "unknown-key" not in err


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_network_down_names_account_and_host(cli: Any, keys: None, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    config = write_config(
        tmp_path,
        [
            {
                "name": "main",
                "exchange": "binance",
                "api_key_env": "T_BINANCE_KEY",
                "api_secret_env": "T_BINANCE_SECRET",
                "base_url": url,
            }
        ],
    )
    result = cli("--config", str(config), "scan")
    assert result.code == 3
    assert "main" in result.err and "127.0.0.1" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (
            "[[accounts]]\nname='a'\nexchange='kraken'\napi_key_env='X'\napi_secret_env='Y'\n",
            "exchange",
        ),
        ("dust_treshold = '10'\n", "dust_treshold"),
        ("dust_threshold = 'ten'\n[[accounts]]\nname='a'\nexchange='binance'\n", "dust_threshold"),
        ("dust_threshold = '-1'\n[[accounts]]\nname='a'\nexchange='binance'\n", "dust_threshold"),
        ("quote = \n", "line 1"),
        (
            "[[accounts]]\nname='a'\nexchange='binance'\napi_key_env='NOPE_K'\napi_secret_env='NOPE_S'\n"
            "base_url='ftp://x'\n",
            "base_url",
        ),
    ],
)
def test_config_errors_are_one_line_exit_2(
    cli: Any, tmp_path: Path, body: str, needle: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(body)
    result = cli("--config", str(path), "scan")
    assert result.code == 2
    assert needle in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err


def test_missing_secret_env_var_exit_2_before_any_request(
    cli: Any, demo_sim: Any, tmp_path: Path
) -> None:
    config = write_config(tmp_path, accounts_for(demo_sim))
    result = cli("--config", str(config), "scan")
    assert result.code == 2
    assert "T_BINANCE_KEY" in result.err
    assert all(not s.requests for s in demo_sim.servers.values())


def test_inline_keys_refused_when_file_is_readable_by_others(
    cli: Any, demo_sim: Any, tmp_path: Path
) -> None:
    accounts = [
        {
            "name": "main",
            "exchange": "binance",
            "api_key": BINANCE_KEY,
            "api_secret": BINANCE_SECRET,
            "base_url": demo_sim.url("binance"),
        }
    ]
    config = write_config(tmp_path, accounts, mode=0o644)
    result = cli("--config", str(config), "scan")
    assert result.code == 2 and "chmod 600" in result.err
    assert BINANCE_SECRET not in result.err
    config.chmod(0o600)
    assert cli("--config", str(config), "scan", "--json").code == 0


def test_usage_errors_exit_2(cli: Any, demo_sim: Any, keys: None, tmp_path: Path) -> None:
    config = write_config(tmp_path, accounts_for(demo_sim))
    assert cli("--config", str(config), "scan", "--json", "--csv").code == 2
    unknown = cli("--config", str(config), "scan", "--account", "nope")
    assert unknown.code == 2 and "main" in unknown.err
    assert cli("scan", "--bogus").code == 2


def test_missing_config_file_exit_2(cli: Any, tmp_path: Path) -> None:
    result = cli("--config", str(tmp_path / "absent.toml"), "scan")
    assert result.code == 2
    assert "absent.toml" in result.err


def test_demo_shows_every_verdict(cli: Any) -> None:
    result = cli("demo", "--json")
    assert result.code == 0
    doc = json.loads(result.out)
    statuses = {row["status"] for acc in doc["accounts"] for row in acc["assets"]}
    assert statuses >= {"sellable", "partial", "dust", "no_market", "locked", "ignored"}
