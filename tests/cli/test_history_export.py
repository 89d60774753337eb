"""`dustsweep history` exports, filters, totals and bad input, over a history filled the way a
user fills it: a dust->BNB conversion and a sale through the real CLI against the simulator,
and a Convert trade imported by `history sync`."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dustsweep.render.history_export import HEADERS
from dustsweep.sim.demo import DEMO_SCENARIO
from tests.cli.test_convert import dribblet_lines, history, run_json
from tests.cli.test_scan import accounts_for
from tests.cli.test_scan import keys as keys  # the fixture
from tests.conftest import write_config
from tests.services.test_history_sync import convert_elsewhere

pytestmark = pytest.mark.usefixtures("keys")

D = Decimal
DAY_MS = 86_400_000
ISSUE_HEADERS = {
    "koinly": "Date,Sent Amount,Sent Currency,Received Amount,Received Currency,Fee Amount,"
    "Fee Currency,Net Worth Amount,Net Worth Currency,Label,Description,TxHash",
    "cointracker": "Date,Received Quantity,Received Currency,Sent Quantity,Sent Currency,"
    "Fee Amount,Fee Currency,Tag",
    "coinledger": "Date (UTC),Platform (Optional),Asset Sent,Amount Sent,Asset Received,"
    "Amount Received,Fee Currency (Optional),Fee Amount (Optional),Type,Description (Optional),"
    "TxHash (Optional)",
    "blockpit": "Date (UTC),Integration Name,Label,Outgoing Asset,Outgoing Amount,"
    "Incoming Asset,Incoming Amount,Fee Asset (optional),Fee Amount (optional),"
    "Comment (optional),Trx. ID (optional)",
    "cointracking": "Type,Buy Amount,Buy Currency,Sell Amount,Sell Currency,Fee,Fee Currency,"
    "Exchange,Trade-Group,Comment,Date",
}


@pytest.fixture
def world(sim_factory: Any, tmp_path: Path, cli: Any) -> tuple[Any, Path, dict[str, Any]]:
    sim = sim_factory(DEMO_SCENARIO)
    # the default first sync (a year): it reads a 40-day-old trade
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"], first_sync_days=None)
    code, _, err = run_json(cli, config, "convert", "--to", "BNB", "--account", "main", "--yes")
    assert code == 0, err
    code, _, err = run_json(cli, config, "sell", "--account", "main", "--yes")
    assert code in (0, 4), err
    now = sim.clock.now_ms()
    (trade,) = convert_elsewhere(sim, [now - 40 * DAY_MS])
    result = cli("--config", str(config), "history", "sync", "--account", "main")
    assert result.code == 0, result.err
    return sim, config, {"trade": trade}


def export(cli: Any, config: Path, fmt: str, *args: str) -> tuple[str, list[dict[str, str]]]:
    result = cli("--config", str(config), "history", "--format", fmt, *args)
    assert result.code == 0, result.err
    header = result.out.splitlines()[0]
    return header, list(csv.DictReader(io.StringIO(result.out)))


def is_decimal(cell: str) -> bool:
    """A cell that reads as a number. Client ids such as `ds-…1e-ADA` hold an "e-" too, so the
    exponent check looks only at the cells that parse as decimals."""
    try:
        Decimal(cell)
    except ArithmeticError:
        return False
    return True


def test_every_export_has_the_tools_header_and_one_row_per_executed_record(
    cli: Any, world: Any
) -> None:
    sim, config, made = world
    records = history(cli, config)
    executed = [r for r in records if r["status"] in ("filled", "partially_filled", "converted")]
    dust = {line["fromAsset"]: line for line in dribblet_lines(sim)}
    assert dust and any(r["kind"] == "order" for r in executed)
    for fmt, header in ISSUE_HEADERS.items():
        assert ",".join(HEADERS[fmt]) == header
        got, rows = export(cli, config, fmt)
        assert got == header, fmt
        assert len(rows) == len(executed), fmt
        amounts = [v for row in rows for v in row.values() if is_decimal(v)]
        assert amounts, fmt
        assert not [v for v in amounts if "e" in v.lower()], fmt  # plain decimals, no exponents

    _, koinly = export(cli, config, "koinly")
    for asset, line in dust.items():
        (row,) = [
            r for r in koinly if (r["Sent Currency"], r["Received Currency"]) == (asset, "BNB")
        ]
        fee = D(line["serviceChargeAmount"])
        assert D(row["Sent Amount"]) == D(line["amount"])
        assert row["Received Currency"] == "BNB" and row["Fee Currency"] == "BNB"
        assert D(row["Fee Amount"]) == fee  # the 2 % charge, as a BNB fee
        assert D(row["Received Amount"]) == D(line["transferedAmount"]) + fee
        assert row["Net Worth Amount"] == "" and row["Net Worth Currency"] == ""  # not known
        assert row["Label"] == "" and row["TxHash"]
        assert row["Date"].endswith(" UTC") and len(row["Date"]) == len("2026-01-02 03:04 UTC")
    trade = made["trade"]
    (row,) = [r for r in koinly if r["TxHash"] == f"{trade.order_id}-XRP"]
    assert (row["Received Amount"], row["Received Currency"]) == ("20.5", "USDT")
    assert (row["Fee Amount"], row["Net Worth Amount"], row["Net Worth Currency"]) == (
        "0", "20.5", "USDT",
    )  # a Convert trade: no fee; worth what it received in USDT  # fmt: skip
    sale = next(r for r in executed if r["kind"] == "order" and r["received_asset"] == "USDT")
    (row,) = [r for r in koinly if r["TxHash"] == sale["client_id"]]
    assert D(row["Net Worth Amount"]) == D(sale["received_qty"])

    first = next(iter(dust))
    line = dust[first]
    _, tracker = export(cli, config, "cointracker")
    (row,) = [r for r in tracker if (r["Sent Currency"], r["Received Currency"]) == (first, "BNB")]
    assert (row["Received Currency"], row["Fee Currency"], row["Tag"]) == ("BNB", "BNB", "")
    assert D(row["Fee Amount"]) == D(line["serviceChargeAmount"])
    assert row["Date"][2] == "/" and row["Date"][5] == "/" and len(row["Date"]) == 19
    _, ledger = export(cli, config, "coinledger")
    (row,) = [r for r in ledger if (r["Asset Sent"], r["Asset Received"]) == (first, "BNB")]
    assert (row["Type"], row["Asset Received"], row["Fee Currency (Optional)"]) == (
        "Trade", "BNB", "BNB",
    )  # fmt: skip
    assert D(row["Fee Amount (Optional)"]) == D(line["serviceChargeAmount"])
    _, blockpit = export(cli, config, "blockpit")
    (row,) = [r for r in blockpit if (r["Outgoing Asset"], r["Incoming Asset"]) == (first, "BNB")]
    assert (row["Label"], row["Incoming Asset"], row["Fee Asset (optional)"]) == (
        "Trade", "BNB", "BNB",
    )  # fmt: skip
    assert row["Date (UTC)"][2] == "." and row["Date (UTC)"][5] == "."
    _, tracking = export(cli, config, "cointracking")
    (row,) = [r for r in tracking if (r["Sell Currency"], r["Buy Currency"]) == (first, "BNB")]
    assert (row["Type"], row["Buy Currency"], row["Fee Currency"]) == ("Trade", "BNB", "BNB")
    assert D(row["Sell Amount"]) == D(line["amount"]) and D(row["Fee"]) == D(
        line["serviceChargeAmount"]
    )


def test_filters_limit_and_totals(cli: Any, world: Any) -> None:
    sim, config, made = world
    records = history(cli, config)
    base = ["--config", str(config), "history", "--json"]
    only = json.loads(cli(*base, "--kind", "conversion").out)
    assert only and {r["kind"] for r in only} == {"conversion"}
    sells = json.loads(cli(*base, "--kind", "sell").out)
    assert {r["kind"] for r in sells} == {"order"}
    assert len(only) + len(sells) == len(records)
    xrp = json.loads(cli(*base, "--asset", "xrp").out)
    assert xrp and all("XRP" in (r["asset"], r["received_asset"]) for r in xrp)
    assert len(json.loads(cli(*base, "--limit", "2").out)) == 2
    assert json.loads(cli(*base, "--limit", "1").out) == records[-1:]
    today = records[-1]["time"][:10]
    recent = json.loads(cli(*base, "--since", today).out)
    assert made["trade"].order_id not in {r["order_id"] for r in recent}  # 40 days old
    past = json.loads(cli(*base, "--until", "2000-01-01").out)
    assert past == []

    totals = json.loads(cli(*base, "--totals").out)
    by_asset = {t["asset"]: t for t in totals}
    dust = dribblet_lines(sim)
    charges = sum((D(line["serviceChargeAmount"]) for line in dust), D(0))
    bnb_in = [r for r in records if r["received_asset"] == "BNB" and r["status"] == "converted"]
    assert D(by_asset["BNB"]["received"]) == sum((D(r["received_qty"]) for r in bnb_in), D(0))
    assert D(by_asset["BNB"]["fees"]) >= charges
    assert D(by_asset["XRP"]["value"]["USDT"]) >= D("20.5")
    table = cli("--config", str(config), "history", "--totals")
    assert table.code == 0 and "BNB" in table.out and "Totals" in table.out


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("--format", "turbotax"), "--format"),
        (("--since", "yesterday"), "--since"),
        (("--until", "2026-13-01"), "--until"),
        (("--since", "2026-02-01", "--until", "2026-01-01"), "--until"),
        (("--json", "--format", "koinly"), "--json"),
        (("--kind", "buy"), "--kind"),
        (("--limit", "0"), "--limit"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    cli: Any, tmp_path: Path, args: tuple[str, ...], names: str
) -> None:
    config = write_config(tmp_path, accounts_for(type("S", (), {"url": lambda s, e: "http://x"})()))
    result = cli("--config", str(config), "history", *args)
    assert result.code == 2
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and names in lines[0] and "Traceback" not in result.err


def test_sync_with_an_unparseable_since_is_exit_2_before_any_request(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    sim = sim_factory(DEMO_SCENARIO)
    config = write_config(tmp_path, accounts_for(sim))
    result = cli("--config", str(config), "history", "sync", "--since", "31/01/2026")
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1
    assert "--since" in result.err
    assert sum(sim.servers["binance"].faults.counts().values()) == 0
