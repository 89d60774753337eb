"""The less travelled paths of one order (sell/order.py), through ``execute_sells``.

Each test drives the real Binance adapter (python-binance) against the simulator with a fault
that sends the order down one path, and checks the outcome's status and reason, the ledger
records and what the exchange ended with. They go through the public ``execute_sells``, so
they hold however the order job is split into modules. Each was written for mutants that
the other sell tests let survive (tests/MUTANTS.md).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal

import pytest

from dustsweep.core.plan import PlannedOrder
from dustsweep.core.policy import Policy
from dustsweep.run.outcome import Status
from dustsweep.sell.execute import execute_sells
from dustsweep.sell.types import SellResult
from dustsweep.storage.ledger import Ledger
from dustsweep.storage.records import LedgerError
from tests.sell.test_execute import Harness, HarnessFactory, by_asset
from tests.sell.test_execute import make_harness as make_harness  # the fixture

QUERY = ("GET", "/api/v3/order")
ACCOUNT = ("GET", "/api/v3/account")
LIMITED = {"code": -1003, "msg": "Too many requests."}
SKEW = {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
INSUFFICIENT = {"code": -2010, "msg": "Account has insufficient balance for requested action."}
FILTER = {"code": -1013, "msg": "Filter failure: NOTIONAL"}
CLOSED = {"code": -2010, "msg": "Market is closed."}


def ada(make: HarnessFactory) -> Harness:
    return make("binance", {"ADA": "12.3456"})


def sell_after_planning(h: Harness, *faults: dict[str, object]) -> SellResult:
    """Plan from the exchange, then inject ``faults`` (so planning reads are untouched) and
    sell, one order at a time."""
    snap, plan = h.plan()
    assert plan.orders
    for fault in faults:
        options = dict(fault)
        h.faults.add(str(options.pop("kind")), str(options.pop("path")), **options)  # type: ignore[arg-type]
    return execute_sells(plan, h.context(snap, concurrency=1))


def statuses(h: Harness) -> list[str]:
    return [r.status for r in h.records()]


def test_a_rate_limit_that_keeps_coming_skips_the_order_after_three_waits(
    make_harness: HarnessFactory,
) -> None:
    h = ada(make_harness)
    h.faults.add("http", h.order_path, method="POST", status=429, body=LIMITED, retry_after=1)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == Status.SKIPPED
    assert outcome.error == "still rate limited by binance after 3 waits"
    assert h.faults.count("POST", h.order_path) == 4  # the first send and three after waits
    assert h.sleep.calls.count(1.0) >= 3
    assert statuses(h) == ["failed"] and h.orders_placed() == 0


def test_a_clock_still_rejected_after_synchronising_skips_the_order(
    make_harness: HarnessFactory,
) -> None:
    h = ada(make_harness)
    h.faults.add("http", h.order_path, method="POST", status=400, body=SKEW)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == Status.SKIPPED and outcome.error is not None
    assert outcome.error.endswith("; the clock is still rejected")
    assert "recvWindow" in outcome.error
    assert h.faults.count("POST", h.order_path) == 2  # once more after measuring the clock
    assert h.faults.count("GET", "/api/v3/time") == 1
    assert statuses(h) == ["failed"] and h.orders_placed() == 0


def test_not_enough_balance_twice_gives_up_with_the_reason(make_harness: HarnessFactory) -> None:
    h = ada(make_harness)
    h.faults.add("http", h.order_path, method="POST", status=400, body=INSUFFICIENT)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == Status.SKIPPED and outcome.error is not None
    assert outcome.error.startswith("still not enough free ADA: ")
    assert "insufficient balance" in outcome.error
    assert h.faults.count("POST", h.order_path) == 2
    assert statuses(h) == ["rejected", "rejected"] and h.free("ADA") == Decimal("12.3456")


def test_balances_unreadable_after_a_balance_refusal_skip_the_order(
    make_harness: HarnessFactory,
) -> None:
    h = ada(make_harness)
    result = sell_after_planning(
        h,
        {
            "kind": "http",
            "path": h.order_path,
            "method": "POST",
            "status": 400,
            "body": INSUFFICIENT,
        },
        {"kind": "http", "path": ACCOUNT[1], "method": "GET", "status": 503},
    )
    [outcome] = result.outcomes
    assert outcome.status == Status.SKIPPED and outcome.error is not None
    assert "; balances could not be read again: " in outcome.error
    refusal, _sep, detail = outcome.error.partition("; balances could not be read again: ")
    assert "insufficient balance" in refusal and "503" in detail
    assert h.faults.count("POST", h.order_path) == 1 and statuses(h) == ["rejected"]


def test_a_filter_refusal_after_fresh_rules_gives_up(make_harness: HarnessFactory) -> None:
    h = ada(make_harness)
    h.faults.add("http", h.order_path, method="POST", status=400, body=FILTER)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == Status.SKIPPED and outcome.error is not None
    assert outcome.error.startswith("still rejected after refreshing the market rules: ")
    assert len(h.refreshes) == 1 and result.rules_refreshed
    assert h.faults.count("POST", h.order_path) == 2
    assert statuses(h) == ["rejected", "rejected"]


def test_rules_that_cannot_be_refreshed_skip_the_order(make_harness: HarnessFactory) -> None:
    h = ada(make_harness)
    result = sell_after_planning(
        h,
        {"kind": "http", "path": h.order_path, "method": "POST", "status": 400, "body": FILTER},
        {"kind": "http", "path": "/api/v3/exchangeInfo", "method": "GET", "status": 503},
    )
    [outcome] = result.outcomes
    assert outcome.status == Status.SKIPPED and outcome.error is not None
    assert "Filter failure: NOTIONAL" in outcome.error
    assert "; market rules could not be refreshed: " in outcome.error
    assert h.faults.count("POST", h.order_path) == 1 and not result.rules_refreshed


def test_an_order_is_sent_at_most_six_times(make_harness: HarnessFactory) -> None:
    """A balance refusal (re-planned on the same market), then "closed" on every market it is
    re-planned onto: the sixth send is the last, though a sixth market is left."""
    quotes = ("USDT", "TUSD", "FDUSD", "BTC", "BNB", "ETH")  # XRP trades into all six
    policy = Policy(quote="USDT", dust_threshold="20", sell_quotes=quotes)
    h = make_harness("binance", {"XRP": "9"}, policy=policy)
    h.faults.add("http", h.order_path, method="POST", calls=1, status=400, body=INSUFFICIENT)
    h.faults.add("http", h.order_path, method="POST", calls=range(2, 9), status=400, body=CLOSED)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == Status.SKIPPED
    assert outcome.error == "gave up after too many attempts"
    assert h.faults.count("POST", h.order_path) == 6
    assert statuses(h) == ["rejected"] * 6
    markets = [r.market for r in h.records()]
    assert markets[0] == markets[1] and len(set(markets)) == 5
    assert h.free("XRP") == Decimal(9)


def test_a_lost_order_with_unreadable_balances_stays_pending(
    make_harness: HarnessFactory,
) -> None:
    h = ada(make_harness)
    result = sell_after_planning(
        h,
        {"kind": "drop", "path": h.order_path, "method": "POST", "calls": 1},
        {"kind": "http", "path": ACCOUNT[1], "method": "GET", "status": 503},
    )
    [outcome] = result.outcomes
    assert outcome.status == Status.UNKNOWN and outcome.error is not None
    cid = outcome.client_order_id
    assert f"; binance did not know order {cid} for 0.5 s, and balances could not be read: " in (
        outcome.error
    )
    assert statuses(h) == ["pending"] and h.faults.count("POST", h.order_path) == 1


def test_a_lost_order_whose_asset_fell_meanwhile_stays_pending(
    make_harness: HarnessFactory,
) -> None:
    h = ada(make_harness)
    h.faults.add("drop", h.order_path, method="POST", calls=1)
    h.faults.add("action", QUERY[1], method="GET", calls=1, action=lambda: h.set_free("ADA", "12"))
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == Status.UNKNOWN and outcome.error is not None
    assert outcome.error.endswith(
        "but the free ADA fell from 12.34560000 to 12.00000000; left pending"
    )
    assert statuses(h) == ["pending"] and h.faults.count("POST", h.order_path) == 1
    assert h.free("ADA") == Decimal(12)


def test_a_lost_order_the_exchange_cannot_be_asked_about_says_so(
    make_harness: HarnessFactory,
) -> None:
    h = ada(make_harness)
    h.faults.add("drop", h.order_path, method="POST", calls=1)
    h.faults.add("http", QUERY[1], method="GET", status=503)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == Status.UNKNOWN and outcome.error is not None
    assert "; the exchange could not be asked (" in outcome.error and "503" in outcome.error
    record = h.records()[0]
    assert record.status == "pending" and record.error == outcome.error


def test_a_lost_order_never_placed_is_resent_once_with_the_reason_recorded(
    make_harness: HarnessFactory,
) -> None:
    h = ada(make_harness)
    h.faults.add("drop", h.order_path, method="POST", calls=1)
    _plan, result = h.execute(concurrency=1)
    outcome = by_asset(result)["ADA"]
    assert outcome.status == Status.FILLED
    first, second = h.records()
    assert first.status == "failed" and second.status == "filled"
    assert first.error is not None and first.error.endswith(
        f"; never placed: binance did not know order {first.client_id} for 0.5 s "
        "and the free ADA did not fall"
    )
    assert second.client_id == f"{first.client_id}-2" == outcome.client_order_id
    assert outcome.residual == Decimal("0.0456") and h.free("ADA") == Decimal("0.0456")


# ---------------------------------------------------------------------------- second round


def test_a_retry_after_equal_to_the_bound_is_waited_out(make_harness: HarnessFactory) -> None:
    h = ada(make_harness)
    h.faults.add(
        "http", h.order_path, method="POST", calls=1, status=429, body=LIMITED, retry_after=3
    )
    _plan, result = h.execute(concurrency=1, max_rate_wait_s=3.0)
    [outcome] = result.outcomes
    assert outcome.status == Status.FILLED and 3.0 in h.sleep.calls
    assert h.faults.count("POST", h.order_path) == 2 and statuses(h) == ["filled"]


def test_a_rate_limited_order_that_cannot_be_checked_keeps_the_429_as_its_reason(
    make_harness: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    h = ada(make_harness)
    h.faults.add("http", h.order_path, method="POST", calls=1, status=429, body=LIMITED)
    h.faults.add("http", QUERY[1], method="GET", status=503)
    with caplog.at_level(logging.INFO, logger="dustsweep.sell.order"):
        _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == Status.UNKNOWN and outcome.error is not None
    reason, _sep, rest = outcome.error.partition("; the exchange could not be asked (")
    assert "Too many requests." in reason and "429" in reason and "503" in rest
    assert statuses(h) == ["pending"] and h.faults.count("POST", h.order_path) == 1
    cid = outcome.client_order_id
    assert f"rate limited; waiting 1.0 s before checking {cid}" in caplog.messages


def test_a_partial_fill_outcome_names_the_order_record_and_shortfall(
    make_harness: HarnessFactory,
) -> None:
    h = ada(make_harness)
    h.dialect.market.set_liquidity("ADAUSDT", "10")
    _plan, result = h.execute(concurrency=1)
    outcome = by_asset(result)["ADA"]
    [record] = h.records()
    assert outcome.status == Status.PARTIALLY_FILLED
    assert outcome.qty == Decimal("12.3") and outcome.filled_qty == Decimal(10)
    assert outcome.error == "only 10.00000000 filled (not enough liquidity)"
    assert outcome.order_id == record.order_id is not None and outcome.record_id == record.id
    assert outcome.residual == Decimal("2.3456") and h.free("ADA") == Decimal("2.3456")


def test_an_order_refused_for_another_reason_keeps_its_id_and_record(
    make_harness: HarnessFactory,
) -> None:
    h = ada(make_harness)
    other = {"code": -2010, "msg": "This action is disabled on this account."}
    h.faults.add("http", h.order_path, method="POST", status=400, body=other)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    [record] = h.records()
    assert outcome.status == Status.REJECTED and record.status == "rejected"
    assert outcome.client_order_id == record.client_id and outcome.record_id == record.id


def test_markets_found_closed_stay_excluded_after_a_later_refusal(
    make_harness: HarnessFactory,
) -> None:
    """Closed on its best market, then a balance or a filter refusal on the next: the re-plan
    after that must not go back to the closed market."""
    for second in (INSUFFICIENT, FILTER):
        h = ada(make_harness)
        h.faults.add("http", h.order_path, method="POST", calls=1, status=400, body=CLOSED)
        h.faults.add("http", h.order_path, method="POST", calls=2, status=400, body=second)
        _plan, result = h.execute(concurrency=1)
        outcome = by_asset(result)["ADA"]
        markets = [r.market for r in h.records() if r.asset == "ADA"]
        assert outcome.status == Status.FILLED, outcome
        assert len(markets) == 3 and markets[0] not in markets[1:], markets


def test_a_re_plan_that_finds_nothing_says_which_refusal_led_to_it(
    make_harness: HarnessFactory,
) -> None:
    # The asset is gone when the order arrives: refused, read again, nothing left to sell.
    h = ada(make_harness)
    h.faults.add(
        "action", h.order_path, method="POST", calls=1, action=lambda: h.set_free("ADA", 0)
    )
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == Status.SKIPPED and outcome.error is not None
    assert outcome.error.startswith("no free ADA left (after: ")
    assert "insufficient balance" in outcome.error
    assert h.faults.count("POST", h.order_path) == 1
    # A --to run re-plans only into its own quote: none is left after the market closed.
    h = ada(make_harness)
    h.faults.add("http", h.order_path, method="POST", status=400, body=CLOSED)
    _plan, result = h.execute(concurrency=1, sell_quotes=("USDT",))
    [outcome] = result.outcomes
    assert outcome.status == Status.SKIPPED and outcome.error is not None
    assert outcome.error.startswith("no market into USDT (after: ") and "closed" in outcome.error
    assert h.faults.count("POST", h.order_path) == 1


def test_rules_refreshed_by_one_order_re_plan_the_next_before_it_is_sent(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456", "XRP": "3"})

    def change_rules() -> None:  # XRP (the smaller value) goes first and is refused
        h.dialect.set_symbol("XRPUSDT", filters={"NOTIONAL": {"minNotional": "1000"}})
        h.dialect.set_symbol("ADAUSDT", filters={"LOT_SIZE": {"stepSize": "2"}})

    h.faults.add("action", h.order_path, method="POST", calls=1, action=change_rules)
    _plan, result = h.execute(concurrency=1)
    outcomes = by_asset(result)
    assert result.rules_refreshed and len(h.refreshes) == 1
    assert next(r.status for r in h.records() if r.asset == "XRP") == "rejected"
    ada_records = [r for r in h.records() if r.asset == "ADA"]
    assert outcomes["ADA"].status == Status.FILLED
    # Re-planned to the new step before it was sent: never refused.
    # (ADAUSDT now sells only 12 of it, another market sells 12.3).
    assert [r.status for r in ada_records] == ["filled"] and ada_records[0].market != "ADAUSDT"


def test_a_lost_order_found_still_open_stays_pending_with_its_order_id(
    make_harness: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """The send was lost, but the exchange shows an open order under its id (a resting order,
    as a market order never is): unknown, with the order's id, and every field of the plan."""
    h = ada(make_harness)
    cid = "ds-0123456789-ADA"
    rest = lambda: h.dialect.open_order("main", "ADAUSDT", "SELL", "12.3", "9", cid)  # noqa: E731
    h.faults.add("action", h.order_path, method="POST", calls=1, action=rest)
    h.faults.add("drop", h.order_path, method="POST", calls=1)
    snap, plan = h.plan()
    with caplog.at_level(logging.INFO, logger="dustsweep.sell.order"):
        result = execute_sells(plan, h.context(snap, concurrency=1, run_token="0123456789"))
    [outcome] = result.outcomes
    [record] = h.records()
    [resting] = h.dialect.account("main").orders
    assert outcome.status == Status.UNKNOWN and outcome.client_order_id == cid
    assert outcome.error is not None and outcome.error.endswith("; the order is still new")
    assert outcome.order_id == str(resting.order_id) == record.order_id
    assert (outcome.asset, outcome.market, outcome.qty) == ("ADA", "ADAUSDT", Decimal("12.3"))
    assert outcome.residual == Decimal("12.3456") and outcome.quote_asset == "USDT"
    assert outcome.followup is False and outcome.record_id == record.id
    assert record.status == "pending" and record.error == outcome.error
    reason = outcome.error.removesuffix("; the order is still new")
    assert f"{cid}: outcome unknown ({reason}); asking the exchange" in caplog.messages


