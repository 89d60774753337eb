"""Exactly once: lost answers, a crash between converting and recording, and the next run.

Faults are injected on the simulator's HTTP server (``lose``: the exchange converts, the answer
never arrives; ``drop``: the request never reaches it). A crash is a ledger that dies when it is
about to record the result. Every test checks that the exchange converted at most once and that
the ledger ends up saying what the exchange did.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from dustsweep.convert.execute import (
    check_cooldown,
    execute_conversion,
    fetch_previews,
    reconcile_pending_conversions,
)
from dustsweep.core.models import ConversionLine, ConversionResult
from dustsweep.errors import CooldownActive, ExitCode
from dustsweep.exchanges.binance.adapter import BinanceExchange
from dustsweep.storage.ledger import Ledger
from tests.convert.test_execute import DUST, DUST_CONVERT, KEY, SECRET, DeskFactory
from tests.convert.test_execute import desk as desk  # the fixture
from tests.convert.test_execute_bybit import SB_EXECUTE, SB_HISTORY, bybit_section, dust

D = Decimal
HOUR_MS = 3_600_000


class Crash(BaseException):
    """The process dies here (not an Exception: nothing may catch it)."""


class CrashingLedger(Ledger):
    """Dies when the executor is about to record a finished conversion."""

    def update(self, record_id: int, **changes: object) -> None:
        if changes.get("status") == "converted":
            raise Crash
        super().update(record_id, **changes)


def dribblet_assets(d: Any) -> list[set[str]]:
    """What the Binance simulator converted, batch by batch."""
    return [
        {row["fromAsset"] for row in batch["userAssetDribbletDetails"]}
        for batch in d.dialect.account("main").dribblets
    ]


# -- lost answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(("target", "path"), [("BNB", DUST), ("USDC", DUST_CONVERT)])
def test_lost_answer_is_found_in_the_dust_log_not_converted_twice(
    desk: DeskFactory, target: str, path: str
) -> None:
    d = desk()
    plan = d.plan(target)
    d.server.faults.add("lose", path, calls=1)
    outcome = execute_conversion(plan, d.context())
    assert {line.asset: line.status for line in outcome.lines} == {
        "XRP": "converted",
        "TRX": "converted",
    }
    assert d.count("POST", path) == 1 and dribblet_assets(d) == [{"XRP", "TRX"}]
    assert d.free("XRP") == 0 and d.free("TRX") == 0
    assert {r.status for r in d.records().values()} == {"converted"}
    assert outcome.exit_code_hint is ExitCode.OK


def test_request_that_never_arrived_is_failed_once_the_window_shows_nothing(
    desk: DeskFactory,
) -> None:
    d = desk()
    plan = d.plan("BNB")
    d.server.faults.add("drop", DUST, calls=1)
    outcome = execute_conversion(plan, d.context(reconcile_window_s=5.0))
    assert {line.status for line in outcome.lines} == {"failed"}
    assert all("balances are intact" in (line.error or "") for line in outcome.lines)
    assert sum(d.sleeps) == pytest.approx(5.0)  # it waited out the window, never re-sent
    assert d.count("POST", DUST) == 1 and dribblet_assets(d) == []
    assert {r.status for r in d.records().values()} == {"failed"}
    assert outcome.exit_code_hint is ExitCode.PARTIAL


def test_unknown_outcome_stays_pending_when_the_balance_moved_without_a_log_entry(
    desk: DeskFactory,
) -> None:
    d = desk()
    plan = d.plan("BNB", assets=frozenset({"XRP"}))
    wallet = d.dialect.account("main").wallet
    d.server.faults.add("drop", DUST, calls=1)
    d.server.faults.add("action", "/api/v3/account", action=lambda: wallet.set("XRP", "0.1"))
    outcome = execute_conversion(plan, d.context(reconcile_window_s=2.0))
    (line,) = outcome.lines
    assert line.status == "unknown" and outcome.exit_code_hint is ExitCode.PARTIAL
    assert [r.asset for r in d.ledger.pending()] == ["XRP"]  # the next run settles it


def test_bybit_lost_execute_is_reconciled_by_quote_id(desk: DeskFactory) -> None:
    d = desk("bybit", bybit_section(dust(["XRP", "ADA"])))
    plan = d.plan("USDT")
    d.server.faults.add("lose", SB_EXECUTE, calls=1)
    d.server.faults.add("drop", SB_HISTORY, calls=1)  # the adapter's own look fails too
    outcome = execute_conversion(plan, d.context())
    (executed,) = d.dialect.account("main").conversions
    subs = {s.from_coin: s for s in executed.subs}
    for line in outcome.lines:
        assert line.status == "converted" and line.received == subs[line.asset].to_amount
    assert d.count("POST", SB_EXECUTE) == 1


# -- a crash between converting and recording -------------------------------------------------


def test_rerun_after_a_crash_records_the_binance_conversion_instead_of_repeating_it(
    desk: DeskFactory,
) -> None:
    d = desk()
    plan = d.plan("BNB")
    crashing = CrashingLedger(d.ledger.path)
    with pytest.raises(Crash):
        execute_conversion(plan, d.context(crashing))
    crashing.close()
    assert {r.status for r in d.ledger.pending()} == {"pending"}
    assert dribblet_assets(d) == [{"XRP", "TRX"}]
    # The next run settles the pending records from the exchange's log first ...
    settled = reconcile_pending_conversions(d.context())
    assert {line.asset: line.status for line in settled} == {"XRP": "converted", "TRX": "converted"}
    assert d.ledger.pending() == []
    # ... then the cool-down (known locally now too) stops it; nothing is converted again.
    with pytest.raises(CooldownActive):
        check_cooldown(d.exchange, d.ledger, "main", 6 * 3600, d.context().server_now_ms())
    assert {c.asset for c in d.plan("BNB").conversions}.isdisjoint({"XRP", "TRX"})
    assert d.count("POST", DUST) == 1


def test_rerun_after_a_crash_on_bybit_finds_the_quote_with_its_amounts(desk: DeskFactory) -> None:
    d = desk("bybit", bybit_section(dust(["XRP", "ADA"])))
    plan = d.plan("USDT")
    crashing = CrashingLedger(d.ledger.path)
    with pytest.raises(Crash):
        execute_conversion(plan, d.context(crashing))
    crashing.close()
    (executed,) = d.dialect.account("main").conversions
    subs = {s.from_coin: s for s in executed.subs}
    settled = reconcile_pending_conversions(d.context())
    for line in settled:
        assert line.status == "converted" and line.client_id == executed.tx_id
        assert (line.received, line.fee) == (subs[line.asset].to_amount, subs[line.asset].fee)
    for asset, record in d.records().items():
        assert record.received_qty == subs[asset].to_amount + subs[asset].fee
    # A new run converts nothing more: the coins are gone from the exchange's list.
    outcome = execute_conversion(d.plan("USDT"), d.context())
    assert outcome.lines == [] and outcome.settled == []
    assert d.count("POST", SB_EXECUTE) == 1


def test_pending_records_that_never_executed_are_closed_with_the_proof(desk: DeskFactory) -> None:
    d = desk("bybit", bybit_section(dust(["XRP"])))
    quote = fetch_previews(d.exchange, "USDT")[0].quote_id
    for asset, client_id in (("XRP", quote), ("ADA", "ds-0a1b2c3d4e-cvUSDT")):
        d.ledger.add(
            exchange="bybit",
            account="main",
            kind="conversion",
            asset=asset,
            qty=D("0.1"),
            received_asset="USDT",
            market="native",
            client_id=client_id,
            time=d.context().server_now(),
        )
    d.advance(31_000 + 2_000 + 1)  # the quote can no longer be executed
    settled = {line.asset: line for line in reconcile_pending_conversions(d.context())}
    assert settled["XRP"].status == "failed"
    assert "expired with no record" in (settled["XRP"].error or "")
    # ADA is not held (any more?) and has no record: nothing proves either way, for now.
    assert settled["ADA"].status == "unknown"
    assert [r.asset for r in d.ledger.pending()] == ["ADA"]
    d.advance(25 * HOUR_MS)
    (ada,) = reconcile_pending_conversions(d.context())
    assert ada.status == "failed" and "after a day" in (ada.error or "")
    assert d.ledger.pending() == [] and d.dialect.account("main").conversions == []


def test_a_still_unresolved_earlier_conversion_blocks_that_asset_only(desk: DeskFactory) -> None:
    d = desk()
    d.ledger.add(
        exchange="binance",
        account="main",
        kind="conversion",
        asset="XRP",
        qty=D("5"),  # more than is held now, and the dust log shows nothing: cannot tell
        received_asset="BNB",
        market="native",
        client_id="ds-0a1b2c3d4e-cvBNB",
    )
    outcome = execute_conversion(d.plan("BNB"), d.context())
    assert [(x.asset, x.status) for x in outcome.settled] == [("XRP", "unknown")]
    lines = {line.asset: line for line in outcome.lines}
    assert lines["XRP"].status == "skipped" and "still unresolved" in (lines["XRP"].error or "")
    assert lines["TRX"].status == "converted"
    assert dribblet_assets(d) == [{"TRX"}]


# -- an adapter that offers its conversion log with amounts -----------------------------------


class LoggedBinance(BinanceExchange):
    """Stands in for the proposed ``conversions_since`` adapter method: the dribblet log with
    amounts. Reads the simulator's own log (the exchange-side truth), as the adapter would
    read GET /sapi/v1/asset/dribblet?startTime=..."""

    log: list[dict[str, Any]]

    def conversions_since(self, since_ms: int) -> list[ConversionResult]:
        results = []
        for batch in self.log:
            if batch["operateTime"] < since_ms:
                continue
            rows = batch["userAssetDribbletDetails"]
            lines = tuple(
                ConversionLine(
                    asset=row["fromAsset"],
                    amount=D(row["amount"]),
                    received=D(row["transferedAmount"]),
                    fee=D(row["serviceChargeAmount"]),
                    status="converted",
                    transfer_id=str(row["transId"]),
                )
                for row in rows
            )
            target = rows[0].get("targetAsset", "BNB")
            results.append(ConversionResult(target, str(batch["transId"]), "converted", lines))
        return results


def test_with_a_conversion_log_the_rerun_records_the_exchanges_amounts(desk: DeskFactory) -> None:
    from dustsweep.exchanges.base import Credentials

    d = desk()
    logged = LoggedBinance(Credentials("main", KEY, SECRET, base_url=d.running.url("binance")))
    logged.log = d.dialect.account("main").dribblets
    d.exchange.close()
    d.exchange = logged
    crashing = CrashingLedger(d.ledger.path)
    with pytest.raises(Crash):
        execute_conversion(d.plan("BNB"), d.context(crashing))
    crashing.close()
    settled = {line.asset: line for line in reconcile_pending_conversions(d.context())}
    assert (settled["XRP"].received, settled["XRP"].fee) == (D("0.00196"), D("0.00004"))
    assert (settled["TRX"].received, settled["TRX"].fee) == (D("0.001813"), D("0.000037"))
    details = d.dialect.account("main").dribblets[0]["userAssetDribbletDetails"]
    tran_ids = {row["fromAsset"]: str(row["transId"]) for row in details}
    assert {a: r.order_id for a, r in d.records().items()} == tran_ids
    assert d.count("POST", DUST) == 1
