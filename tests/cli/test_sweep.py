"""`dustsweep sweep` end to end: sell, then convert, for every account, in one summary.

Runs the real CLI against both simulators with a two-account config (one Binance account
converting into BNB, one Bybit account converting into USDT) and checks what happened on the
exchanges (orders, conversions, balances), the summary, the history and the exit code.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dustsweep.sim.demo import DEMO_SCENARIO
from tests.cli.test_convert import (
    balances,
    calls,
    conversion_posts,
    dribblet_lines,
    free,
    history,
    run_json,
    scenario,
    sim_account,
)
from tests.cli.test_scan import BINANCE_KEY, BINANCE_SECRET, BYBIT_KEY, BYBIT_SECRET, accounts_for
from tests.cli.test_scan import keys as keys  # the fixture
from tests.conftest import write_config

pytestmark = pytest.mark.usefixtures("keys")

D = Decimal
ORDER_PATH = {"binance": "/api/v3/order", "bybit": "/v5/order/create"}
CONVERT_PATH = {"binance": "/sapi/v1/asset/dust", "bybit": "/v5/asset/covert/small-balance-execute"}
NAMES = {"main": "binance", "uta": "bybit"}
QUOTE_OR_TARGET = {"binance": {"USDT", "BNB"}, "bybit": {"USDT"}}

SUMMARY_KEYS = {"dry_run", "accounts", "totals"}
# issue 11 (render.totals): the summary's figures, per account and overall
ADDED_TOTALS = {"net_received", "net_received_value", "fees", "fee_value", "unpriced", "left",
                "next_conversion"}  # fmt: skip
ACCOUNT_KEYS = {"name", "exchange", "convert_to", "orders", "conversions", "left", "settled",
                "cooldown_until", "cooldown", "note", "error", "totals"}  # fmt: skip
TOTAL_KEYS = {"planned_orders", "planned_conversions", "filled_orders", "converted", "failed",
              "proceeds", "fees", "received"} | ADDED_TOTALS  # fmt: skip


def sweep_accounts(sim: Any, **overrides: Any) -> list[dict[str, Any]]:
    binance = {"convert_to": "BNB", **overrides.get("binance", {})}
    bybit = {"convert_to": "USDT", **overrides.get("bybit", {})}
    return accounts_for(sim, binance=binance, bybit=bybit)


def sweep_config(sim: Any, folder: Path, **top: Any) -> Path:
    top.setdefault("keep", ["BNB"])
    return write_config(folder, sweep_accounts(sim), **top)


def order_posts(sim: Any, exchange: str) -> int:
    return calls(sim, exchange, ORDER_PATH[exchange])


def trades(sim: Any) -> int:
    """Every request that sells or converts, on both exchanges."""
    return sum(order_posts(sim, e) + conversion_posts(sim, e) for e in ("binance", "bybit"))


def sim_orders(sim: Any, exchange: str) -> list[Any]:
    return list(sim_account(sim, exchange).orders)


def client_id(order: Any) -> str:
    return str(getattr(order, "client_order_id", None) or order.link_id)


def values(cli: Any, config: Path) -> dict[tuple[str, str], tuple[Decimal, Decimal | None]]:
    """(account, asset) -> (free + locked, value in USDT or None), from `scan --all --json`."""
    code, doc, err = run_json(cli, config, "scan", "--all")
    assert code == 0, err
    return {
        (a["name"], row["asset"]): (
            D(row["free"]) + D(row["locked"]),
            None if row["value"] is None else D(row["value"]),
        )
        for a in doc["accounts"]
        for row in a["assets"]
    }


def moved(sim: Any, before: dict[str, dict[str, Decimal]]) -> dict[tuple[str, str], Decimal]:
    """(account, asset) -> how much of it left the account during the run."""
    out: dict[tuple[str, str], Decimal] = {}
    for name, exchange in NAMES.items():
        after = balances(sim, exchange)
        for asset, amount in before[exchange].items():
            if after.get(asset, D(0)) < amount:
                out[(name, asset)] = amount - after.get(asset, D(0))
    return out


def snapshot(sim: Any) -> dict[str, dict[str, Decimal]]:
    return {exchange: balances(sim, exchange) for exchange in ("binance", "bybit")}


@pytest.fixture
def sim(sim_factory: Any) -> Any:
    return sim_factory(DEMO_SCENARIO)


# ---- a normal run ------------------------------------------------------------------------------


def test_sweep_sells_then_converts_and_never_sells_the_convert_to_asset(
    cli: Any, sim: Any, tmp_path: Path
) -> None:
    config = sweep_config(sim, tmp_path, keep=[])  # BNB is NOT kept: only convert_to guards it
    code, plan, err = run_json(cli, config, "sell", "--dry-run", "--account", "main")
    assert code == 0, err
    assert "BNB" in {o["asset"] for o in plan["accounts"][0]["orders"] if o["status"] == "planned"}
    bnb = free(sim, "binance", "BNB")

    code, doc, err = run_json(cli, config, "sweep", "--yes")
    assert code == 0, err
    assert set(doc) == SUMMARY_KEYS and doc["dry_run"] is False
    assert set(doc["totals"]) == TOTAL_KEYS
    assert [a["name"] for a in doc["accounts"]] == ["main", "uta"]
    for account in doc["accounts"]:
        assert set(account) == ACCOUNT_KEYS
        assert set(account["totals"]) == ADDED_TOTALS
        assert account["error"] is None and account["cooldown"] is None
        exchange = account["exchange"]
        orders = [o for o in account["orders"] if o["status"] == "filled"]
        conversions = [c for c in account["conversions"] if c["status"] == "converted"]
        assert orders and conversions, account
        # Orders on the exchange are exactly the filled ones of the summary.
        on_exchange = {client_id(o) for o in sim_orders(sim, exchange)}
        assert on_exchange == {o["client_order_id"] for o in orders}
        # Sells first, then the conversion (which then converts what the sales left).
        requests = sim.servers[exchange].requests
        last_order = max(i for i, r in enumerate(requests) if r == ("POST", ORDER_PATH[exchange]))
        first_convert = requests.index(("POST", CONVERT_PATH[exchange]))
        assert last_order < first_convert
        assert {c["target"] for c in conversions} == {account["convert_to"]}
        for row in conversions:
            assert free(sim, exchange, row["asset"]) == 0
    # The Binance account's own convert_to (BNB) is never sold, though `sell` would sell it.
    binance = doc["accounts"][0]
    bnb_rows = [o for o in binance["orders"] if o["asset"] == "BNB"]
    assert all(o["status"] == "skipped" and o["error"] for o in bnb_rows), bnb_rows
    assert "BNB" not in {client_id(o).rsplit("-", 1)[-1] for o in sim_orders(sim, "binance")}
    assert free(sim, "binance", "BNB") > bnb  # it received the conversion
    # ADA sold on ADAUSDT, and the residual below the step was then converted.
    rows = {c["asset"]: c for c in binance["conversions"]}
    sold = {o["asset"]: o for o in binance["orders"]}
    assert rows["ADA"]["status"] == "converted"
    assert D(rows["ADA"]["amount"]) == D(sold["ADA"]["residual"])
    totals = doc["totals"]
    assert totals["filled_orders"] == sum(
        1 for a in doc["accounts"] for o in a["orders"] if o["status"] == "filled"
    )
    assert totals["converted"] == sum(
        1 for a in doc["accounts"] for c in a["conversions"] if c["status"] == "converted"
    )
    assert totals["failed"] == 0
    logged = dribblet_lines(sim)
    assert D(totals["received"]["BNB"]) == sum((D(x["transferedAmount"]) for x in logged), D(0))
    records = history(cli, config)
    assert {r["kind"] for r in records} == {"order", "conversion"}
    assert all(r["status"] in {"filled", "converted"} for r in records)
    assert len({r["run_id"] for r in records}) == 1  # one run in the history


def test_sweep_text_output_is_one_summary_of_both_halves(
    cli: Any, sim: Any, tmp_path: Path
) -> None:
    config = sweep_config(sim, tmp_path)
    result = cli("--config", str(config), "sweep", "--yes")
    assert result.code == 0, result.err
    out = result.out
    for name, exchange in (("main", "binance"), ("uta", "bybit")):
        assert f"{name} ({exchange}): results" in out
        assert f"{name} ({exchange}): conversions" in out
    assert out.index("main (binance): results") < out.index("main (binance): conversions")
    assert "left as it is" in out


def test_sweep_converts_what_the_exchange_would_convert(cli: Any, sim: Any, tmp_path: Path) -> None:
    """After a sweep (no caps configured), the exchange's own preview lists nothing that was
    neither kept nor the quote: everything it would convert was converted."""
    config = sweep_config(sim, tmp_path)
    code, doc, err = run_json(cli, config, "sweep", "--yes")
    assert code == 0, err
    account = sim_account(sim, "binance")
    # the cool-down is not what this asks about: look at the preview, not a new conversion
    still = {d["asset"] for d in sim.dialect("binance").dust.dust_btc(account)["details"]}
    left = {x["asset"]: x["reason"] for x in doc["accounts"][0]["left"]}
    assert still <= {"USDT", "BNB"}, {a: left.get(a) for a in still - {"USDT", "BNB"}}


# ---- dry runs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["no_terminal", "terminal_without_yes", "yes_with_dry_run"])
def test_sweep_dry_run_trades_nothing(
    cli: Any, sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    config = sweep_config(sim, tmp_path)
    before = snapshot(sim)
    args = ["sweep"]
    if how == "terminal_without_yes":
        monkeypatch.setattr("dustsweep.cli.options.stdin_is_terminal", lambda: True)
        monkeypatch.setattr("sys.stdin", io.StringIO("y\ny\n"))  # it must not even ask
    if how == "yes_with_dry_run":
        args += ["--yes", "--dry-run"]
    text = cli("--config", str(config), *args)
    assert text.code == 0, text.err
    assert "[y/N]" not in text.out + text.err  # never asks
    assert "Dry run" in text.out
    code, doc, err = run_json(cli, config, *args)
    assert code == 0, err
    assert doc["dry_run"] is True
    for account in doc["accounts"]:
        assert account["orders"] and all(
            o["status"] in {"planned", "skipped"} for o in account["orders"]
        )
        assert account["conversions"]
        assert all(c["status"] == "planned" for c in account["conversions"])
    assert doc["totals"]["planned_orders"] > 0 and doc["totals"]["planned_conversions"] > 0
    assert trades(sim) == 0
    assert snapshot(sim) == before
    assert history(cli, config) == []


def test_sweep_dry_run_plan_never_uses_more_than_the_balance(
    cli: Any, sim: Any, tmp_path: Path
) -> None:
    """The plan of the converting half counts what the selling half will sell first: an
    asset is never both sold and converted in full (the live run converts only the rest)."""
    config = sweep_config(sim, tmp_path)
    code, doc, err = run_json(cli, config, "sweep")
    assert code == 0, err
    for account in doc["accounts"]:
        exchange = account["exchange"]
        used: dict[str, Decimal] = {}
        for o in account["orders"]:
            if o["status"] == "planned" and not o["followup"]:
                used[o["asset"]] = used.get(o["asset"], D(0)) + D(o["qty"])
        for c in account["conversions"]:
            used[c["asset"]] = used.get(c["asset"], D(0)) + D(c["amount"])
        over = {
            a: (q, free(sim, exchange, a)) for a, q in used.items() if q > free(sim, exchange, a)
        }
        assert not over, (account["name"], over)


# ---- cool-down ---------------------------------------------------------------------------------


def test_sweep_in_cooldown_still_sells_and_is_exit_5_only_when_nothing_was_possible(
    cli: Any, sim: Any, tmp_path: Path
) -> None:
    config = sweep_config(sim, tmp_path)
    code, _, err = run_json(cli, config, "convert", "--to", "BNB", "--account", "main", "--yes")
    assert code == 0, err
    converted_at = sim_account(sim, "binance").last_dust_ms
    dust_posts = conversion_posts(sim, "binance")

    code, doc, err = run_json(cli, config, "sweep", "--yes")
    assert code == 0, err  # something was done
    binance, bybit = doc["accounts"]
    assert binance["cooldown_until"] and binance["cooldown"]
    from dustsweep.render.common import iso_ms

    assert binance["cooldown_until"] == iso_ms(converted_at + 6 * 3_600_000)
    assert [o for o in binance["orders"] if o["status"] == "filled"]
    assert free(sim, "binance", "ADA") < D("0.1")  # sold despite the cool-down
    assert conversion_posts(sim, "binance") == dust_posts
    assert bybit["cooldown"] is None and bybit["conversions"]

    # Nothing to sell, dust waiting for the conversion: nothing at all is possible now.
    sim_account(sim, "binance").wallet.set("DOGE", "20.7")
    orders = order_posts(sim, "binance")
    code, doc, err = run_json(cli, config, "sweep", "--yes", "--account", "main")
    assert code == 5, err
    assert doc["accounts"][0]["cooldown_until"]
    assert order_posts(sim, "binance") == orders
    assert conversion_posts(sim, "binance") == dust_posts
    assert free(sim, "binance", "DOGE") == D("20.7")


# ---- guards ------------------------------------------------------------------------------------


def test_only_limits_both_halves(cli: Any, sim: Any, tmp_path: Path) -> None:
    config = sweep_config(sim, tmp_path, only=["DOGE", "ADA"])
    before = snapshot(sim)
    code, _, err = run_json(cli, config, "sweep", "--yes")
    assert code == 0, err
    gone = moved(sim, before)
    assert {asset for _, asset in gone} == {"DOGE", "ADA"}, gone
    for name in NAMES:
        assert (name, "DOGE") in gone and (name, "ADA") in gone


def test_keep_is_never_sold_or_converted(cli: Any, sim: Any, tmp_path: Path) -> None:
    config = sweep_config(sim, tmp_path, keep=["BNB", "DOGE", "XRP"])
    account = sim_account(sim, "binance")
    listed = {d["asset"] for d in sim.dialect("binance").dust.dust_btc(account)["details"]}
    assert {"DOGE", "XRP"} <= listed
    before = snapshot(sim)
    code, _, err = run_json(cli, config, "sweep", "--yes")
    assert code == 0, err
    gone = moved(sim, before)
    assert gone  # the rest was swept
    assert not {asset for _, asset in gone} & {"BNB", "DOGE", "XRP"}, gone


@pytest.mark.parametrize(
    ("guard", "cap"), [("max_value_per_asset", D("3")), ("max_value_per_run", D("5"))]
)
def test_value_caps_bound_what_the_run_moves(
    cli: Any, sim: Any, tmp_path: Path, guard: str, cap: Decimal
) -> None:
    config = sweep_config(sim, tmp_path, **{guard: format(cap, "f")})
    worth = values(cli, config)
    before = snapshot(sim)
    code, _, err = run_json(cli, config, "sweep", "--yes")
    assert code == 0, err
    gone = moved(sim, before)
    assert gone, "the cap left room for something"
    moved_values: dict[tuple[str, str], Decimal] = {}
    for key, amount in gone.items():
        held, value = worth[key]
        assert value is not None, f"{key} has no price: its value cannot be capped"
        moved_values[key] = value * amount / held
    if guard == "max_value_per_asset":
        over = {k: v for k, v in moved_values.items() if v > cap}
        assert not over, over
        # The cap bounds the value one run moves of an asset (sold and converted together):
        # a balance worth more than the cap is never moved whole.
        larger = [
            k
            for k, (_, v) in worth.items()
            if v is not None and v > cap and k[1] not in QUOTE_OR_TARGET[NAMES[k[0]]]
        ]
        assert larger
        assert all(gone.get(k, Decimal(0)) < worth[k][0] for k in larger), gone
    else:
        assert sum(moved_values.values()) <= cap, moved_values


# ---- failures ----------------------------------------------------------------------------------


def test_one_account_failing_does_not_stop_the_other(
    cli: Any, sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("T_BYBIT_SECRET", "not-the-right-secret")
    config = sweep_config(sim, tmp_path)
    before = snapshot(sim)
    code, doc, err = run_json(cli, config, "sweep", "--yes")
    assert code == 4, err
    binance, bybit = doc["accounts"]
    assert binance["error"] is None and bybit["error"]
    assert "uta" in err
    assert sim_orders(sim, "binance") and dribblet_lines(sim)
    assert [o for o in binance["orders"] if o["status"] == "filled"]
    assert balances(sim, "bybit") == before["bybit"]
    assert trades(sim) == order_posts(sim, "binance") + conversion_posts(sim, "binance")


def test_every_account_failing_keeps_the_errors_own_code(
    cli: Any, sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("T_BINANCE_SECRET", "not-the-right-secret")
    monkeypatch.setenv("T_BYBIT_SECRET", "not-the-right-secret")
    config = sweep_config(sim, tmp_path)
    code, doc, err = run_json(cli, config, "sweep", "--yes")
    assert code == 3, err  # an authentication error
    assert all(a["error"] for a in doc["accounts"])
    assert "main" in err and "uta" in err
    assert trades(sim) == 0


# ---- quiet and log file ------------------------------------------------------------------------


def test_quiet_prints_the_summary_only_when_something_happened(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    sim = sim_factory(scenario(
        binance={"USDT": "5", "ADA": "12.3", "DOGE": "20.7"},
        bybit={"USDT": "5", "ADA": "5.55", "DOGE": "3.37"},
    ))  # fmt: skip
    config = sweep_config(sim, tmp_path)
    first = cli("--config", str(config), "sweep", "--yes", "--quiet")
    assert first.code == 0, first.err
    assert "main (binance): results" in first.out and "uta (bybit): conversions" in first.out
    for exchange in NAMES.values():
        assert free(sim, exchange, "ADA") == 0 and free(sim, exchange, "DOGE") == 0
    posts = trades(sim)
    second = cli("--config", str(config), "sweep", "--yes", "--quiet")
    assert (second.out, second.err) == ("", "")
    assert trades(sim) == posts
    assert second.code == 0, "nothing to do is exit 0"


def test_log_file_records_actions_and_never_a_key_or_secret(
    cli: Any, sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong_key = "wrong-bybit-key-5f1c2e"
    monkeypatch.setenv("T_BYBIT_KEY", wrong_key)  # its failure is logged too
    log = tmp_path / "logs" / "dustsweep.log"
    config = sweep_config(sim, tmp_path, log_file=str(log))
    code, doc, err = run_json(cli, config, "sweep", "--yes")
    assert code == 4, err
    text = log.read_text()
    sells = {
        (m["asset"], D(m["qty"]), m["market"], m["status"])
        for m in re.finditer(
            r"main: sell (?P<qty>\S+) (?P<asset>\S+) on (?P<market>\S+): "
            r"(?P<status>\w+)",
            text,
        )
    }
    converts = {
        (m["asset"], D(m["qty"]), m["status"])
        for m in re.finditer(
            r"main: convert (?P<qty>\S+) (?P<asset>\S+) to BNB: "
            r"(?P<status>\w+)",
            text,
        )
    }
    orders = [o for o in doc["accounts"][0]["orders"] if o["status"] == "filled"]
    assert orders and sells == {(o["asset"], D(o["qty"]), o["market"], "filled") for o in orders}
    rows = doc["accounts"][0]["conversions"]
    assert rows and converts == {(r["asset"], D(r["amount"]), "converted") for r in rows}
    assert "uta:" in text  # the failing account's error
    for secret in (BINANCE_KEY, BINANCE_SECRET, wrong_key, BYBIT_SECRET, BYBIT_KEY):
        assert secret not in text
