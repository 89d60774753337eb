"""Garbage in gives one line, not a crash: NaN, Infinity, empty or negative amounts from an
exchange, and a damaged rules cache. Real SDKs against the simulator's ``garble`` fault."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dustsweep.exchanges.amounts import BadAmount, amount
from dustsweep.sim.demo import DEMO_SCENARIO
from dustsweep.storage.state import RulesCache
from tests.cli.test_convert import dribblet_lines, history
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


@pytest.mark.parametrize(
    ("field", "value"), [("amount", ""), ("transferedAmount", "-1"), ("serviceChargeAmount", "NaN")]
)
def test_a_garbled_dust_answer_is_settled_from_the_dust_log_never_recorded_as_given(
    cli: Any, sim: Any, tmp_path: Path, field: str, value: str
) -> None:
    """The conversion executed; its answer carries an empty, negative or NaN amount. That
    answer is unreadable (not "0" or "-1" converted): the history takes the amounts from the
    exchange's dust log, once, and a second run finds nothing left to settle."""
    config = write_config(tmp_path, accounts_for(sim)[:1], keep=["BNB"])
    faults = sim.servers["binance"].faults
    faults.add("garble", "/sapi/v1/asset/dust", method="POST", field=field, value=value)
    result = cli("--config", str(config), "convert", "--to", "BNB", "--yes")
    assert "Traceback" not in result.err and result.code in (0, 4), (result.out, result.err)
    faults.clear()
    again = cli("--config", str(config), "convert", "--to", "BNB", "--yes", "--json")
    assert "Traceback" not in again.err
    logged = {line["fromAsset"]: line for line in dribblet_lines(sim)}
    assert logged
    records = [r for r in history(cli, config) if r["kind"] == "conversion"]
    assert sorted(r["asset"] for r in records) == sorted(logged)  # each once, none pending
    for record in records:
        line = logged[record["asset"]]
        assert record["status"] == "converted", record
        assert Decimal(record["qty"]) == Decimal(line["amount"]) > 0
        assert Decimal(record["fee"]) == Decimal(line["serviceChargeAmount"]) > 0
        received = Decimal(line["transferedAmount"]) + Decimal(line["serviceChargeAmount"])
        assert Decimal(record["received_qty"]) == received  # gross, as the history keeps it


def test_a_log_that_reported_other_ids_once_adds_nothing_on_the_next_sync(
    cli: Any, sim: Any, tmp_path: Path
) -> None:
    """The sweep's own sync read the dust log with a garbled batch id and matched the records
    by amount and time; the next read has the real ids. The records still own their lines
    (by transfer id): nothing is imported twice."""
    config = write_config(
        tmp_path, accounts_for(sim, binance={"convert_to": "BNB"})[:1], keep=["BNB"]
    )
    faults = sim.servers["binance"].faults
    faults.add("garble", "/sapi/v1/asset/dribblet", method="GET", field="transId", value=12)
    result = cli("--config", str(config), "sweep", "--yes")
    assert result.code == 0, (result.out, result.err)
    faults.clear()
    synced = cli("--config", str(config), "history", "sync")
    assert synced.code == 0, synced.err
    logged = dribblet_lines(sim)
    records = [r for r in history(cli, config) if r["kind"] == "conversion"]
    assert len(records) == len(logged) > 0
    assert {r["source"] for r in records} == {"dustsweep"}


ORDER_ANSWERS = [
    ("binance", "POST", "/api/v3/order", "cummulativeQuoteQty", ""),
    ("binance", "POST", "/api/v3/order", "cummulativeQuoteQty", "-5"),
    ("binance", "POST", "/api/v3/order", "commission", "-1"),
    ("binance", "POST", "/api/v3/order", "executedQty", ""),
    ("bybit", "GET", "/v5/order/realtime", "cumExecValue", ""),
    ("bybit", "GET", "/v5/order/realtime", "cumExecFee", "-1"),
    ("bybit", "GET", "/v5/order/realtime", "cumExecQty", "-1"),
    ("binance", "POST", "/api/v3/order", "executedQty", "0.00000001"),  # FILLED, yet a sliver
    ("bybit", "GET", "/v5/order/realtime", "cumExecQty", "1e-9"),  # Filled, yet a sliver
]


