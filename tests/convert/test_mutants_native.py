"""The native small-balance conversion's less travelled paths: edges found by mutation testing.

Every test runs the real python-binance or pybit adapter against the simulator, with faults
injected on its HTTP server, and checks what the user is told (status, error, client id,
amounts), what the history holds and what the exchange ended with.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from dustsweep.convert.execute import execute_conversion
from dustsweep.errors import ExitCode
from dustsweep.exchanges.bans import REGISTRY
from tests.convert.test_execute import DRIBBLET, DUST, DUST_BTC, DeskFactory, binance_section
from tests.convert.test_execute import desk as desk  # the fixture
from tests.convert.test_execute_bybit import (
    SB_EXECUTE,
    SB_HISTORY,
    SB_QUOTE,
    bids,
    bybit_section,
    dust,
)

D = Decimal
ACCOUNT = "/api/v3/account"
TIME = "/api/v3/time"
COOLDOWN = {"code": -5006, "msg": "Only transfer once in 24 hours."}
INELIGIBLE = {"code": -5003, "msg": "You don't have enough balance to convert."}
SKEW = {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}


def bybit_error(code: int, msg: str) -> dict[str, Any]:
    return {"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": 0}


def by_asset(lines: Any) -> dict[str, Any]:
    return {line.asset: line for line in lines}


# -- refusals of the send ------------------------------------------------------------------------


def test_a_cooldown_refusal_of_the_send_names_the_account_and_closes_the_records(
    desk: DeskFactory,
) -> None:
    d = desk()
    plan = d.plan("BNB")
    d.server.faults.add("http", DUST, calls=1, status=400, body=COOLDOWN)
    outcome = execute_conversion(plan, d.context())
    lines = by_asset(outcome.lines)
    assert set(lines) == {"XRP", "TRX"}
    for asset, line in lines.items():
        assert (line.status, line.cooldown, line.received_asset) == ("skipped", True, "BNB")
        assert line.error == outcome.cooldown_message
        assert "binance account 'main': the exchange refuses another" in line.error
        record = d.records()[asset]
        assert record.status == "failed" and "Only transfer once" in (record.error or "")
        assert record.error in line.error  # the exchange's refusal, quoted in the line
    assert outcome.cooldown_until_ms is None  # nothing dates the last conversion
    assert outcome.exit_code_hint is ExitCode.NOT_NOW
    assert d.free("XRP") == D("0.5") and d.free("TRX") == D("3.7")


def test_a_refused_send_fails_each_asset_with_its_record_and_client_id(desk: DeskFactory) -> None:
    d = desk()
    plan = d.plan("BNB")
    d.server.faults.add("http", DUST, calls=1, status=400, body=INELIGIBLE)
    outcome = execute_conversion(plan, d.context())
    lines = by_asset(outcome.lines)
    records = d.records()
    client_ids = {r.client_id for r in records.values()}
    assert len(client_ids) == 1 and next(iter(client_ids)).startswith("ds-")
    for asset, line in lines.items():
        record = records[asset]
        assert (line.status, line.route, line.received_asset) == ("failed", "native", "BNB")
        assert line.amount == record.qty == {"XRP": D("0.5"), "TRX": D("3.7")}[asset]
        assert (line.client_id, line.record_id) == (record.client_id, record.id)
        assert "enough balance" in (line.error or "") and line.error == record.error
        assert record.status == "failed"
    assert d.count("POST", DUST) == 1 and d.free("XRP") == D("0.5")


def test_a_preview_that_fails_fails_every_asset_without_sending(desk: DeskFactory) -> None:
    d = desk()
    plan = d.plan("BNB")
    d.server.faults.add("http", DUST_BTC, status=500, body={"code": -1000, "msg": "boom"})
    outcome = execute_conversion(plan, d.context())
    for line in outcome.lines:
        assert (line.status, line.received_asset) == ("failed", "BNB")
        assert (line.error or "").startswith("could not preview: ")
    assert {line.amount for line in outcome.lines} == {D("0.5"), D("3.7")}
    assert d.count("POST", DUST) == 0 and d.records() == {}


# -- the clock -------------------------------------------------------------------------------------


def test_a_clock_rejection_remeasures_once_and_sends_again(desk: DeskFactory) -> None:
    d = desk()
    plan = d.plan("BNB")
    d.server.faults.add("http", DUST, calls=1, status=400, body=SKEW)
    outcome = execute_conversion(plan, d.context())
    assert {line.status for line in outcome.lines} == {"converted"}
    assert outcome.clock_offset_ms is not None
    assert d.count("POST", DUST) == 2 and d.free("XRP") == 0
    history = d.ledger.records(kind="conversion")
    failed = [r for r in history if r.status == "failed"]
    assert {r.asset for r in failed} == {"XRP", "TRX"}
    assert all((r.error or "").startswith("clock rejected, sent again: ") for r in failed)
    assert all("recvWindow" in (r.error or "") for r in failed)
    assert {r.asset for r in history if r.status == "converted"} == {"XRP", "TRX"}


def test_a_second_clock_rejection_fails_without_a_third_send(desk: DeskFactory) -> None:
    d = desk()
    plan = d.plan("BNB")
    d.server.faults.add("http", DUST, status=400, body=SKEW)
    outcome = execute_conversion(plan, d.context())
    lines = by_asset(outcome.lines)
    assert set(lines) == {"XRP", "TRX"}
    records = d.records()
    for asset, line in lines.items():
        assert line.status == "failed" and "recvWindow" in (line.error or "")
        assert "sent again" not in (line.error or "")
        assert (line.client_id, line.record_id) == (records[asset].client_id, records[asset].id)
    assert d.count("POST", DUST) == 2 and d.free("XRP") == D("0.5")
    assert d.ledger.pending() == []


def test_a_clock_that_cannot_be_remeasured_fails_without_sending_again(desk: DeskFactory) -> None:
    d = desk()
    plan = d.plan("BNB")
    d.server.faults.add("http", DUST, calls=1, status=400, body=SKEW)
    d.server.faults.add("http", TIME, status=500, body={"code": -1000, "msg": "down"})
    outcome = execute_conversion(plan, d.context())
    for line in outcome.lines:
        assert line.status == "failed" and "recvWindow" in (line.error or "")
    assert outcome.clock_offset_ms is None
    assert d.count("POST", DUST) == 1 and d.ledger.pending() == []


# -- a ban -----------------------------------------------------------------------------------------


def test_a_ban_seen_just_before_the_send_fails_it_unsent(desk: DeskFactory) -> None:
    d = desk()
    plan = d.plan("BNB")
    calls = d.count("GET", ACCOUNT)
    ban = {"code": -1003, "msg": "Way too many requests; IP banned until 1999999999999."}
    # The balance read right before the send (the evidence) is answered with the ban.
    d.server.faults.add("http", ACCOUNT, calls=calls + 1, status=418, body=ban, retry_after=60)
    outcome = execute_conversion(plan, d.context())
    lines = by_asset(outcome.lines)
    assert set(lines) == {"XRP", "TRX"}
    records = d.ledger.records(kind="conversion")
    assert len(records) == 2  # tried once: a ban is not something to send again after
    for record in records:
        line = lines[record.asset]
        assert line.status == "failed" and (line.error or "").startswith("not sent: ")
        assert (line.client_id, line.error) == (record.client_id, record.error)
    assert d.count("POST", DUST) == 0 and d.free("XRP") == D("0.5")
    assert {r.status for r in records} == {"failed"}
    REGISTRY.clear()


# -- the pending record ----------------------------------------------------------------------------


def test_the_pending_record_keeps_the_evidence_and_the_run(desk: DeskFactory) -> None:
    d = desk()
    plan = d.plan("USDC")
    bnb_usdc = {c.asset: c.received for c in plan.conversions}
    usdc_before = d.free("USDC")
    seen: list[Any] = []

    def look() -> None:
        seen.extend(d.ledger.pending())

    d.server.faults.add("action", "/sapi/v1/asset/dust-convert/convert", action=look)
    d.advance(3_600_000)  # the exchange's clock is an hour ahead of the local one
    run_id = d.ledger.begin_run("convert", dry_run=False)
    execute_conversion(plan, replace(d.context(), run_id=run_id))
    records = by_asset(seen)
    assert set(records) == {"XRP", "TRX"}
    for asset, record in records.items():
        assert (record.exchange, record.account, record.kind) == ("binance", "main", "conversion")
        assert (record.run_id, record.market, record.status) == (run_id, "native", "pending")
        assert (record.received_asset, record.fee_asset) == ("USDC", "USDC")
        assert record.qty == {"XRP": D("0.5"), "TRX": D("3.7")}[asset]
        assert record.price == usdc_before  # the target's balance just before sending
        assert record.received_qty == bnb_usdc[asset]  # the net expected
        assert record.client_id.startswith("ds-") and record.client_id.endswith("-cvUSDC")
        when = datetime.fromisoformat(record.time.replace("Z", "+00:00"))
        stamped = abs((when - d.context().server_now()).total_seconds())
        assert stamped < 60  # the exchange's time, as its logs are


# -- Bybit ---------------------------------------------------------------------------------------


def test_a_bybit_cooldown_refusal_skips_the_next_batch_unsent(desk: DeskFactory) -> None:
    coins = sorted(s[: -len("USDT")] for s in bids() if s.endswith("USDT"))
    coins = [c for c in coins if c not in {"USDC", "MNT"}][:23]
    d = desk("bybit", bybit_section(dust(coins, "0.2")))
    plan = d.plan("USDC")
    assert len(plan.conversions) == 23 and len(plan.previews) == 2
    d.server.faults.add(
        "http", SB_EXECUTE, calls=1, status=200, body=bybit_error(700021, "processing")
    )
    outcome = execute_conversion(plan, d.context())
    assert len(outcome.lines) == 23 and {line.status for line in outcome.lines} == {"skipped"}
    for line in outcome.lines:
        assert line.cooldown and line.received_asset == "USDC"
        assert line.error == outcome.cooldown_message
    assert d.dialect.account("main").conversions == []
    assert d.count("POST", SB_EXECUTE) == 1  # the second batch was never sent
    assert len(d.ledger.records(kind="conversion")) == 20  # the first batch only


# -- lost answers ----------------------------------------------------------------------------------


def test_a_lost_answer_found_in_the_dust_log_records_the_logged_amounts(desk: DeskFactory) -> None:
    d = desk()
    plan = d.plan("BNB")
    d.server.faults.add("lose", DUST, calls=1)
    outcome = execute_conversion(plan, d.context(reconcile_window_s=2.0))
    details = d.dialect.account("main").dribblets[0]["userAssetDribbletDetails"]
    logged = {row["fromAsset"]: row for row in details}
    records = d.records()
    for asset, line in by_asset(outcome.lines).items():
        assert (line.status, line.route, line.received_asset) == ("converted", "native", "BNB")
        assert line.fee_asset == "BNB" and records[asset].error is None
        assert line.received == D(logged[asset]["transferedAmount"])
        assert line.fee == D(logged[asset]["serviceChargeAmount"])
        assert line.transfer_id == str(logged[asset]["transId"]) == records[asset].order_id
        assert (line.client_id, line.record_id) == (records[asset].client_id, records[asset].id)
    assert d.count("POST", DUST) == 1


def test_a_lost_answer_with_unreadable_balances_stays_pending_and_says_why(
    desk: DeskFactory,
) -> None:
    d = desk("binance", binance_section(conversion={"log_dust_convert": False}))
    plan = d.plan("USDC")
    after_proof = d.count("GET", ACCOUNT) + 2  # the read right before the send still works
    d.server.faults.add("lose", "/sapi/v1/asset/dust-convert/convert", calls=1)
    down = {"code": -1000, "msg": "An unknown error occurred while processing the request."}
    d.server.faults.add(
        "http", ACCOUNT, calls=range(after_proof, after_proof + 50), status=500, body=down
    )
    outcome = execute_conversion(plan, d.context(reconcile_window_s=2.0))
    for line in outcome.lines:
        assert line.status == "unknown"
        assert (line.error or "").startswith("outcome unknown (binance account 'main'")
        assert "dust-convert/convert" in (line.error or "")
        assert (line.error or "").endswith("); the next run settles it")
    assert {r.status for r in d.records().values()} == {"pending"}
    assert d.free("XRP") == 0  # it did execute: the next run settles it


def test_a_bybit_execute_lost_with_the_history_unreadable_is_found_by_its_quote_id(
    desk: DeskFactory,
) -> None:
    d = desk("bybit", bybit_section(dust(["XRP", "ADA"])))
    plan = d.plan("USDT")
    d.server.faults.add("lose", SB_EXECUTE, calls=1)
    d.server.faults.add("drop", SB_HISTORY, calls=(1, 2, 3))  # the adapter's own look fails
    outcome = execute_conversion(plan, d.context(reconcile_window_s=5.0))
    (executed,) = d.dialect.account("main").conversions
    subs = {s.from_coin: s for s in executed.subs}
    for asset, line in by_asset(outcome.lines).items():
        assert line.status == "converted" and line.client_id == executed.tx_id
        assert (line.received, line.fee) == (subs[asset].to_amount, subs[asset].fee)
    assert d.count("POST", SB_EXECUTE) == 1


def test_a_bybit_execute_that_never_arrived_fails_once_its_quote_is_dead(
    desk: DeskFactory,
) -> None:
    d = desk("bybit", bybit_section(dust(["XRP"])))
    plan = d.plan("USDT")
    d.server.faults.add("drop", SB_EXECUTE, calls=1)
    outcome = execute_conversion(plan, d.context(reconcile_window_s=120.0))
    (line,) = outcome.lines
    record = d.records()["XRP"]
    assert line.status == "failed" and record.status == "failed"
    assert line.amount == record.qty == D(dust(["XRP"])["XRP"])
    assert line.error == (
        f"not converted: the answer was lost and quote {record.client_id} expired with no "
        "record of it"
    )
    assert sum(d.sleeps) < 120  # it stopped asking once the quote was dead
    assert d.count("POST", SB_EXECUTE) == 1 and d.free("XRP") > 0


def test_a_lost_answer_without_the_balance_before_stays_unknown_when_balances_moved(
    desk: DeskFactory,
) -> None:
    """No balance was read before the send, no log shows it, the assets are gone: it cannot be
    proven either way, so it stays pending (never failed, never re-sent)."""
    d = desk("binance", binance_section(conversion={"log_dust_convert": False}))
    plan = d.plan("USDC")
    proof_read = d.count("GET", ACCOUNT) + 1
    down = {"code": -1000, "msg": "An unknown error occurred while processing the request."}
    d.server.faults.add(
        "http", ACCOUNT, calls=range(proof_read, proof_read + 3), status=500, body=down
    )
    d.server.faults.add("lose", "/sapi/v1/asset/dust-convert/convert", calls=1)
    outcome = execute_conversion(plan, d.context(reconcile_window_s=2.0))
    for line in outcome.lines:
        assert line.status == "unknown" and (line.error or "").startswith("outcome unknown (")
    assert {r.status for r in d.records().values()} == {"pending"}
    assert all(r.price is None for r in d.records().values())  # no evidence was kept
    assert d.free("XRP") == 0 and d.count("POST", "/sapi/v1/asset/dust-convert/convert") == 1


def test_a_request_that_never_arrived_says_exactly_why_it_is_failed(desk: DeskFactory) -> None:
    d = desk()
    plan = d.plan("BNB")
    d.server.faults.add("drop", DUST, calls=1)
    outcome = execute_conversion(plan, d.context(reconcile_window_s=1.0))
    for line in outcome.lines:
        assert line.status == "failed"
        assert line.error == (
            "not converted: the answer was lost and the exchange has no record of it and the "
            "balances are intact"
        )


def test_a_failed_log_lookup_is_logged_and_asked_again(
    desk: DeskFactory, caplog: pytest.LogCaptureFixture
) -> None:
    d = desk()
    plan = d.plan("BNB")
    first = d.count("GET", DRIBBLET) + 1
    d.server.faults.add("lose", DUST, calls=1)
    down = {"code": -1000, "msg": "An unknown error occurred while processing the request."}
    d.server.faults.add("http", DRIBBLET, calls=range(first, first + 3), status=500, body=down)
    with caplog.at_level(logging.INFO, logger="dustsweep.convert.evidence"):
        outcome = execute_conversion(plan, d.context(reconcile_window_s=5.0))
    logged = [r.getMessage() for r in caplog.records if r.name == "dustsweep.convert.evidence"]
    assert len(logged) == 1 and logged[0].startswith("looking up a conversion failed: binance")
    assert "unknown error occurred" in logged[0]
    lines = by_asset(outcome.lines)
    assert (lines["XRP"].received, lines["XRP"].fee) == (D("0.00196"), D("0.00004"))
    assert d.count("POST", DUST) == 1


def test_a_conversion_found_at_the_first_look_ends_the_wait(desk: DeskFactory) -> None:
    d = desk()
    plan = d.plan("BNB")
    d.server.faults.add("lose", DUST, calls=1)
    outcome = execute_conversion(plan, d.context(reconcile_window_s=30.0))
    assert {line.status for line in outcome.lines} == {"converted"}
    assert sum(d.sleeps) == 0


def test_the_recorded_amount_is_what_the_exchange_converted(desk: DeskFactory) -> None:
    """XRP grew (still dust) between the preview and the send: the dust conversion takes the
    whole balance, and the history says so."""
    d = desk()
    plan = d.plan("BNB", assets=frozenset({"XRP"}))
    wallet = d.dialect.account("main").wallet
    proof_read = d.count("GET", ACCOUNT) + 1
    d.server.faults.add(
        "action", ACCOUNT, calls=proof_read, action=lambda: wallet.set("XRP", "0.6")
    )
    outcome = execute_conversion(plan, d.context())
    (line,) = outcome.lines
    (row,) = d.dialect.account("main").dribblets[0]["userAssetDribbletDetails"]
    assert line.status == "converted" and line.amount == D(row["amount"])
    assert d.records()["XRP"].qty == D(row["amount"])


# -- Bybit quotes right before the send ----------------------------------------------------------


def test_a_fresh_bybit_quote_is_executed_as_it_is(desk: DeskFactory) -> None:
    d = desk("bybit", bybit_section(dust(["XRP", "ADA"])))
    plan = d.plan("USDT")
    quotes = d.count("POST", SB_QUOTE)
    execute_conversion(plan, d.context())
    (executed,) = d.dialect.account("main").conversions
    assert d.count("POST", SB_QUOTE) == quotes + 1  # the fresh preview, executed as it is
    assert executed.tx_id in d.dialect.small_balance.quotes


def quotes_for_two_batches(desk: DeskFactory, settle_s: float) -> tuple[int, Any]:
    """Quotes asked while converting 23 coins (two batches); the first batch is seen final
    ``settle_s`` seconds after its execution (the adapter's second look)."""
    coins = sorted(s[: -len("USDT")] for s in bids() if s.endswith("USDT"))
    coins = [c for c in coins if c not in {"USDC", "MNT"}][:23]
    d = desk("bybit", bybit_section(dust(coins, "0.2")), conversion_poll_delays=(0.0, settle_s))
    plan = d.plan("USDC")
    quotes = d.count("POST", SB_QUOTE)
    outcome = execute_conversion(plan, d.context())
    assert outcome.status == "converted" and d.count("POST", SB_EXECUTE) == 2
    executed = d.dialect.account("main").conversions
    assert {line.client_id for line in outcome.lines} == {r.tx_id for r in executed}
    return d.count("POST", SB_QUOTE) - quotes, d


def test_a_second_batch_whose_quote_aged_meanwhile_is_quoted_again(desk: DeskFactory) -> None:
    quick, _ = quotes_for_two_batches(desk, 0.01)
    # 27 s: the second batch's quote has 3 s left, too few to send it (the adapter would
    # still take it: it re-quotes only in the last second).
    slow, _ = quotes_for_two_batches(desk, 27.0)
    assert slow == quick + 1


def narrowed_plan(d: Any) -> Any:
    """XRP only, while ADA is held too: the fresh preview quotes both, so XRP alone is quoted
    once more right before the send (the call after the preview's)."""
    plan = d.plan("USDT", assets=frozenset({"XRP"}))
    return plan, d.count("POST", SB_QUOTE) + 2


def test_a_cooldown_refusal_of_the_exact_quote_skips_the_batch(desk: DeskFactory) -> None:
    d = desk("bybit", bybit_section(dust(["XRP", "ADA"])))
    plan, call = narrowed_plan(d)
    refusal = bybit_error(700021, "exist processing exchange order")
    d.server.faults.add("http", SB_QUOTE, calls=call, status=200, body=refusal)
    outcome = execute_conversion(plan, d.context())
    (line,) = outcome.lines
    assert (line.asset, line.status, line.cooldown) == ("XRP", "skipped", True)
    assert line.received_asset == "USDT" and line.error == outcome.cooldown_message
    assert "bybit account 'main': the exchange refuses another" in line.error
    assert "exist processing exchange order" in line.error
    assert outcome.exit_code_hint is ExitCode.NOT_NOW
    assert d.records() == {} and d.count("POST", SB_EXECUTE) == 0


def test_a_refused_exact_quote_fails_the_batch_with_the_exchanges_reason(
    desk: DeskFactory,
) -> None:
    d = desk("bybit", bybit_section(dust(["XRP", "ADA"])))
    plan, call = narrowed_plan(d)
    refusal = bybit_error(700013, "coin does not support convert")
    d.server.faults.add("http", SB_QUOTE, calls=call, status=200, body=refusal)
    outcome = execute_conversion(plan, d.context())
    (line,) = outcome.lines
    assert (line.asset, line.status, line.cooldown) == ("XRP", "failed", False)
    assert line.received_asset == "USDT" and line.amount == D(dust(["XRP"])["XRP"])
    assert "coin does not support convert" in (line.error or "")
    assert not (line.error or "").startswith("could not")
    assert d.records() == {} and d.count("POST", SB_EXECUTE) == 0


def test_an_exact_quote_that_cannot_be_had_fails_the_batch_unsent(desk: DeskFactory) -> None:
    d = desk("bybit", bybit_section(dust(["XRP", "ADA"])))
    plan, call = narrowed_plan(d)
    d.server.faults.add("http", SB_QUOTE, calls=range(call, call + 5), status=502, body=None)
    outcome = execute_conversion(plan, d.context())
    (line,) = outcome.lines
    assert (line.asset, line.status, line.received_asset) == ("XRP", "failed", "USDT")
    assert (line.error or "").startswith("could not get a quote: bybit account 'main'")
    assert d.records() == {} and d.count("POST", SB_EXECUTE) == 0


def test_a_log_that_does_not_name_the_target_is_matched_by_the_assets(desk: DeskFactory) -> None:
    """Binance's documented dust log has no targetAsset: the entry still settles the answer."""
    d = desk()
    plan = d.plan("BNB")
    d.server.faults.add("lose", DUST, calls=1)
    d.server.faults.add("garble", DRIBBLET, field="targetAsset", value="")
    outcome = execute_conversion(plan, d.context(reconcile_window_s=2.0))
    lines = by_asset(outcome.lines)
    assert (lines["XRP"].received, lines["XRP"].fee) == (D("0.00196"), D("0.00004"))
    assert (lines["TRX"].received, lines["TRX"].fee) == (D("0.001813"), D("0.000037"))
    assert d.count("POST", DUST) == 1


def test_a_bybit_cooldown_at_the_preview_skips_everything_unsent(desk: DeskFactory) -> None:
    d = desk("bybit", bybit_section(dust(["XRP", "ADA"]), cooldown_hours=6))
    first, second = (d.plan("USDT", assets=frozenset({a})) for a in ("XRP", "ADA"))
    execute_conversion(first, d.context())
    outcome = execute_conversion(second, d.context())
    (line,) = outcome.lines
    assert (line.asset, line.status, line.cooldown, line.route) == (
        "ADA",
        "skipped",
        True,
        "native",
    )
    assert line.received_asset == "USDT" and line.amount == D(dust(["ADA"])["ADA"])
    assert line.error == outcome.cooldown_message and "try again later" in line.error
    assert outcome.exit_code_hint is ExitCode.NOT_NOW
    assert len(d.dialect.account("main").conversions) == 1


def test_an_asset_no_longer_offered_is_skipped_with_the_reason(desk: DeskFactory) -> None:
    d = desk()
    plan = d.plan("BNB")
    d.dialect.account("main").wallet.set("TRX", "100000")  # now far above the dust ceiling
    outcome = execute_conversion(plan, d.context())
    trx = by_asset(outcome.lines)["TRX"]
    assert (trx.status, trx.route, trx.received_asset) == ("skipped", "native", "BNB")
    assert trx.amount == D("3.7") and "no longer offered" in (trx.error or "")


def test_a_send_refused_for_the_key_fails_once_with_the_reason(desk: DeskFactory) -> None:
    d = desk()
    plan = d.plan("BNB")
    denied = {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
    d.server.faults.add("http", DUST, status=401, body=denied)
    outcome = execute_conversion(plan, d.context())
    lines = by_asset(outcome.lines)
    assert set(lines) == {"XRP", "TRX"}
    records = d.ledger.records(kind="conversion")
    assert len(records) == 2 and d.count("POST", DUST) == 1  # never sent again
    for record in records:
        line = lines[record.asset]
        assert (line.status, record.status) == ("failed", "failed")
        assert "permissions" in (line.error or "") and line.error == record.error
        assert (line.client_id, line.record_id) == (record.client_id, record.id)


def test_a_ban_answered_to_the_send_is_unknown_with_the_batch_named(desk: DeskFactory) -> None:
    d = desk()
    plan = d.plan("BNB")
    ban = {"code": -1003, "msg": "Way too many requests; IP banned until 1999999999999."}
    d.server.faults.add("http_after", DUST, calls=1, status=418, body=ban, retry_after=120)
    outcome = execute_conversion(plan, d.context(reconcile_window_s=2.0))
    records = d.records()
    for asset, line in by_asset(outcome.lines).items():
        assert (line.status, line.route, line.received_asset) == ("unknown", "native", "BNB")
        assert line.client_id == records[asset].client_id
        assert (line.error or "").startswith("outcome unknown (")
    REGISTRY.clear()
