"""The helpers people expect: ``config path|init|show``, ``doctor --json``, shell completion,
global -v/-q/--no-color, the help text, the demo and the simulator's demo keys."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dustsweep.sim.demo import DEMO_KEYS, DEMO_SCENARIO
from tests.cli.test_scan import accounts_for, keys  # noqa: F401 - fixture
from tests.cli.test_startup import run_cli
from tests.conftest import write_config
from tests.paths import REPO

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


# ---- config ------------------------------------------------------------------------------------


def test_packaged_example_config_equals_the_top_level_one() -> None:
    from dustsweep.services.config_info import example_config

    assert example_config() == (REPO / "config.example.toml").read_text("utf-8")


def test_config_init_writes_the_example_mode_600_and_never_overwrites(
    cli: Any, tmp_path: Path
) -> None:
    target = tmp_path / "new" / "config.toml"
    result = cli("config", "init", "--path", str(target))
    assert result.code == 0, result.err
    assert str(target) in result.out
    assert target.read_text() == (REPO / "config.example.toml").read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    target.write_text("quote = 'USDT'\n")
    again = cli("config", "init", "--path", str(target))
    assert again.code == 2 and "already exists" in again.err and len(again.err.splitlines()) == 1
    assert target.read_text() == "quote = 'USDT'\n"


def test_config_init_defaults_to_the_config_path_and_the_missing_message_points_at_it(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "cfg.toml"
    monkeypatch.setenv("DUSTSWEEP_CONFIG", str(target))
    missing = cli("scan")
    assert missing.code == 2 and "config init" in missing.err, missing.err
    assert cli("config", "init").code == 0
    assert target.exists()
    # The example itself is a valid config (its accounts read keys from the environment).
    shown = cli("config", "show")
    assert shown.code == 0, shown.err


def test_config_path_prints_config_state_history_and_log(
    cli: Any, tmp_path: Path, isolated_env: Path
) -> None:
    log = tmp_path / "logs" / "dustsweep.log"
    config = write_config(
        tmp_path, [{"name": "a", "exchange": "binance", "api_key_env": "K"}], log_file=str(log)
    )
    result = cli("--config", str(config), "config", "path")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        str(config),
        str(isolated_env),
        str(isolated_env / "history.sqlite3"),
        str(log),
    ]
    missing = cli("--config", str(tmp_path / "none.toml"), "config", "path")
    assert missing.code == 0 and missing.out.splitlines()[3] == "-"


def test_config_show_masks_secrets_and_names_each_source(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("T_KEY", "k-very-secret-key-123")
    monkeypatch.setenv("T_SECRET", "s-very-secret-value-456")
    accounts = [
        {"name": "env", "exchange": "binance", "api_key_env": "T_KEY",
         "api_secret_env": "T_SECRET"},
        {"name": "unset", "exchange": "bybit", "api_key_env": "NOT_SET_KEY",
         "api_secret_env": "NOT_SET_SECRET"},
        {"name": "inline", "exchange": "bybit", "api_key": "inline-key-abcdef",
         "api_secret": "inline-secret-ghijkl"},
    ]  # fmt: skip
    config = write_config(tmp_path, accounts, dust_threshold="5")
    result = cli("--config", str(config), "config", "show")
    assert result.code == 0, result.err
    out = result.out
    for secret in ("k-very-secret-key-123", "s-very-secret-value-456", "inline-key-abcdef",
                   "inline-secret-ghijkl"):  # fmt: skip
        assert secret not in out
    lines = {line.split("#")[0].strip(): line.split("#")[-1].strip() for line in out.splitlines()}
    assert lines['dust_threshold = "5"'] == "file"
    assert lines['quote = "USDT"'] == "default"
    assert lines['sell_quotes = ["USDT", "USDC", "FDUSD", "BTC", "BNB", "ETH"]'] == "default"
    assert lines['api_key = "********"'] in {"environment (T_KEY)", "file"}
    assert "environment (T_SECRET)" in out
    assert "environment (NOT_SET_KEY, not set)" in out
    assert f"config file: {config} (--config)" in out


# ---- doctor --json -----------------------------------------------------------------------------


@pytest.mark.usefixtures("keys")
def test_doctor_json_has_stable_check_ids_and_exit_0_with_warnings(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    sim = sim_factory(DEMO_SCENARIO)  # Binance's BNB fee setting is off there: a warning
    config = write_config(tmp_path, accounts_for(sim))
    result = cli("--config", str(config), "doctor", "--json")
    assert result.code == 0, result.out + result.err
    doc = json.loads(result.out)
    assert [(a["name"], a["exchange"]) for a in doc["accounts"]] == [
        ("main", "binance"),
        ("uta", "bybit"),
    ]
    for account in doc["accounts"]:
        checks = {c["check"]: c for c in account["checks"]}
        assert all(set(c) == {"check", "status", "detail"} for c in account["checks"])
        assert all(SNAKE.match(c) for c in checks), checks
        assert all(c["status"] in {"ok", "warn", "fail"} for c in checks.values())
        assert {"keys", "signature", "clock", "trade_permission", "bnb_fees"} <= set(checks)
    statuses = [c["status"] for a in doc["accounts"] for c in a["checks"]]
    assert "fail" not in statuses


@pytest.mark.usefixtures("keys")
def test_doctor_json_exit_3_when_a_check_fails(
    cli: Any, sim_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = sim_factory(DEMO_SCENARIO)
    monkeypatch.setenv("T_BYBIT_SECRET", "wrong-secret")
    config = write_config(tmp_path, accounts_for(sim))
    result = cli("--config", str(config), "doctor", "--json")
    assert result.code == 3
    doc = json.loads(result.out)
    uta = {c["check"]: c["status"] for c in doc["accounts"][1]["checks"]}
    assert uta["signature"] == "fail"
    main = {c["check"]: c["status"] for c in doc["accounts"][0]["checks"]}
    assert main["signature"] == "ok"


# ---- completion --------------------------------------------------------------------------------


def complete(args: str, cwd: Path, env: dict[str, str]) -> Any:
    environ = {**env, "_DUSTSWEEP_COMPLETE": "bash_complete", "COMP_WORDS": args,
               "COMP_CWORD": str(len(args.split()) - (0 if args.endswith(" ") else 1))}  # fmt: skip
    return run_cli(cwd=cwd, env=environ)


@pytest.mark.usefixtures("keys")
def test_completion_offers_accounts_from_the_config_and_assets_from_cached_rules(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    sim = sim_factory(DEMO_SCENARIO)
    config = write_config(tmp_path, accounts_for(sim))
    assert cli("--config", str(config), "scan").code == 0  # fills the rules cache
    env = {**os.environ, "DUSTSWEEP_CONFIG": str(config)}
    accounts = complete("dustsweep scan --account ", tmp_path, env)
    assert accounts.code == 0, accounts.err
    assert "plain,main" in accounts.out and "plain,uta" in accounts.out
    assert not accounts.modules & {"binance", "pybit"}
    assets = complete("dustsweep sell --asset AD", tmp_path, env)
    assert "plain,ADA" in assets.out and "plain,BTC" not in assets.out
    assert not assets.modules & {"binance", "pybit"}
    script = run_cli(cwd=tmp_path, env={**os.environ, "_DUSTSWEEP_COMPLETE": "bash_source"})
    assert "_dustsweep_completion" in script.out


# ---- global options and help -------------------------------------------------------------------


def test_bare_dustsweep_prints_help_with_exit_0(cli: Any) -> None:
    result = cli()
    assert result.code == 0 and "Usage:" in result.out and result.err == ""


def test_help_lists_commands_in_workflow_order_whole_and_wraps_at_80(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path, env={**os.environ, "COLUMNS": "80"})
    assert result.code == 0
    assert all(len(line) <= 80 for line in result.out.splitlines()), result.out
    section = result.out.split("Commands:")[1].split("Exit codes")[0]
    names = re.findall(r"^  (\w+)\s", section, flags=re.MULTILINE)
    order = ["scan", "sell", "convert", "sweep", "history", "doctor", "config", "demo"]
    assert names == order
    assert "..." not in section and "…" not in section
    footer = result.out.split("Exit codes")[1]
    assert all(str(code) in footer for code in (0, 1, 2, 3, 4, 5, 130))


@pytest.mark.parametrize("command", ["scan", "sell", "convert", "sweep", "history", "doctor"])
def test_account_help_says_it_can_be_repeated(cli: Any, command: str) -> None:
    result = cli(command, "--help")
    assert re.search(r"--account NAME\s+Only this account; repeat it", result.out), result.out


@pytest.mark.usefixtures("keys")
def test_verbose_logs_debug_and_quiet_and_no_color_work_on_every_command(
    cli: Any, sim_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = sim_factory(DEMO_SCENARIO)
    config = write_config(tmp_path, accounts_for(sim))
    plain = cli("--config", str(config), "scan", "--json")
    assert "[DEBUG]" not in plain.err
    verbose = cli("--config", str(config), "-v", "scan", "--json")
    assert verbose.code == 0 and "[DEBUG]" in verbose.err, verbose.err
    after = cli("--config", str(config), "scan", "--json", "--verbose")
    assert "[DEBUG]" in after.err
    for command in ("scan", "sell", "convert", "sweep", "history", "doctor", "config", "demo"):
        assert "-q, --quiet" in cli(command, "--help").out, command
        assert "--no-color" in cli(command, "--help").out, command
    monkeypatch.delenv("NO_COLOR")
    cli("--config", str(config), "history", "--no-color")
    assert os.environ.get("NO_COLOR") == "1"


def test_quiet_sweep_either_way_prints_nothing_when_idle(
    cli: Any, sim_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import copy

    scenario = copy.deepcopy(DEMO_SCENARIO)
    scenario["binance"]["accounts"][0]["balances"] = {"USDT": "25"}
    sim = sim_factory(scenario)
    monkeypatch.setenv("T_BINANCE_KEY", DEMO_KEYS["binance"][0])
    monkeypatch.setenv("T_BINANCE_SECRET", DEMO_KEYS["binance"][1])
    config = write_config(tmp_path, accounts_for(sim)[:1])
    loud = cli("--config", str(config), "sweep", "--yes")
    assert loud.code == 0 and loud.out
    for args in (("-q", "sweep", "--yes"), ("sweep", "--yes", "-q")):
        result = cli("--config", str(config), *args)
        assert (result.code, result.out, result.err) == (0, "", ""), args


# ---- demo and simulator ------------------------------------------------------------------------


def test_demo_shows_plan_then_sweep_values_and_history(cli: Any) -> None:
    result = cli("demo")
    assert result.code == 0, result.err
    out = result.out
    plan = out.index("$ dustsweep sweep   (without --yes")
    live = out.index("$ dustsweep sweep --yes")
    values = out.index("Value before:")
    history = out.index("$ dustsweep history")
    assert out.index("$ dustsweep scan") < plan < live < values < history
    assert "· after:" in out[values:history]
    assert "filled" in out[history:] and "conver" in out[history:]
    doc = json.loads(cli("demo", "--json").out)
    assert doc["plan"]["dry_run"] is True and doc["sweep"]["dry_run"] is False
    assert doc["history"] and {"before", "after"} <= set(doc["values"])


def test_python_m_dustsweep_sim_prints_the_demo_keys(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dustsweep.sim"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith('convert_to = "USDT"'):
                break
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    text = "".join(lines)
    for key, secret in DEMO_KEYS.values():
        assert key in text and secret in text
    config = text[text.index('quote = "USDT"') :]
    assert 'base_url = "http://127.0.0.1:' in config
