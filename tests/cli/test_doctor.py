"""`dustsweep doctor`: one line per check, exit 0 when all pass and 3 otherwise."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from dustsweep.sim.demo import DEMO_SCENARIO
from tests.cli.test_scan import accounts_for, keys  # noqa: F401 - fixture
from tests.conftest import write_config

pytestmark = pytest.mark.usefixtures("keys")


def scenario(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(DEMO_SCENARIO)
    for exchange, account_changes in changes.items():
        data[exchange]["accounts"][0].update(account_changes)
    return data


def test_all_checks_pass_on_good_keys(cli: Any, sim_factory: Any, tmp_path: Path) -> None:
    sim = sim_factory(DEMO_SCENARIO)
    result = cli("--config", str(write_config(tmp_path, accounts_for(sim))), "doctor")
    assert result.code == 0, result.out
    lines = result.out.strip().splitlines()
    assert all(line.startswith(("ok", "warn")) for line in lines)
    assert any("main (binance) clock" in line for line in lines)
    assert any("uta (bybit) spot trading" in line for line in lines)


def test_withdrawal_permission_is_a_warning_and_read_only_key_fails(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    sim = sim_factory(
        scenario(
            binance={
                "permissions": {
                    "enableReading": True,
                    "enableSpotAndMarginTrading": True,
                    "enableWithdrawals": True,
                }
            },
            bybit={"permissions": {"readOnly": 1}},
        )
    )
    result = cli("--config", str(write_config(tmp_path, accounts_for(sim))), "doctor")
    assert result.code == 3
    assert any(
        line.startswith("warn") and "main (binance)" in line and "withdrawals" in line
        for line in result.out.splitlines()
    )
    assert any(
        line.startswith("FAIL") and "uta (bybit) spot trading" in line
        for line in result.out.splitlines()
    )


def test_rejected_key_fails_without_printing_secrets(
    cli: Any, sim_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = sim_factory(DEMO_SCENARIO)
    monkeypatch.setenv("T_BINANCE_SECRET", "wrong-secret-value-1")
    result = cli(
        "--config", str(write_config(tmp_path, accounts_for(sim))), "doctor", "--account", "main"
    )
    assert result.code == 3
    assert "FAIL" in result.out and "wrong-secret-value-1" not in result.out + result.err


def test_a_missing_key_is_a_failed_check_and_the_other_account_is_still_checked(
    cli: Any, sim_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = sim_factory(DEMO_SCENARIO)
    monkeypatch.delenv("T_BYBIT_SECRET")
    result = cli("--config", str(write_config(tmp_path, accounts_for(sim))), "doctor")
    assert result.code == 3
    lines = result.out.splitlines()
    assert any(
        line.startswith("FAIL uta (bybit) keys present") and "T_BYBIT_SECRET" in line
        for line in lines
    )
    assert any(line.startswith("ok   main (binance) keys accepted") for line in lines)
