"""Issue 11, "Output people can trust": as cron runs it (no terminal, no COLUMNS) every amount is
printed whole, the plan names the follow-up sales, one failing account is one line on stderr,
and every run ends with its totals."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dustsweep.sim.demo import DEMO_SCENARIO
from tests.cli.test_scan import accounts_for, keys  # noqa: F401 - fixture
from tests.conftest import write_config

pytestmark = pytest.mark.usefixtures("keys")


@pytest.fixture(autouse=True)
def as_cron(monkeypatch: pytest.MonkeyPatch) -> None:
    """No COLUMNS (conftest sets one for the other tests): rich would assume 80 columns."""
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture
def sim(sim_factory: Any) -> Any:
    return sim_factory(DEMO_SCENARIO)


@pytest.fixture
def config(sim: Any, tmp_path: Path) -> Path:
    accounts = accounts_for(sim, binance={"convert_to": "BNB"}, bybit={"convert_to": "USDT"})
    return write_config(tmp_path, accounts, keep=["BNB"])


def tokens(text: str) -> set[str]:
    """Every number-like word printed (a leading "~" of an estimate dropped)."""
    return {t.lstrip("~") for t in re.findall(r"~?[0-9][0-9.,]*", text)}


def assert_whole(out: str, amounts: list[str]) -> None:
    assert "…" not in out  # rich's ellipsis: nothing was cut
    printed = tokens(out)
    missing = [a for a in amounts if a not in printed]
    assert not missing, missing


def test_scan_prints_every_amount_whole_without_a_terminal(cli: Any, config: Path) -> None:
    doc = json.loads(cli("--config", str(config), "scan", "--json").out)
    result = cli("--config", str(config), "scan", "--all")
    assert result.code == 0, result.err
    amounts = [
        a[k]
        for account in doc["accounts"]
        for a in account["assets"]
        for k in ("free", "sell_qty", "residual")
        if a[k] not in (None, "0")
    ]
    assert len(amounts) > 20
    assert_whole(result.out, amounts)
    # Reasons wrap at word boundaries, several words a line: never one word per line.
    reason_lines = [line for line in result.out.splitlines() if "stays (below" in line]
    assert reason_lines
    # ...and the run ends with all accounts added up.
    last = [line for line in result.out.splitlines() if line.strip()][-1]
    total = sum(Decimal(a["totals"]["total"]) for a in doc["accounts"])
    assert last.startswith("All accounts, USDT: total ") and f"{total:,.2f}" in last
    assert doc["totals"]["total"] == format(total.normalize(), "f")


def test_sell_plan_names_the_follow_ups_and_sweep_prints_every_amount_whole(
    cli: Any, config: Path
) -> None:
    plan = json.loads(cli("--config", str(config), "sell", "--dry-run", "--json").out)
    followups = [
        (a["name"], o["asset"], o["market"])
        for a in plan["accounts"]
        for o in a["orders"]
        if o["followup"]
    ]
    assert ("main", "ETH", "ETHUSDT") in followups  # XRPETH and LTCETH pay ETH: sold on
    table = cli("--config", str(config), "sell").out
    assert "then the ETH received -> USDT on ETHUSDT" in table
    assert "ETH (follow-up)" in table

    doc = json.loads(cli("--config", str(config), "sweep", "--yes", "--json").out)
    placed = [
        (a["name"], o["asset"], o["market"])
        for a in doc["accounts"]
        for o in a["orders"]
        if o["followup"] and o["status"] == "filled"
    ]
    assert sorted(placed) == sorted(followups)  # the plan named every follow-up placed
    history = cli("--config", str(config), "history").out
    records = json.loads(cli("--config", str(config), "history", "--json").out)
    amounts = [r["qty"] for r in records] + [r["fee"] for r in records if r["fee"]]
    assert_whole(history, amounts)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]) for r in records)
    for r in records:  # the times are whole too
        assert r["time"] in history
        assert not r["qty"].endswith("0") or "." not in r["qty"]  # plain: no trailing zeros


def test_sweep_table_and_history_agree_on_net_received(cli: Any, config: Path) -> None:
    result = cli("--config", str(config), "sweep", "--yes")
    assert result.code == 0, result.err
    assert "Received (net)" in result.out
    history = cli("--config", str(config), "history")
    assert "Received (net)" in history.out
    records = json.loads(cli("--config", str(config), "history", "--json").out)
    conversions = [r for r in records if r["kind"] == "conversion"]
    assert conversions
    for r in conversions:
        net = Decimal(r["received_qty"]) - Decimal(r["fee"] or 0)  # the history keeps gross
        text = f"{format(net.normalize(), 'f')} {r['received_asset']}"
        assert text in result.out and text in history.out
    # One summary at the end, with the next conversion's time (Binance's cool-down).
    summary = [line for line in result.out.splitlines() if line.startswith("Summary: received")]
    assert len(summary) == 1
    assert "Next conversion possible from 20" in result.out


def test_sweep_json_carries_totals_per_account_and_overall(cli: Any, config: Path) -> None:
    doc = json.loads(cli("--config", str(config), "sweep", "--yes", "--json").out)
    for account in doc["accounts"]:
        totals = account["totals"]
        assert Decimal(totals["net_received_value"]) > 0
        assert totals["next_conversion"] is None or totals["next_conversion"].endswith("Z")
    main = doc["accounts"][0]["totals"]
    assert main["next_conversion"] is not None  # Binance: one small-balance conversion per 6 h
    assert "ETH" not in main["net_received"]  # the ETH received was sold on and converted
    overall = doc["totals"]
    values = sum(Decimal(a["totals"]["net_received_value"]) for a in doc["accounts"])
    assert Decimal(overall["net_received_value"]) == values
    left = sum(sum(a["totals"]["left"].values()) for a in doc["accounts"])
    assert sum(overall["left"].values()) == left == sum(len(a["left"]) for a in doc["accounts"])


@pytest.mark.parametrize(
    "args",
    [("sweep",), ("sweep", "--yes", "--quiet"), ("sweep", "--json"), ("scan",), ("sell",)],
)
def test_a_failing_account_is_one_line_on_stderr(
    cli: Any, sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    monkeypatch.setenv("T_BINANCE_SECRET", "not-the-secret")
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    result = cli("--config", str(config), *args)
    assert result.code == 4
    lines = [line for line in result.err.splitlines() if "main" in line]
    assert len(lines) == 1 and lines[0].startswith("dustsweep: main: "), result.err
    assert "signature" in lines[0].lower() or "secret" in lines[0].lower()
    assert lines[0] not in result.out  # the table points to stderr, it does not repeat it


def test_no_progress_without_a_terminal(cli: Any, config: Path) -> None:
    result = cli("--config", str(config), "sweep", "--yes")
    assert result.code == 0
    assert result.err == ""  # no progress, no status line: cron mail holds only the summary


def test_without_a_terminal_each_left_asset_and_each_total_is_one_line(
    cli: Any, config: Path
) -> None:
    """Cron mail is read with grep: a reason or a total is never broken over lines."""
    doc = json.loads(cli("--config", str(config), "convert", "--json").out)
    result = cli("--config", str(config), "convert")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    skipped = [(s["asset"], s["reason"]) for a in doc["accounts"] for s in a["left"]]
    assert len(skipped) >= 3
    for asset, reason in skipped:
        assert f"  left {asset}: {reason}" in lines, (asset, reason)
    assert sum(
        1 for line in lines if re.match(r"  \d+ conversion\(s\): receive .* fees .*\)$", line)
    )
    plan = cli("--config", str(config), "sell").out.splitlines()
    assert [line for line in plan if "follow-up sale(s), expected" in line and "fees" in line]