def test_a_dry_run_outcome_is_the_plan_order(make_harness: HarnessFactory) -> None:
    from dustsweep.sell.execute import planned_outcomes

    h = make_harness("binance", {"ADA": "12.3456", "XRP": "3"})
    _snap, plan = h.plan()
    outcomes = planned_outcomes(plan)
    assert len(outcomes) == len(plan.orders) == 2
    for order, outcome in zip(plan.orders, outcomes, strict=True):
        assert outcome.status == Status.PLANNED
        assert (outcome.asset, outcome.market, outcome.qty) == (
            order.asset,
            order.symbol,
            order.qty,
        )
        assert (outcome.proceeds, outcome.fee) == (order.expected_proceeds, order.est_fee)
        assert outcome.fee_asset == outcome.quote_asset == order.quote_asset
        assert outcome.residual == order.residual
    assert h.orders_sent() == 0


def test_a_received_quote_too_small_to_sell_on_is_noted(make_harness: HarnessFactory) -> None:
    h = ada(make_harness)
    h.dialect.set_symbol("ADAUSDT", status="HALT")  # ADA goes to another quote
    _snap, plan = h.plan()
    assert plan.orders[0].quote_asset != "USDT"
    quote = plan.orders[0].quote_asset
    # Raise the minimum of every market of the received quote out of reach.
    for symbol, rules in h.snapshot().markets.items():
        if rules.base == quote:
            h.dialect.set_symbol(symbol, filters={"NOTIONAL": {"minNotional": "100000"}})
    snap, plan = h.plan()
    assert plan.orders[0].quote_asset == quote
    result = execute_sells(plan, h.context(snap, concurrency=1))
    assert by_asset(result)["ADA"].status == Status.FILLED and not result.followups
    free = h.free(quote)
    assert f"{quote} received ({format(free, 'f')} free) is not sold on into USDT: " in (
        "\n".join(result.notes)
    )
    assert any(n.endswith("too small for its markets, kept, or no market") for n in result.notes)