@pytest.mark.parametrize(("exchange", "method", "path", "field", "value"), ORDER_ANSWERS)
def test_a_garbled_fill_is_looked_up_again_never_booked_as_given(
    cli: Any,
    sim: Any,
    tmp_path: Path,
    exchange: str,
    method: str,
    path: str,
    field: str,
    value: str,
) -> None:
    """An order executed and its answer says it received nothing, or paid a negative fee: that
    answer cannot be read. The order is looked up (by its client id) and the history books what
    the exchange really executed, received and charged; nothing is sent twice."""
    accounts = [a for a in accounts_for(sim) if a["exchange"] == exchange]
    config = write_config(tmp_path, accounts, keep=["BNB"])
    faults = sim.servers[exchange].faults
    faults.add("garble", path, method=method, calls=1, field=field, value=value)
    result = cli("--config", str(config), "sell", "--yes")
    assert result.code == 0, (result.out, result.err)
    assert "Traceback" not in result.err
    account = sim.dialect(exchange).account("demo")
    if exchange == "binance":
        real = {
            o.client_order_id: (
                o.executed_qty,
                o.cumm_quote_qty,
                sum(f.commission for f in o.fills),
            )
            for o in account.orders
        }
    else:
        real = {o.link_id: (o.cum_exec_qty, o.cum_exec_value, o.fee) for o in account.orders}
    orders = [r for r in history(cli, config) if r["kind"] == "order"]
    assert len(orders) == len(real) > 1  # each order once
    for record in orders:
        qty, received, fee = real[record["client_id"]]
        assert record["status"] == "filled", record
        booked = (Decimal(record["qty"]), Decimal(record["received_qty"]), Decimal(record["fee"]))
        assert booked == (qty, received, fee), record
        assert received > 0 and fee > 0


@pytest.mark.parametrize(("field", "value"), [("fromAmount", "0"), ("toAmount", "-1")])
def test_a_bybit_conversion_reported_with_nothing_converted_is_not_booked_until_read_again(
    cli: Any, sim: Any, tmp_path: Path, field: str, value: str
) -> None:
    """Bybit's history says the conversion succeeded, with 0 converted or a negative amount
    received: the run books nothing from it (the records stay pending, exit 4) and the next
    run, reading the history again, books what the exchange really converted."""
    accounts = [a for a in accounts_for(sim) if a["exchange"] == "bybit"]
    config = write_config(tmp_path, accounts, keep=["BNB"])
    history_path = "/v5/asset/covert/small-balance-history"
    faults = sim.servers["bybit"].faults
    faults.add("garble", history_path, method="GET", field=field, value=value)
    first = cli("--config", str(config), "convert", "--to", "USDC", "--yes")
    assert first.code == 4, (first.out, first.err)
    assert "Traceback" not in first.err
    pending = [r for r in history(cli, config) if r["kind"] == "conversion"]
    assert pending and {r["status"] for r in pending} == {"pending"}
    faults.clear()
    second = cli("--config", str(config), "convert", "--to", "USDC", "--yes")
    assert second.code == 0, (second.out, second.err)
    (record,) = sim.dialect("bybit").account("demo").conversions
    real = {sub.from_coin: sub for sub in record.subs}
    booked = [r for r in history(cli, config) if r["kind"] == "conversion"]
    assert sorted(r["asset"] for r in booked) == sorted(real)
    for row in booked:
        sub = real[row["asset"]]
        assert row["status"] == "converted" and Decimal(row["qty"]) == sub.from_amount > 0
        assert Decimal(row["received_qty"]) == sub.to_amount + sub.fee


