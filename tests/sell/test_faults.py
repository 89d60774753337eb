"""The sell executor under faults: each checks what happened on the exchange, not just words.

Faults fire by call count and orders run concurrently, so no test assumes which asset is hit:
assertions are about "exactly one", "every asset sold once", "no balance sold twice".
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest

from dustsweep.exchanges.bans import REGISTRY
from dustsweep.sell.execute import FILLED, REJECTED, SKIPPED, UNKNOWN, reconcile_pending
from dustsweep.storage.state import RulesCache
from tests.sell import test_execute as base
from tests.sell.test_execute import Harness, HarnessFactory, by_asset, reconcile_ctx

make_harness = base.make_harness  # the shared fixture

BINANCE_BALANCES = {"ADA": "12.3456", "XRP": "3", "DOT": "2"}
BINANCE_LEFT = {"ADA": Decimal("0.0456"), "XRP": Decimal(0), "DOT": Decimal(0)}
BYBIT_BALANCES = {"ADA": "5.555", "DOT": "1.2345", "XRP": "3"}
BYBIT_LEFT = {"ADA": Decimal("0.005"), "DOT": Decimal("0.0005"), "XRP": Decimal(0)}


def setup(make_harness: HarnessFactory, exchange: str, **kw: Any) -> Harness:
    balances = BINANCE_BALANCES if exchange == "binance" else BYBIT_BALANCES
    return make_harness(exchange, dict(balances), **kw)


def assert_each_sold_once(h: Harness, extra: dict[str, Decimal] | None = None) -> None:
    """The exchange side after a run where every order should have filled exactly once."""
    left = BINANCE_LEFT if h.name == "binance" else BYBIT_LEFT
    for asset, amount in left.items():
        assert h.free(asset) == amount + (extra or {}).get(asset, Decimal(0)), asset
    assert h.orders_placed() == len(left)


def top_up(h: Harness, plan: Any) -> dict[str, Decimal]:
    """After planning, the account gets as much again of each asset, so an order sent twice
    would really execute twice (instead of failing for lack of balance) and show up."""
    extra = {order.asset: order.qty for order in plan.orders}
    for asset, qty in extra.items():
        h.set_free(asset, h.free(asset) + qty)
    return extra


def filled_records(h: Harness) -> list[Any]:
    return [r for r in h.records() if r.status == "filled"]


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
@pytest.mark.parametrize("kind", ["drop", "http"])
def test_failure_before_processing_is_confirmed_then_resent_once(
    make_harness: HarnessFactory, exchange: str, kind: str
) -> None:
    h = setup(make_harness, exchange)
    extra = {"status": 503, "body": {"code": -1000, "msg": "unavailable"}} if kind == "http" else {}
    h.faults.add(kind, h.order_path, method="POST", calls=1, **extra)
    _plan, result = h.execute()
    assert all(o.status == FILLED for o in result.outcomes), result.outcomes
    assert_each_sold_once(h)
    # Exactly one order needed a second id, after the first was confirmed never placed.
    resent = [o for o in result.outcomes if (o.client_order_id or "").endswith("-2")]
    assert len(resent) == 1
    failed = [r for r in h.records() if r.status == "failed"]
    assert len(failed) == 1 and failed[0].asset == resent[0].asset
    assert failed[0].error is not None and "never placed" in failed[0].error
    assert len(filled_records(h)) == 3
    assert h.ledger.pending(h.name, "main") == []


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_response_lost_after_execution_is_reconciled_not_resent(
    make_harness: HarnessFactory, exchange: str
) -> None:
    h = setup(make_harness, exchange)
    snap, plan = h.plan()
    extra = top_up(h, plan)
    h.faults.add("lose", h.order_path, method="POST", calls=2)
    result = execute_with(h, snap, plan)
    assert all(o.status == FILLED for o in result.outcomes), result.outcomes
    assert not any((o.client_order_id or "").endswith("-2") for o in result.outcomes)
    assert_each_sold_once(h, extra)
    assert len(filled_records(h)) == 3 and len(h.records()) == 3


def test_timeout_while_the_exchange_still_executes_is_not_sold_twice(
    make_harness: HarnessFactory,
) -> None:
    # The client gives up after 0.3 s; the exchange holds the order until the client's first
    # look-up, then executes it. Not found at first is not proof: the executor keeps asking
    # until the order shows up. (Ordered by events, not by wall-clock delays.)
    h = setup(make_harness, "binance", timeout=0.3, sleep_cap=0.05)
    snap, plan = h.plan()
    extra = top_up(h, plan)
    asked = threading.Event()
    h.faults.add("action", h.order_path, method="POST", calls=1, action=lambda: asked.wait(60))
    h.faults.add("action", "/api/v3/order", method="GET", calls=1, action=asked.set)
    try:
        result = execute_with(h, snap, plan, reconcile_window_s=30.0)
    finally:
        asked.set()
    assert all(o.status == FILLED for o in result.outcomes), result.outcomes
    assert_each_sold_once(h, extra)
    assert len(h.records()) == 3


def test_order_query_lag_after_a_lost_answer_is_waited_out(
    make_harness: HarnessFactory,
) -> None:
    # Binance answers -2013 for 300 ms after accepting an order.
    h = setup(make_harness, "binance", scenario={"order_query_lag_ms": 300}, sleep_cap=0.1)
    snap, plan = h.plan()
    extra = top_up(h, plan)
    h.faults.add("lose", h.order_path, method="POST", calls=1)
    result = execute_with(h, snap, plan, reconcile_window_s=5.0)
    assert all(o.status == FILLED for o in result.outcomes), result.outcomes
    assert_each_sold_once(h, extra)
    assert h.faults.count("GET", "/api/v3/order") >= 2  # "not found" first, then found
    assert len(h.sleep.calls) >= 2


def test_lag_longer_than_the_window_leaves_the_order_pending_for_the_next_run(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"}, scenario={"order_query_lag_ms": 60_000})
    h.faults.add("lose", h.order_path, method="POST", calls=1)
    _plan, result = h.execute(reconcile_window_s=0.3)
    [outcome] = result.outcomes
    # Not found for the whole window, but the free ADA fell: never resent.
    assert outcome.status == UNKNOWN
    assert outcome.error is not None and "fell" in outcome.error
    assert h.orders_sent() == 1 and h.free("ADA") == Decimal("0.0456")
    [pending] = h.ledger.pending(h.name, "main")
    assert pending.client_id == outcome.client_order_id
    # The next run settles it once the exchange shows it.
    h.dialect.order_query_lag_ms = 0
    [settled] = reconcile_pending(reconcile_ctx(h))
    assert settled.status == FILLED and settled.filled_qty == Decimal("12.3")
    assert h.ledger.pending(h.name, "main") == [] and h.orders_sent() == 1


@pytest.mark.parametrize(
    ("filters", "rule"),
    [
        ({"NOTIONAL": {"minNotional": "1000"}}, "minNotional"),
        ({"LOT_SIZE": {"minQty": "100"}, "MARKET_LOT_SIZE": None}, "minQty"),
    ],
)
def test_rules_changed_underneath_refresh_once_then_skip_with_reason(
    make_harness: HarnessFactory, filters: dict[str, Any], rule: str
) -> None:
    h = setup(make_harness, "binance")
    snap, plan = h.plan()
    symbols = [r.symbol for r in snap.markets.values() if r.base in BINANCE_BALANCES]

    def raise_minimums() -> None:  # on every market of these assets: no way out
        for symbol in symbols:
            h.dialect.set_symbol(symbol, filters=filters)

    h.faults.add("action", h.order_path, method="POST", calls=1, action=raise_minimums)
    before = h.faults.count("GET", "/api/v3/exchangeInfo")
    result = execute_with(h, snap, plan)
    assert len(h.refreshes) == 1  # refreshed once for the whole run
    assert h.faults.count("GET", "/api/v3/exchangeInfo") == before + 1
    assert result.rules_refreshed
    skipped = [o for o in result.outcomes if o.status == SKIPPED]
    assert skipped, result.outcomes
    for outcome in result.outcomes:
        assert outcome.status in {FILLED, SKIPPED}
        if outcome.status == SKIPPED:
            assert outcome.error is not None and rule in outcome.error
            assert h.free(outcome.asset) == Decimal(BINANCE_BALANCES[outcome.asset])
    # The refreshed rules went back to the on-disk cache for the next run.
    cached = RulesCache(h.cache.directory).load("binance", h.url, ttl_s=3600)
    assert cached is not None
    fresh = {r.symbol: r for r in cached}
    if rule == "minNotional":
        assert fresh["ADAUSDT"].min_notional == Decimal(1000)
    else:
        assert fresh["ADAUSDT"].min_qty == Decimal(100)
    assert h.ledger.pending(h.name, "main") == []


def test_balance_changed_underneath_is_read_again_and_replanned(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456", "DOT": "2"})
    lowered = {"ADA": Decimal("10.05"), "DOT": Decimal("1.5")}

    def spend_some() -> None:  # another app sold part of each balance
        for asset, amount in lowered.items():
            if h.free(asset) > amount:
                h.set_free(asset, amount)

    h.faults.add("action", h.order_path, method="POST", calls=1, action=spend_some)
    _plan, result = h.execute()
    outcomes = by_asset(result)
    assert all(o.status == FILLED for o in outcomes.values()), result.outcomes
    rejected = [r for r in h.records() if r.status == "rejected"]
    assert rejected, "at least the first order met the changed balance"
    for record in rejected:
        replanned = outcomes[record.asset]
        assert replanned.client_order_id == f"{record.client_id}-2"
        assert replanned.filled_qty < (record.qty or 0)
    assert h.free("ADA") in {Decimal("0.05"), Decimal("0.0456")}
    assert h.free("DOT") in {Decimal(0)}


def test_symbol_halted_underneath_is_sold_on_another_market(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})

    def halt() -> None:
        h.dialect.set_symbol("ADAUSDT", status="HALT")

    h.faults.add("action", h.order_path, method="POST", calls=1, action=halt)
    _plan, result = h.execute()
    outcome = by_asset(result)["ADA"]
    assert outcome.status == FILLED and outcome.market != "ADAUSDT"
    assert h.free("ADA") == Decimal("0.0456")
    statuses = [(r.market, r.status) for r in h.records() if r.asset == "ADA"]
    assert statuses == [("ADAUSDT", "rejected"), (outcome.market, "filled")]


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_rate_limit_waits_retry_after_checks_then_retries(
    make_harness: HarnessFactory, exchange: str
) -> None:
    h = setup(make_harness, exchange)
    body = {"code": -1003, "msg": "Too many requests."} if exchange == "binance" else None
    h.faults.add("http", h.order_path, method="POST", calls=1, status=429, retry_after=3, body=body)
    _plan, result = h.execute()
    assert all(o.status == FILLED for o in result.outcomes), result.outcomes
    assert 3.0 in h.sleep.calls  # waited as long as the exchange asked
    assert_each_sold_once(h)
    # Same client id after a 429 (nothing was processed), one record per asset.
    assert not any((o.client_order_id or "").endswith("-2") for o in result.outcomes)
    assert len(h.records()) == 3


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_ban_stops_placing_orders_at_once(make_harness: HarnessFactory, exchange: str) -> None:
    h = setup(make_harness, exchange)
    status = 418 if exchange == "binance" else 403
    body = {"code": -1003, "msg": "Way too much request weight used; IP banned."}
    h.faults.add("http", h.order_path, method="POST", status=status, retry_after=120, body=body)
    _plan, result = h.execute(concurrency=2)
    assert result.banned is not None and f"IP banned by {exchange} until" in result.banned
    # Issue 9: an order answered with a ban may have executed: unknown (pending), never
    # "failed"; the orders not yet sent are skipped.
    sent = h.faults.count("POST", h.order_path)
    assert sent <= 2  # only what was in flight at the ban
    unknown = [o for o in result.outcomes if o.status == UNKNOWN]
    assert len(unknown) == sent
    assert all(o.status in (SKIPPED, UNKNOWN) for o in result.outcomes)
    assert all(result.banned in (o.error or "") for o in result.outcomes)
    left = BINANCE_BALANCES if exchange == "binance" else BYBIT_BALANCES
    assert all(h.free(a) == Decimal(v) for a, v in left.items())
    pending = h.ledger.pending(h.name, "main")
    assert sorted(r.asset for r in pending) == sorted(o.asset for o in unknown)


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_a_ban_answered_after_the_order_executed_is_unknown_then_settled(
    make_harness: HarnessFactory, exchange: str
) -> None:
    """Issue 9: the order went through, the answer is a ban: pending, never "failed"; the
    next run finds the fill by its client id and records it."""
    h = make_harness(exchange, {"ADA": "12.3456"} if exchange == "binance" else {"XRP": "3"})
    status = 418 if exchange == "binance" else 403
    h.faults.add("http_after", h.order_path, method="POST", status=status, retry_after=60)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    assert outcome.status == UNKNOWN and result.banned is not None
    [record] = h.ledger.pending(h.name, "main")
    assert h.faults.count("POST", h.order_path) == 1
    REGISTRY.clear()  # the next run comes after the ban ended (a ban is process-wide)
    [settled] = reconcile_pending(reconcile_ctx(h))
    assert settled.status == FILLED and settled.filled_qty > 0
    assert h.ledger.pending(h.name, "main") == [] and h.orders_sent() == 1
    assert record.client_id == settled.client_order_id


def test_ban_skips_the_followup_too(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    h.faults.add("http", h.order_path, method="POST", status=418, retry_after=60)
    _plan, result = h.execute(concurrency=1)
    [outcome] = result.outcomes
    # The banned order's outcome is unknown (issue 9); no follow-up is sent for it.
    assert outcome.status == UNKNOWN and h.faults.count("POST", h.order_path) == 1


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_clock_skew_is_measured_once_and_the_orders_retried(
    make_harness: HarnessFactory, exchange: str
) -> None:
    h = setup(make_harness, exchange)
    snap, plan = h.plan()
    h.sim.clock.advance(-30_000)  # the exchange's clock is now 30 s behind ours
    result = execute_with(h, snap, plan)
    assert all(o.status == FILLED for o in result.outcomes), result.outcomes
    assert result.clock_offset_ms is not None
    assert abs(result.clock_offset_ms + 30_000) < 2_000  # for the caller to save
    time_path = "/api/v3/time" if exchange == "binance" else "/v5/market/time"
    assert h.faults.count("GET", time_path) == 1
    assert_each_sold_once(h)


def execute_with(h: Harness, snap: Any, plan: Any, **kw: Any) -> Any:
    from dustsweep.sell.execute import execute_sells

    return execute_sells(plan, h.context(snap, **kw))


def test_rejection_of_another_kind_is_reported_and_others_go_on(
    make_harness: HarnessFactory,
) -> None:
    h = setup(make_harness, "binance")
    body = {"code": -2010, "msg": "This symbol is not permitted for this account."}
    h.faults.add("http", h.order_path, method="POST", calls=1, status=400, body=body)
    _plan, result = h.execute()
    statuses = sorted(o.status for o in result.outcomes)
    assert statuses == [FILLED, FILLED, REJECTED]
    [rejected] = [o for o in result.outcomes if o.status == REJECTED]
    assert rejected.error is not None and "not permitted" in rejected.error
    assert h.free(rejected.asset) == Decimal(BINANCE_BALANCES[rejected.asset])
    assert h.orders_sent() == 2


def test_rate_limit_longer_than_the_bound_skips_the_order(make_harness: HarnessFactory) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    body = {"code": -1003, "msg": "Too many requests."}
    h.faults.add("http", h.order_path, method="POST", status=429, retry_after=600, body=body)
    _plan, result = h.execute(max_rate_wait_s=30.0)
    [outcome] = result.outcomes
    assert outcome.status == SKIPPED and outcome.error is not None
    assert "rate limited by binance for 600 s" in outcome.error
    assert max(h.sleep.calls, default=0) <= 30.0  # never slept the 10 minutes
    assert h.free("ADA") == Decimal("12.3456") and h.orders_placed() == 0
    [record] = h.records()
    assert record.status == "failed"