class FailingLedger(Ledger):
    """Cannot record a filled order: raises ``error`` instead."""

    error: Exception = LedgerError("history.sqlite3: database or disk is full")

    def update(self, record_id: int, **changes: object) -> None:
        if changes.get("status") == "filled":
            raise self.error
        super().update(record_id, **changes)


class BrokenLedger(FailingLedger):
    error = RuntimeError("boom")


@pytest.mark.parametrize(
    ("ledger_class", "reason"),
    [
        (FailingLedger, "history.sqlite3: database or disk is full"),
        (BrokenLedger, "internal error: boom"),
    ],
)
def test_an_order_that_cannot_be_recorded_stays_pending_and_stops_the_run_only_for_the_history(
    make_harness: HarnessFactory, ledger_class: type[FailingLedger], reason: str
) -> None:
    h = make_harness("binance", {"ADA": "12.3456", "XRP": "3"})
    snap, plan = h.plan()
    ledger = ledger_class(h.ledger.path)
    try:
        result = execute_sells(plan, h.context(snap, concurrency=1, ledger=ledger, followup=False))
    finally:
        ledger.close()
    first, second = result.outcomes  # XRP (the smaller value) went first
    assert first.asset == "XRP" and first.status == Status.UNKNOWN
    assert first.error == f"{reason}; its ledger record stays pending for the next run"
    assert first.market == "XRPUSDT" and first.qty == Decimal(3)
    assert first.residual == Decimal(3) and first.quote_asset == "USDT"
    assert first.client_order_id is not None and first.record_id is not None
    assert h.free("XRP") == 0  # it did sell: the next run settles the pending record
    if ledger_class is FailingLedger:  # the history cannot record: nothing more is sent
        assert second.status == Status.SKIPPED and second.error == reason
        assert h.free("ADA") == Decimal("12.3456") and h.orders_placed() == 1
    else:  # one order's bug is that order's outcome; the others go on
        assert second.asset == "ADA" and second.error is not None
        assert h.orders_placed() == 2