def test_a_convert_accept_with_an_unusable_order_id_is_settled_by_its_quote(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    """Binance Convert accepted the quote, but the answer's orderId is not an id ("Infinity"):
    kept, it would make every later lookup fail (-1100) and the record stay pending for good.
    The answer is unreadable instead, so the trade is found by its quote id at once."""
    scenario = copy.deepcopy(DEMO_SCENARIO)
    scenario["binance"]["accounts"][0]["balances"].update({"ADA": "40", "XRP": "12"})
    sim = sim_factory(scenario)
    accounts = [a for a in accounts_for(sim) if a["exchange"] == "binance"]
    config = write_config(
        tmp_path, accounts, keep=["BNB"], dust_threshold="1000", reconcile_window_s=2
    )
    faults = sim.servers["binance"].faults
    faults.add(
        "garble", "/sapi/v1/convert/acceptQuote", method="POST", field="orderId", value="Infinity"
    )
    result = cli("--config", str(config), "convert", "--to", "USDT", "--yes", "--asset", "ADA")
    assert result.code == 0, (result.out, result.err)
    (order,) = sim.dialect("binance").account("demo").convert_orders
    (record,) = [r for r in history(cli, config) if r["kind"] == "conversion"]
    assert record["status"] == "converted" and record["order_id"] == str(order.order_id)
    assert Decimal(record["qty"]) == order.quote.from_amount
    assert Decimal(record["received_qty"]) == order.quote.to_amount


@pytest.mark.parametrize(
    ("exchange", "path", "status"),
    [
        ("binance", "/api/v3/order", 408),
        ("bybit", "/v5/order/create", 408),
        ("bybit", "/v5/asset/covert/small-balance-execute", 408),
        ("binance", "/sapi/v1/asset/dust", 200),  # a 200 that is not the endpoint's answer
    ],
)
def test_an_unexpected_answer_after_the_action_ran_is_unknown_not_refused(
    cli: Any, sim: Any, tmp_path: Path, exchange: str, path: str, status: int
) -> None:
    """A 408 (from a proxy, say), or a 200 of another shape, answered an order or a conversion
    the exchange had executed. Only statuses that prove the request was refused (400, 401,
    404...) may close a record as rejected; this leaves the outcome unknown, so it is looked up
    and booked as done."""
    targets = {"binance": {"convert_to": "BNB"}, "bybit": {"convert_to": "USDT"}}
    accounts = [a for a in accounts_for(sim, **targets) if a["exchange"] == exchange]
    config = write_config(tmp_path, accounts, keep=["BNB"], reconcile_window_s=2)
    faults = sim.servers[exchange].faults
    faults.add("http_after", path, method="POST", calls=1, status=status, body={"error": "timeout"})
    result = cli("--config", str(config), "sweep", "--yes")
    assert "Traceback" not in result.err
    records = history(cli, config)
    assert not [r for r in records if r["status"] in ("rejected", "failed")], records
    account = sim.dialect(exchange).account("demo")
    if path == "/sapi/v1/asset/dust":
        converted = {line["fromAsset"] for line in dribblet_lines(sim)}
        booked = {r["asset"] for r in records if r["kind"] == "conversion"}
        assert converted and booked == converted
        assert {r["status"] for r in records if r["kind"] == "conversion"} == {"converted"}
    elif path.endswith("execute"):
        converted = {s.from_coin for r in account.conversions for s in r.subs}
        booked = {r["asset"] for r in records if r["kind"] == "conversion"}
        assert converted and booked == converted
        assert {r["status"] for r in records if r["kind"] == "conversion"} == {"converted"}
    else:
        ids = {o.client_order_id if exchange == "binance" else o.link_id for o in account.orders}
        filled = {r["client_id"] for r in records if r["kind"] == "order"}
        assert filled == ids  # each order once, the one answered 408 included
        assert {r["status"] for r in records if r["kind"] == "order"} == {"filled"}


def test_a_200_that_is_not_an_order_answer_is_settled_and_the_asset_sold_once(
    cli: Any, sim: Any, tmp_path: Path
) -> None:
    """A 200 whose body is no order (no orderId) was taken for an accepted order "still new" and
    left pending. It is unreadable instead: the order is looked up in the same run, found never
    placed (with the balance as evidence), and the sale goes out once."""
    accounts = [a for a in accounts_for(sim) if a["exchange"] == "binance"]
    config = write_config(tmp_path, accounts, keep=["BNB"], reconcile_window_s=2)
    faults = sim.servers["binance"].faults
    body = {"retCode": 10016, "retMsg": "Server error"}  # not Binance's shape at all
    faults.add("http", "/api/v3/order", method="POST", calls=1, status=200, body=body)
    result = cli("--config", str(config), "sell", "--yes")
    assert result.code == 0, (result.out, result.err)  # settled within the run
    records = [r for r in history(cli, config) if r["kind"] == "order"]
    assert not [r for r in records if r["status"] == "pending"], records
    symbols = [o.symbol for o in sim.dialect("binance").account("demo").orders]
    assert len(symbols) == len(set(symbols))  # no sale twice
    assert {r["market"] for r in records if r["status"] == "filled"} == set(symbols)


def test_nothing_eligible_into_a_target_is_nothing_to_convert_not_bad_input(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    """dust-convert answers an empty list for USDT: none of this account's balances can go
    there now (VEN has no USDT price). That is "nothing to convert" (exit 0), not a target the
    exchange refuses (exit 2, which would mail cron every night)."""
    scenario = copy.deepcopy(DEMO_SCENARIO)
    scenario["binance"]["accounts"][0]["balances"] = {"VEN": "0.00000044", "BTC": "0.00912731"}
    sim = sim_factory(scenario)
    accounts = [a for a in accounts_for(sim) if a["exchange"] == "binance"]
    config = write_config(tmp_path, accounts, keep=["BNB"])
    result = cli("--config", str(config), "convert", "--to", "USDT", "--yes", "--json")
    assert result.code == 0, (result.out, result.err)
    assert result.err.strip() == ""
    (account,) = json.loads(result.out)["accounts"]
    assert account["error"] is None and account["conversions"] == []
    assert not sim.dialect("binance").account("demo").dribblets  # nothing was converted
