"""Names are checked before anything is sent (services.names): an unknown ``--to``, ``--asset``,
``--account`` or config ``quote`` is one line and exit 2 whatever the accounts' state; and
``convert`` without ``--to`` uses each account's ``convert_to``, skipping an account whose
exchange cannot convert into the target. Everything runs the real CLI against the simulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_convert import (
    balances,
    conversion_posts,
    run_json,
    scenario,
    sim_account,
)
from tests.cli.test_scan import accounts_for, keys  # noqa: F401 - fixture
from tests.conftest import write_config

pytestmark = pytest.mark.usefixtures("keys")

ORDER_POSTS = {"binance": "/api/v3/order", "bybit": "/v5/order/create"}


def orders_sent(sim: Any) -> int:
    return sum(int(sim.servers[x].faults.count("POST", p)) for x, p in ORDER_POSTS.items())


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("state", ["dust", "cooldown", "nothing"])
def test_unknown_convert_target_is_exit_2_whatever_the_account_state(
    cli: Any, sim_factory: Any, tmp_path: Path, state: str
) -> None:
    only_usdt = {"USDT": "25"}
    sim = sim_factory(scenario(binance=only_usdt if state == "nothing" else None))
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    if state == "cooldown":
        code, _, err = run_json(cli, config, "convert", "--to", "BNB", "--account", "main", "--yes")
        assert code == 0, err
        sim_account(sim, "binance").wallet.set("DOGE", "20.7")  # new dust, inside the cool-down
    posts, before = conversion_posts(sim, "binance"), balances(sim, "binance")
    result = cli("--config", str(config), "convert", "--to", "NOSUCH", "--account", "main", "--yes")
    assert result.code == 2, result.err
    line = one_line(result.err)
    assert line.startswith("dustsweep: --to:") and '"NOSUCH"' in line, line
    assert conversion_posts(sim, "binance") == posts
    assert balances(sim, "binance") == before


def test_unknown_sell_asset_and_a_to_no_market_quotes_are_exit_2(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    sim = sim_factory(scenario())
    config = write_config(tmp_path, accounts_for(sim))
    result = cli("--config", str(config), "sell", "--asset", "NOSUCH", "--yes")
    assert result.code == 2 and '--asset: "NOSUCH"' in one_line(result.err), result.err
    # ADA is an asset on both exchanges, but no market is quoted in it.
    result = cli("--config", str(config), "sell", "--to", "ADA", "--yes")
    assert result.code == 2 and "--to: no market" in one_line(result.err), result.err
    assert '"ADA"' in result.err
    assert orders_sent(sim) == 0
    # The control: known names go through (a dry run plans ADA on ADAUSDT).
    result = cli("--config", str(config), "sell", "--asset", "ada", "--to", "USDT", "--dry-run")
    assert result.code == 0, result.err
    assert "ADAUSDT" in result.out


@pytest.mark.parametrize(
    "command",
    [
        ("scan",),
        ("sell", "--dry-run"),
        ("convert", "--to", "USDT", "--dry-run"),
        ("sweep",),
        ("history",),
        ("history", "sync"),
        ("doctor",),
    ],
)
def test_unknown_account_is_exit_2_for_every_command(
    cli: Any, sim_factory: Any, tmp_path: Path, command: tuple[str, ...]
) -> None:
    sim = sim_factory(scenario())
    config = write_config(tmp_path, accounts_for(sim))
    result = cli("--config", str(config), *command, "--account", "nosuch")
    assert result.code == 2, (result.out, result.err)
    line = one_line(result.err)
    assert '"nosuch"' in line and "main, uta" in line, line
    assert result.out == ""


def test_history_account_may_name_an_account_only_the_history_holds(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    """An account removed from the config keeps its history reachable by name."""
    sim = sim_factory(scenario())
    config = write_config(tmp_path, accounts_for(sim))
    code, _, err = run_json(cli, config, "convert", "--to", "BNB", "--account", "main", "--yes")
    assert code == 0, err
    renamed = write_config(tmp_path, accounts_for(sim, binance={"name": "renamed"}))
    result = cli("--config", str(renamed), "history", "--account", "main", "--json")
    assert result.code == 0, result.err
    records = json.loads(result.out)
    assert records and {r["account"] for r in records} == {"main"}


@pytest.mark.parametrize("quote", ["NOSUCH", "ADA"])
def test_a_quote_no_exchange_quotes_is_exit_2_naming_quote(
    cli: Any, sim_factory: Any, tmp_path: Path, quote: str
) -> None:
    sim = sim_factory(scenario())
    config = write_config(tmp_path, accounts_for(sim), quote=quote)
    for command in (("scan",), ("sell", "--yes"), ("sweep", "--yes")):
        result = cli("--config", str(config), *command)
        assert result.code == 2, (command, result.err)
        line = one_line(result.err)
        assert line.startswith("dustsweep: quote:") and f'"{quote}"' in line, line
    assert orders_sent(sim) == 0


def test_convert_without_to_uses_each_accounts_convert_to(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    sim = sim_factory(scenario())
    accounts = accounts_for(sim, binance={"convert_to": "BNB"}, bybit={"convert_to": "USDC"})
    config = write_config(tmp_path, accounts, keep=["BNB"])
    code, doc, err = run_json(cli, config, "convert", "--dry-run")
    assert code == 0, err
    targets = {a["name"]: (a["target"], a["note"], a["error"]) for a in doc["accounts"]}
    assert targets == {"main": ("BNB", None, None), "uta": ("USDC", None, None)}
    assert all(a["conversions"] for a in doc["accounts"])
    assert all(r["target"] == a["target"] for a in doc["accounts"] for r in a["conversions"])
    assert conversion_posts(sim, "binance") == conversion_posts(sim, "bybit") == 0


def test_convert_to_bnb_skips_an_exchange_that_cannot_convert_into_it(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    sim = sim_factory(scenario())
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    code, doc, err = run_json(cli, config, "convert", "--to", "BNB", "--dry-run")
    assert code == 0, err
    main, uta = doc["accounts"]
    assert main["error"] is None and main["conversions"], main
    assert uta["error"] is None and uta["conversions"] == []
    assert "skipped" in uta["note"] and "MNT, USDT, USDC" in uta["note"]
    text = cli("--config", str(config), "convert", "--to", "BNB", "--dry-run")
    assert text.code == 0, text.err
    assert "skipped: bybit converts small balances into MNT, USDT, USDC, not BNB" in text.out
    # Only accounts that cannot: bad input, exit 2, nothing sent.
    result = cli("--config", str(config), "convert", "--to", "BNB", "--account", "uta", "--yes")
    assert result.code == 2, result.err
    assert "no chosen account can convert into BNB" in one_line(result.err)
    assert conversion_posts(sim, "bybit") == 0