BYBIT_QUERY = ("GET", "/v5/order/realtime")


def test_an_order_accepted_but_not_yet_final_is_read_back(make_harness: HarnessFactory) -> None:
    """Bybit answers a new order with its ids only, and the adapter's own read-back failed:
    the order job reads it back itself."""
    h = make_harness("bybit", {"XRP": "3"})
    h.faults.add("http", BYBIT_QUERY[1], method="GET", calls=(1, 2, 3), status=503)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    [record] = h.records()
    assert outcome.status == Status.FILLED and outcome.filled_qty == Decimal(3)
    assert record.status == "filled" and h.orders_placed() == 1 and h.free("XRP") == 0


def test_an_order_accepted_that_cannot_be_read_back_stays_pending(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("bybit", {"XRP": "3"})
    h.faults.add("http", BYBIT_QUERY[1], method="GET", status=503)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    [record] = h.records()
    assert outcome.status == Status.UNKNOWN
    assert outcome.error == f"order {outcome.client_order_id} was accepted but is still new"
    assert outcome.order_id is not None and outcome.order_id == record.order_id
    assert record.status == "pending" and h.orders_placed() == 1


def test_a_lost_order_whose_asset_another_unsettled_order_touches_stays_pending(
    make_harness: HarnessFactory,
) -> None:
    """ADA -> BTC is lost and cannot be checked (unknown: ADA and BTC stay "in flight"); then
    BTC -> USDT is lost too. The exchange does not know it, but BTC's balance proves nothing
    while the first order may still credit BTC: pending, never re-sent."""
    policy = Policy(quote="USDT", dust_threshold="20", sell_quotes=("USDT", "BTC"))
    h = make_harness("binance", {"ADA": "15", "BTC": "0.00015"}, policy=policy)
    h.dialect.set_symbol("ADAUSDT", status="HALT")
    snap, plan = h.plan()
    assert [(o.asset, o.quote_asset) for o in plan.orders] == [("ADA", "BTC"), ("BTC", "USDT")]
    h.faults.add("drop", h.order_path, method="POST", calls=(1, 2))
    h.faults.add("http", QUERY[1], method="GET", calls=range(1, 10), status=503)  # ADA's checks
    result = execute_sells(plan, h.context(snap, concurrency=1, followup=False))
    ada_outcome, btc_outcome = result.outcomes
    assert ada_outcome.status == btc_outcome.status == Status.UNKNOWN
    assert ada_outcome.error is not None and "could not be asked" in ada_outcome.error
    assert btc_outcome.error is not None and btc_outcome.error.endswith(
        ", but other orders of this run moved BTC meanwhile, so its balance proves nothing; "
        "left pending for the next run"
    )
    assert f"did not know order {btc_outcome.client_order_id} for " in btc_outcome.error
    assert statuses(h) == ["pending", "pending"] and h.faults.count("POST", h.order_path) == 2


def test_a_re_plan_after_fresh_rules_that_finds_nothing_says_which_refusal_led_to_it(
    make_harness: HarnessFactory,
) -> None:
    h = ada(make_harness)
    symbols = [s for s, r in h.snapshot().markets.items() if r.base == "ADA"]

    def raise_minimums() -> None:
        for symbol in symbols:
            h.dialect.set_symbol(symbol, filters={"NOTIONAL": {"minNotional": "100000"}})

    h.faults.add("action", h.order_path, method="POST", calls=1, action=raise_minimums)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == Status.SKIPPED and outcome.error is not None
    _why, _sep, after = outcome.error.partition(" (after: ")
    assert "NOTIONAL" in after and after.endswith(")") and len(h.refreshes) == 1


def test_a_follow_up_that_is_refused_is_reported_as_a_follow_up(
    make_harness: HarnessFactory,
) -> None:
    policy = Policy(quote="USDT", sell_quotes=("USDT", "BNB"))
    h = make_harness("binance", {"ADA": "12.3456"}, policy=policy)
    h.dialect.set_symbol("ADAUSDT", status="HALT")
    other = {"code": -2010, "msg": "This action is disabled on this account."}
    h.faults.add("http", h.order_path, method="POST", calls=2, status=400, body=other)
    _plan, result = h.execute(concurrency=1)
    assert by_asset(result)["ADA"].status == Status.FILLED
    [followup] = result.followups
    assert followup.asset == "BNB" and followup.status == Status.REJECTED and followup.followup


# ---------------------------------------------------------------------------- third round


def ada_into(make: HarnessFactory, *quotes: str, **kw: object) -> Harness:
    """ADA that can only be sold into ``quotes`` (its USDT market is halted)."""
    policy = Policy(quote="USDT", sell_quotes=("USDT", *quotes), **kw)  # type: ignore[arg-type]
    h = make("binance", {"ADA": "12.3456"}, policy=policy)
    h.dialect.set_symbol("ADAUSDT", status="HALT")
    return h


def test_a_duplicate_id_never_found_is_settled_like_a_lost_order(
    make_harness: HarnessFactory,
) -> None:
    h = ada(make_harness)
    duplicate = {"code": -2010, "msg": "Duplicate order sent."}
    h.faults.add("http", h.order_path, method="POST", calls=1, status=400, body=duplicate)
    _plan, result = h.execute(concurrency=1)
    assert by_asset(result)["ADA"].status == Status.FILLED
    first, second = h.records()
    assert first.status == "failed" and second.status == "filled"
    assert first.error is not None and first.error.startswith("binance account")
    reason, _sep, proof = first.error.partition("; never placed: ")
    assert "Duplicate order sent." in reason and proof.endswith("and the free ADA did not fall")


def test_a_refusal_of_no_known_kind_is_rejected_with_its_message(
    make_harness: HarnessFactory,
) -> None:
    h = ada(make_harness)
    refused = {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
    h.faults.add("http", h.order_path, method="POST", status=401, body=refused)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    [record] = h.records()
    assert outcome.status == Status.REJECTED and record.status == "rejected"
    assert outcome.error is not None and "Invalid API-key" in outcome.error
    assert record.error == outcome.error and h.faults.count("POST", h.order_path) == 1


def test_the_reason_of_a_lost_order_is_the_network_failure(make_harness: HarnessFactory) -> None:
    h = ada(make_harness)
    h.faults.add("drop", h.order_path, method="POST", calls=1)
    h.faults.add("http", QUERY[1], method="GET", status=503)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.error is not None
    reason = outcome.error.partition("; the exchange could not be asked (")[0]
    assert "POST /api/v3/order" in reason and outcome.client_order_id in reason


def test_follow_ups_are_not_attempted_when_balances_cannot_be_read(
    make_harness: HarnessFactory,
) -> None:
    h = ada_into(make_harness, "BNB")
    snap, plan = h.plan()
    h.faults.add("http", ACCOUNT[1], method="GET", status=503)
    result = execute_sells(plan, h.context(snap, concurrency=1))
    assert by_asset(result)["ADA"].status == Status.FILLED and not result.followups
    [note] = result.notes
    assert note.startswith("follow-up sale of BNB not attempted: ") and "503" in note


def test_follow_ups_are_not_attempted_once_the_run_is_stopped(
    make_harness: HarnessFactory,
) -> None:
    """ADA is sold into BNB, then the next order meets a ban: the BNB is not sold on."""
    policy = Policy(quote="USDT", sell_quotes=("USDT", "BNB"))
    h = make_harness("binance", {"ADA": "12.3456", "XRP": "4"}, policy=policy)
    h.dialect.set_symbol("ADAUSDT", status="HALT")
    h.faults.ban(418, path=h.order_path, method="POST", call=2, retry_after=120)
    _plan, result = h.execute(concurrency=1)
    assert by_asset(result)["ADA"].status == Status.FILLED and not result.followups
    [note] = [n for n in result.notes if n.startswith("follow-up sale of ")]
    assert note.startswith("follow-up sale of BNB not attempted: IP banned by binance until ")


def test_follow_ups_never_sell_what_the_user_keeps(make_harness: HarnessFactory) -> None:
    h = ada_into(make_harness, "BNB")
    _plan, result = h.execute(concurrency=1, never_sell=frozenset({"BNB"}))
    assert by_asset(result)["ADA"].status == Status.FILLED and not result.followups
    assert h.free("BNB") > 0
    assert any(n.startswith("BNB received (") for n in result.notes)


def test_follow_ups_pass_the_callers_check(make_harness: HarnessFactory) -> None:
    h = ada_into(make_harness, "BNB")
    _plan, result = h.execute(concurrency=1, vet=lambda order: f"{order.symbol} vetoed")
    assert not result.followups
    assert "follow-up sale of BNB not attempted: BNBUSDT vetoed" in result.notes
    h = ada_into(make_harness, "BNB")
    checked: list[str] = []

    def halve(order: PlannedOrder) -> PlannedOrder:
        checked.append(order.asset)
        return replace(order, qty=Decimal("0.010"))

    _plan, result = h.execute(concurrency=1, vet=halve)
    [followup] = result.followups
    assert checked == ["BNB"] and followup.status == Status.FILLED
    assert followup.filled_qty == Decimal("0.010")


def test_no_follow_ups_when_the_context_says_so(make_harness: HarnessFactory) -> None:
    h = ada_into(make_harness, "BNB")
    _plan, result = h.execute(concurrency=1, followup=False)
    assert by_asset(result)["ADA"].status == Status.FILLED
    assert not result.followups and result.notes == [] and h.free("BNB") > 0


def test_a_follow_up_is_re_planned_only_into_the_policys_quote(
    make_harness: HarnessFactory,
) -> None:
    h = ada_into(make_harness, "BNB", "BTC")
    h.faults.add("http", h.order_path, method="POST", calls=2, status=400, body=CLOSED)
    _plan, result = h.execute(concurrency=1)
    [followup] = result.followups
    assert followup.status == Status.SKIPPED and followup.error is not None
    assert followup.error.startswith("no market into USDT (after: ")
    assert h.faults.count("POST", h.order_path) == 2


def test_the_lookup_after_a_lost_order_fixes_the_clock_and_bounds_rate_waits(
    make_harness: HarnessFactory,
) -> None:
    h = ada(make_harness)
    h.faults.add("drop", h.order_path, method="POST", calls=1)
    h.faults.add("http", QUERY[1], method="GET", calls=1, status=400, body=SKEW)
    h.faults.add("http", QUERY[1], method="GET", calls=2, status=429, body=LIMITED, retry_after=60)
    _plan, result = h.execute(concurrency=1, max_rate_wait_s=3.0)
    assert by_asset(result)["ADA"].status == Status.FILLED  # confirmed never placed, sent again
    assert h.faults.count("GET", "/api/v3/time") == 1
    assert 3.0 in h.sleep.calls and 60.0 not in h.sleep.calls and 30.0 not in h.sleep.calls
    assert [r.status for r in h.records()] == ["failed", "filled"]


def test_an_order_whose_fresh_rules_leave_nothing_to_sell_is_skipped_before_sending(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456", "XRP": "3"})
    symbols = [s for s, r in h.snapshot().markets.items() if r.base in {"ADA", "XRP"}]

    def raise_minimums() -> None:  # XRP goes first, is refused, and the rules are refreshed
        for symbol in symbols:
            h.dialect.set_symbol(symbol, filters={"NOTIONAL": {"minNotional": "100000"}})

    h.faults.add("action", h.order_path, method="POST", calls=1, action=raise_minimums)
    _plan, result = h.execute(concurrency=1)
    outcome = by_asset(result)["ADA"]
    assert outcome.status == Status.SKIPPED and outcome.error is not None
    assert "minNotional" in outcome.error and outcome.client_order_id is None
    assert [r.asset for r in h.records()] == ["XRP"]  # ADA was never sent
