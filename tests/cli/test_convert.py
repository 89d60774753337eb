"""`dustsweep convert` end to end: the real CLI, adapters and SDKs against the simulator.

Every test checks the exchange's side (balances, the dust log, Bybit's conversion records and
how many times the money-moving endpoints were called) besides the output, the exit code and
the local history.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dustsweep.sim.demo import DEMO_SCENARIO
from tests.cli.test_scan import accounts_for, keys  # noqa: F401 - fixture
from tests.conftest import write_config
from tests.paths import SIM_DATA

pytestmark = pytest.mark.usefixtures("keys")

D = Decimal
HOUR_MS = 3_600_000
DATA = SIM_DATA

# Every endpoint that moves money in a small-balance conversion, per exchange.
CONVERT_POSTS = {
    "binance": ("/sapi/v1/asset/dust", "/sapi/v1/asset/dust-convert/convert",
                "/sapi/v1/convert/acceptQuote"),
    "bybit": ("/v5/asset/covert/small-balance-execute", "/v5/asset/exchange/convert-execute"),
}  # fmt: skip
SB_EXECUTE = "/v5/asset/covert/small-balance-execute"
# The `convert --json` contract (README "dustsweep convert").
ROW_KEYS = {"asset", "route", "amount", "status", "target", "received", "fee", "fee_asset",
            "fee_rate", "value", "received_value", "fee_value", "runner_up", "runner_up_net",
            "client_id", "transfer_id", "error"}  # fmt: skip
ACCOUNT_KEYS = {"name", "exchange", "target", "conversions", "left", "settled",
                "cooldown_until", "cooldown", "note", "error", "totals"}  # fmt: skip
ACCOUNT = {"binance": "main", "bybit": "uta"}  # config account names (accounts_for)


# ---- helpers shared with the sweep tests -------------------------------------------------------


def scenario(
    *,
    binance: dict[str, Any] | None = None,
    bybit: dict[str, Any] | None = None,
    binance_conversion: dict[str, Any] | None = None,
    bybit_conversion: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The demo scenario, with the demo accounts' balances replaced when given."""
    section = copy.deepcopy(DEMO_SCENARIO)
    if binance is not None:
        section["binance"]["accounts"][0]["balances"] = binance
    if bybit is not None:
        section["bybit"]["accounts"][0]["balances"] = bybit
    if binance_conversion is not None:
        section["binance"]["conversion"] = binance_conversion
    if bybit_conversion is not None:
        section["bybit"]["conversion"] = bybit_conversion
    return section


def sim_account(sim: Any, exchange: str) -> Any:
    return sim.dialect(exchange).account("demo")


def free(sim: Any, exchange: str, asset: str) -> Decimal:
    account = sim_account(sim, exchange)
    if exchange == "bybit":
        return D(account.available(asset))
    return D(account.wallet.get(asset)[0])


def balances(sim: Any, exchange: str) -> dict[str, Decimal]:
    account = sim_account(sim, exchange)
    return {asset: free(sim, exchange, asset) for asset in account.wallet.assets()}


def calls(sim: Any, exchange: str, path: str, method: str = "POST") -> int:
    """Every request that reached the server for this endpoint (faulted ones included)."""
    return int(sim.servers[exchange].faults.count(method, path))


def conversion_posts(sim: Any, exchange: str) -> int:
    return sum(calls(sim, exchange, path) for path in CONVERT_POSTS[exchange])


def run_json(cli: Any, config: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = cli("--config", str(config), *args, "--json")
    assert result.out.strip(), result.err
    return result.code, json.loads(result.out), result.err


def history(cli: Any, config: Path) -> list[dict[str, Any]]:
    result = cli("--config", str(config), "history", "--json")
    assert result.code == 0, result.err
    return list(json.loads(result.out))


def history_csv(cli: Any, config: Path) -> list[dict[str, str]]:
    result = cli("--config", str(config), "history", "--csv")
    assert result.code == 0, result.err
    return list(csv.DictReader(io.StringIO(result.out)))


def dribblet_lines(sim: Any) -> list[dict[str, Any]]:
    """Every asset line of the Binance dust log, oldest batch first."""
    return [
        line for batch in sim_account(sim, "binance").dribblets
        for line in batch["userAssetDribbletDetails"]
    ]  # fmt: skip


def bybit_records(sim: Any) -> list[Any]:
    return list(sim_account(sim, "bybit").conversions)


def rows_of(doc: dict[str, Any], index: int = 0) -> dict[str, dict[str, Any]]:
    return {row["asset"]: row for row in doc["accounts"][index]["conversions"]}


def bybit_bids() -> dict[str, Decimal]:
    body = json.loads((DATA / "bybit-tickers.json").read_text())
    return {t["symbol"]: D(t["bid1Price"]) for t in body["result"]["list"] if t.get("bid1Price")}


# ---- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def sim(sim_factory: Any) -> Any:
    return sim_factory(DEMO_SCENARIO)


@pytest.fixture
def config(sim: Any, tmp_path: Path) -> Path:
    return write_config(tmp_path, accounts_for(sim), keep=["BNB"])


# ---- Binance -----------------------------------------------------------------------------------


def test_binance_to_bnb_converts_only_listed_assets_never_quote_target_or_keep(
    cli: Any, sim: Any, tmp_path: Path
) -> None:
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB", "XRP"])
    account = sim_account(sim, "binance")
    preview = {d["asset"] for d in sim.dialect("binance").dust.dust_btc(account)["details"]}
    # Binance's own preview lists the quote asset and a kept asset: the plan must drop them.
    assert {"USDT", "XRP"} <= preview

    text = cli("--config", str(config), "convert", "--to", "BNB", "--account", "main")
    assert text.code == 0, text.err
    assert "(2%)" in text.out and "left USDT" in text.out and "Dry run" in text.out

    code, plan, _ = run_json(
        cli, config, "convert", "--to", "bnb", "--account", "main", "--dry-run"
    )
    assert code == 0 and plan["dry_run"] is True
    assert set(plan) == {"dry_run", "accounts", "totals"}
    assert set(plan["totals"]) == {"conversions", "received", "fees"} | {
        "net_received",
        "net_received_value",
        "fee_value",
        "unpriced",
        "left",
        "next_conversion",
    }
    assert set(plan["accounts"][0]) == ACCOUNT_KEYS
    planned = rows_of(plan)
    assert all(set(row) == ROW_KEYS for row in planned.values())
    assert planned and set(planned) <= preview
    assert not set(planned) & {"USDT", "XRP", "BNB"}
    assert all(r["status"] == "planned" and r["fee_rate"] == "0.02" for r in planned.values())
    left = {x["asset"]: x["reason"] for x in plan["accounts"][0]["left"]}
    assert "quote" in left["USDT"] and "keep" in left["XRP"]
    assert conversion_posts(sim, "binance") == 0

    before = balances(sim, "binance")
    code, doc, err = run_json(cli, config, "convert", "--to", "BNB", "--account", "main", "--yes")
    assert code == 0, err
    assert doc["dry_run"] is False
    # One dust request, carrying exactly the planned assets.
    assert calls(sim, "binance", "/sapi/v1/asset/dust") == 1
    logged = {line["fromAsset"]: line for line in dribblet_lines(sim)}
    assert set(logged) == set(planned)
    after = balances(sim, "binance")
    for asset in planned:
        assert after[asset] == 0
    for asset in ("USDT", "XRP"):
        assert after[asset] == before[asset]
    net = sum((D(line["transferedAmount"]) for line in logged.values()), D(0))
    assert after["BNB"] == before["BNB"] + net
    done = rows_of(doc)
    for asset, row in done.items():
        line = logged[asset]
        assert set(row) == ROW_KEYS and row["status"] == "converted" and row["route"] == "native"
        assert D(row["received"]) == D(line["transferedAmount"])
        assert D(row["fee"]) == D(line["serviceChargeAmount"]) and row["fee_asset"] == "BNB"
        assert row["transfer_id"] == str(line["transId"])
    assert D(doc["totals"]["received"]["BNB"]) == net

    records = [r for r in history(cli, config) if r["kind"] == "conversion"]
    assert {r["asset"] for r in records} == set(planned)
    for record in records:
        line = logged[record["asset"]]
        assert record["status"] == "converted" and record["received_asset"] == "BNB"
        assert D(record["fee"]) == D(line["serviceChargeAmount"]) and record["fee_asset"] == "BNB"
        assert record["order_id"] == str(line["transId"])
        assert D(record["qty"]) == D(line["amount"])
        # the history keeps the gross amount beside the fee, as it does for orders
        assert D(record["received_qty"]) == D(line["transferedAmount"]) + D(record["fee"])
    rows = [r for r in history_csv(cli, config) if r["kind"] == "conversion"]
    assert {r["sold_asset"] for r in rows} == set(planned)
    assert all(r["fee"] and r["order_id"] and r["status"] == "converted" for r in rows)


def test_asset_option_sends_only_the_named_assets(cli: Any, sim: Any, config: Path) -> None:
    code, doc, err = run_json(
        cli,
        config,
        "convert",
        "--to",
        "BNB",
        "--account",
        "main",
        "--asset",
        "doge",
        "--asset",
        "SHIB",
        "--asset",
        "GAL",
        "--yes",
    )
    assert code == 0, err
    assert set(rows_of(doc)) == {"DOGE", "SHIB"}
    assert {line["fromAsset"] for line in dribblet_lines(sim)} == {"DOGE", "SHIB"}
    assert free(sim, "binance", "TRX") == D("0.05")  # listed by the exchange, not named
    # Named, but the exchange offers no conversion of it (no price): left with the reason.
    left = {x["asset"]: x["reason"] for x in doc["accounts"][0]["left"]}
    assert "not offered" in left["GAL"]
    assert free(sim, "binance", "GAL") == D("0.512")


def test_one_target_for_every_account(cli: Any, sim: Any, config: Path) -> None:
    """Without --account, --to USDT converts on both exchanges in one run."""
    code, doc, err = run_json(cli, config, "convert", "--to", "USDT", "--yes")
    assert code == 0, err
    assert [(a["name"], a["target"], a["error"]) for a in doc["accounts"]] == [
        ("main", "USDT", None),
        ("uta", "USDT", None),
    ]
    for index, exchange in enumerate(("binance", "bybit")):
        rows = rows_of(doc, index)
        assert rows and all(r["status"] == "converted" for r in rows.values())
        assert all(free(sim, exchange, a) == 0 for a in rows)
    assert len(dribblet_lines(sim)) == len(rows_of(doc, 0))
    assert len(bybit_records(sim)) == 1


def test_binance_to_usdt_uses_dust_convert_with_a_client_id(
    cli: Any, sim: Any, config: Path
) -> None:
    account = sim_account(sim, "binance")
    preview = sim.dialect("binance").dust.query_convertible(account, "USDT")
    assert "BNB" in {d["asset"] for d in preview["details"]}  # listed, but kept
    before = balances(sim, "binance")
    code, doc, err = run_json(cli, config, "convert", "--to", "USDT", "--account", "main", "--yes")
    assert code == 0, err
    rows = rows_of(doc)
    assert rows and all(r["status"] == "converted" and r["target"] == "USDT" for r in rows.values())
    assert calls(sim, "binance", "/sapi/v1/asset/dust-convert/convert") == 1
    assert calls(sim, "binance", "/sapi/v1/asset/dust") == 0
    # The client id dustsweep recorded is the one the exchange got (a resend would be harmless).
    (client_id,) = {r["client_id"] for r in rows.values()}
    assert set(account.dust_convert_results) == {client_id}
    logged = {line["fromAsset"]: line for line in dribblet_lines(sim)}
    assert set(logged) == set(rows)
    assert all(line["targetAsset"] == "USDT" for line in logged.values())
    after = balances(sim, "binance")
    net = sum((D(line["transferedAmount"]) for line in logged.values()), D(0))
    assert after["USDT"] == before["USDT"] + net
    assert after["BNB"] == before["BNB"]
    assert all(after[a] == 0 for a in rows)
    records = {r["asset"]: r for r in history(cli, config) if r["kind"] == "conversion"}
    assert set(records) == set(rows)
    assert all(r["status"] == "converted" and r["client_id"] == client_id for r in records.values())


@pytest.mark.parametrize(
    ("exchange", "target", "working"),
    [("binance", "DOGE", {"BNB", "USDT"}), ("bybit", "BTC", {"USDT", "USDC", "MNT"})],
)
def test_an_unsupported_target_names_the_targets_that_work(
    cli: Any, sim: Any, config: Path, exchange: str, target: str, working: set[str]
) -> None:
    name = ACCOUNT[exchange]
    before = balances(sim, exchange)
    result = cli("--config", str(config), "convert", "--to", target, "--account", name, "--yes")
    # A target the exchange does not take is bad input: exit 2, nothing sent.
    assert result.code == 2, result.err
    line = result.err.strip().splitlines()[-1]
    assert target in line
    assert all(t in line for t in working), line
    assert f"{name}: {name}:" not in line, f"account name repeated: {line}"
    assert conversion_posts(sim, exchange) == 0
    assert balances(sim, exchange) == before


def test_binance_cooldown_refuses_early_and_ends_when_the_clock_passes_it(
    cli: Any, sim: Any, config: Path
) -> None:
    account = sim_account(sim, "binance")
    code, _, err = run_json(cli, config, "convert", "--to", "BNB", "--account", "main", "--yes")
    assert code == 0, err
    converted_at = account.last_dust_ms
    assert converted_at is not None and free(sim, "binance", "DOGE") == 0
    posts = conversion_posts(sim, "binance")
    account.wallet.set("DOGE", "20.7")  # new dust arrives

    code, doc, err = run_json(cli, config, "convert", "--to", "BNB", "--account", "main", "--yes")
    assert code == 5, err
    until = converted_at + 6 * HOUR_MS
    from dustsweep.render.common import iso_ms

    entry = doc["accounts"][0]
    assert entry["cooldown_until"] == iso_ms(until)
    assert iso_ms(until) in err and iso_ms(until) in entry["cooldown"]
    assert entry["conversions"] == []
    assert conversion_posts(sim, "binance") == posts  # the dust endpoint was not called
    assert free(sim, "binance", "DOGE") == D("20.7")

    sim.clock.advance(6 * HOUR_MS + 60_000)
    code, doc, err = run_json(cli, config, "convert", "--to", "BNB", "--account", "main", "--yes")
    assert code == 0, err
    assert rows_of(doc)["DOGE"]["status"] == "converted"
    assert free(sim, "binance", "DOGE") == 0
    assert len(account.dribblets) == 2


def test_local_history_keeps_the_cooldown_when_the_exchange_log_lags(
    cli: Any, sim: Any, config: Path
) -> None:
    account = sim_account(sim, "binance")
    code, _, err = run_json(cli, config, "convert", "--to", "BNB", "--account", "main", "--yes")
    assert code == 0, err
    # The exchange forgets (its log lags and, here, it would even accept another conversion):
    # the conversion dustsweep recorded still counts.
    account.dribblets.clear()
    account.last_dust_ms = None
    account.wallet.set("DOGE", "20.7")
    posts = conversion_posts(sim, "binance")
    code, doc, err = run_json(cli, config, "convert", "--to", "BNB", "--account", "main", "--yes")
    assert code == 5, err
    assert "local history" in doc["accounts"][0]["cooldown"]
    assert doc["accounts"][0]["cooldown_until"]
    assert conversion_posts(sim, "binance") == posts
    assert free(sim, "binance", "DOGE") == D("20.7")


def test_a_cooldown_refusal_from_the_exchange_is_exit_5_and_leaves_nothing_pending(
    cli: Any, sim: Any, config: Path
) -> None:
    """A conversion made elsewhere (the website) that neither log shows: the exchange refuses
    (-5006); nothing moved, nothing stays pending."""
    account = sim_account(sim, "binance")
    account.last_dust_ms = sim.clock.now_ms()
    before = balances(sim, "binance")
    code, doc, err = run_json(cli, config, "convert", "--to", "BNB", "--account", "main", "--yes")
    assert code == 5, err
    assert doc["accounts"][0]["cooldown"]
    assert balances(sim, "binance") == before
    assert not [r for r in history(cli, config) if r["status"] == "pending"]
    assert not [r for r in history(cli, config) if r["status"] == "converted"]


# ---- Bybit -------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["USDT", "USDC", "MNT"])
def test_bybit_small_balances_quote_execute_and_history(
    cli: Any, sim: Any, config: Path, target: str
) -> None:
    before = balances(sim, "bybit")
    code, doc, err = run_json(cli, config, "convert", "--to", target, "--account", "uta", "--yes")
    assert code == 0, err
    rows = rows_of(doc)
    assert rows and target not in rows and "USDT" not in rows
    (record,) = bybit_records(sim)
    assert record.status == "success"  # dustsweep polled until the record was final
    subs = {s.from_coin: s for s in record.subs}
    assert set(subs) == set(rows)
    assert calls(sim, "bybit", SB_EXECUTE) == 1
    after = balances(sim, "bybit")
    for asset, row in rows.items():
        assert row["status"] == "converted"
        assert row["client_id"] == record.tx_id
        assert D(row["received"]) == subs[asset].to_amount
        assert D(row["fee"]) == subs[asset].fee and row["fee_asset"] == target
        assert after[asset] == before[asset] - subs[asset].from_amount == 0
    received = sum((s.to_amount for s in subs.values()), D(0))
    assert after[target] == before.get(target, D(0)) + received
    records = {r["asset"]: r for r in history(cli, config) if r["kind"] == "conversion"}
    assert set(records) == set(rows)
    for asset, rec in records.items():
        assert rec["status"] == "converted" and rec["client_id"] == record.tx_id
        assert rec["received_asset"] == target and D(rec["fee"]) == subs[asset].fee


def test_bybit_partly_failed_batch_is_exit_4_with_per_coin_results(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    sim = sim_factory(scenario(bybit_conversion={"fail_coins": ["DOGE"]}))
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    code, doc, err = run_json(cli, config, "convert", "--to", "USDT", "--account", "uta", "--yes")
    assert code == 4, err
    rows = rows_of(doc)
    assert rows["DOGE"]["status"] == "failed" and rows["DOGE"]["error"]
    converted = {a for a, r in rows.items() if r["status"] == "converted"}
    assert converted == set(rows) - {"DOGE"} and converted
    (record,) = bybit_records(sim)
    assert record.status == "partial_fulfillment"
    assert free(sim, "bybit", "DOGE") == D("3.37")
    assert all(free(sim, "bybit", a) == 0 for a in converted)
    records = {r["asset"]: r["status"] for r in history(cli, config) if r["kind"] == "conversion"}
    assert records == {a: ("failed" if a == "DOGE" else "converted") for a in rows}


def test_bybit_expired_quote_is_quoted_again_and_converted_once(
    cli: Any, sim: Any, config: Path
) -> None:
    desk = sim.dialect("bybit").small_balance

    def expire_every_quote() -> None:
        for quote in desk.quotes.values():
            quote.expire_ms = 0

    sim.servers["bybit"].faults.add(
        "action", SB_EXECUTE, method="POST", calls=1, action=expire_every_quote
    )
    code, doc, err = run_json(cli, config, "convert", "--to", "USDT", "--account", "uta", "--yes")
    assert code == 0, err
    assert calls(sim, "bybit", SB_EXECUTE) == 2
    (record,) = bybit_records(sim)  # the expired quote executed nothing
    rows = rows_of(doc)
    assert rows and all(r["status"] == "converted" for r in rows.values())
    assert {r["client_id"] for r in rows.values()} == {record.tx_id}
    assert all(free(sim, "bybit", a) == 0 for a in rows)
    records = history(cli, config)
    assert not [r for r in records if r["status"] == "pending"]
    converted = [r["asset"] for r in records if r["status"] == "converted"]
    assert sorted(converted) == sorted(rows)  # one converted record per coin


def test_bybit_more_than_twenty_coins_go_in_several_quotes(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    bids = bybit_bids()
    unpriced = {"KAVA", "LINK"}  # the demo scenario drops or closes their markets
    coins = sorted(
        s[:-4] for s in bids if s.endswith("USDT") and s[:-4] not in {"USDC", "MNT", *unpriced}
    )[:23]
    dust = {c: format((D("0.2") / bids[f"{c}USDT"]).quantize(D("0.00000001")), "f") for c in coins}
    sim = sim_factory(scenario(bybit={"USDT": "1", **dust}))
    config = write_config(tmp_path, accounts_for(sim))
    code, doc, err = run_json(cli, config, "convert", "--to", "USDT", "--account", "uta", "--yes")
    assert code == 0, err
    rows = rows_of(doc)
    assert len(rows) == 23, set(coins) - set(rows)
    assert all(r["status"] == "converted" for r in rows.values())
    records = bybit_records(sim)
    assert len(records) == 2 and calls(sim, "bybit", SB_EXECUTE) == 2
    assert all(len(r.subs) <= 20 for r in records)
    assert sorted(s.from_coin for r in records for s in r.subs) == sorted(coins)
    assert all(free(sim, "bybit", c) == 0 for c in coins)


# ---- dry runs and confirmation -----------------------------------------------------------------


@pytest.mark.parametrize(("exchange", "target"), [("binance", "BNB"), ("bybit", "USDT")])
def test_without_terminal_and_without_yes_nothing_is_converted(
    cli: Any, sim: Any, config: Path, exchange: str, target: str
) -> None:
    name = ACCOUNT[exchange]
    before = balances(sim, exchange)
    result = cli("--config", str(config), "convert", "--to", target, "--account", name)
    assert result.code == 0, result.err
    assert "Dry run" in result.out
    code, doc, _ = run_json(
        cli, config, "convert", "--to", target, "--account", name, "--yes", "--dry-run"
    )
    assert code == 0 and doc["dry_run"] is True
    assert rows_of(doc) and all(r["status"] == "planned" for r in rows_of(doc).values())
    assert conversion_posts(sim, exchange) == 0
    assert balances(sim, exchange) == before
    assert history(cli, config) == []


@pytest.mark.parametrize(("answer", "converted"), [("y\n", True), ("n\n", False)])
def test_at_a_terminal_it_asks_first(
    cli: Any,
    sim: Any,
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    converted: bool,
) -> None:
    monkeypatch.setattr("dustsweep.cli.options.stdin_is_terminal", lambda: True)
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    result = cli("--config", str(config), "convert", "--to", "BNB", "--account", "main")
    assert result.code == 0, result.err
    assert "Convert 5 asset(s)?" in result.out + result.err
    assert (conversion_posts(sim, "binance") == 1) is converted
    assert (free(sim, "binance", "DOGE") == 0) is converted


def test_json_at_a_terminal_stays_one_json_document(
    cli: Any, sim: Any, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dustsweep convert --json | jq` typed at a terminal: stdin is the terminal, stdout a
    pipe. The question must not land in the JSON (nor be hidden in the pipe)."""
    monkeypatch.setattr("dustsweep.cli.options.stdin_is_terminal", lambda: True)
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    result = cli("--config", str(config), "convert", "--to", "BNB", "--account", "main", "--json")
    assert result.code == 0, result.err
    assert conversion_posts(sim, "binance") == 1
    doc = json.loads(result.out)
    assert all(r["status"] == "converted" for r in rows_of(doc).values())


def test_a_dry_run_into_a_target_without_a_price_says_how_many_are_unpriced(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    """MNT has no ticker (Bybit still values it for the conversion itself): the plan's total
    shows what arrives in MNT and that its worth in USDT is unknown, never just "0.00 USDT"."""
    section = scenario(bybit_conversion={"usd_prices": {"MNT": "0.8"}})
    section["bybit"]["drop_prices"] += ["MNTUSDT", "MNTUSDC", "MNTBTC"]
    sim = sim_factory(section)
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    args = ("convert", "--to", "MNT", "--account", "uta", "--dry-run")
    code, doc, err = run_json(cli, config, *args)
    assert code == 0, err
    rows = rows_of(doc)
    assert len(rows) >= 2 and all(r["received_value"] is None for r in rows.values())
    result = cli("--config", str(config), *args)
    assert result.code == 0, result.err
    text = " ".join(result.out.split())
    assert f"{len(rows)} conversion(s): receive " in text
    assert f"(0.00 USDT); {len(rows)} without a price in USDT" in text
    assert calls(sim, "bybit", SB_EXECUTE) == 0


def test_a_bybit_batch_below_the_minimum_per_conversion_is_left_not_an_error(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    """The only small balance is a few atoms of ZIL: Bybit refuses to quote it (700006, "low
    amount limit": the coins together are worth too little). Nothing can be converted now;
    that is not an error of the account (it exited 3 every night), the coin is left."""
    sim = sim_factory(scenario(bybit={"USDT": "40", "ZIL": "0.00000005"}))
    accounts = [a for a in accounts_for(sim) if a["exchange"] == "bybit"]
    config = write_config(tmp_path, accounts, keep=["BNB"])
    code, doc, err = run_json(cli, config, "convert", "--to", "USDT", "--yes")
    assert code == 0, err
    assert err.strip() == ""
    (account,) = doc["accounts"]
    assert account["error"] is None and account["conversions"] == []
    assert [left["asset"] for left in account["left"]] == ["ZIL"]
    assert calls(sim, "bybit", "/v5/asset/covert/get-quote") >= 1  # Bybit was asked, and said no
    assert conversion_posts(sim, "bybit") == 0
