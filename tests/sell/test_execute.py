"""The sell executor through the real adapters (python-binance, pybit) and the simulator.

Every test checks the exchange side (the simulator's wallets and orders) and the ledger, not
only what the executor says. The fault tests are in test_executor_faults.py and share the
harness defined here.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dustsweep.core.classify import classify
from dustsweep.core.models import MarketRules, Snapshot
from dustsweep.core.plan import SellPlan, plan_sells
from dustsweep.core.policy import Policy
from dustsweep.exchanges.base import Credentials, Exchange
from dustsweep.run.ids import ClientIds, client_id, new_run_token
from dustsweep.sell.execute import (
    FILLED,
    SKIPPED,
    UNKNOWN,
    ExecutionContext,
    ReconcileContext,
    SellResult,
    execute_sells,
    planned_outcomes,
    reconcile_pending,
)
from dustsweep.sell.reconcile import backoff
from dustsweep.sim.core import FaultPlan
from dustsweep.sim.run import RunningSim, start_sim
from dustsweep.storage.ledger import Ledger
from dustsweep.storage.records import Record
from dustsweep.storage.state import RulesCache

KEY = "exec-test-key-0123"
SECRET = "exec-test-secret-0123456789"
ORDER_PATH = {"binance": "/api/v3/order", "bybit": "/v5/order/create"}
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,36}$")


class FastSleep:
    """Records every wait the code asks for and sleeps only a capped sliver of it.

    Some waits must pass some real time (the simulator's order-query lag and delayed requests
    run on the real clock), so the cap is per test.
    """

    def __init__(self, cap: float = 0.005) -> None:
        self.cap = cap
        self.calls: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.calls.append(seconds)
        time.sleep(min(max(seconds, 0.0), self.cap))


@dataclass
class Harness:
    """One simulated exchange, the real adapter pointed at it, a ledger and a rules cache."""

    name: str
    sim: RunningSim
    exchange: Exchange
    ledger: Ledger
    cache: RulesCache
    policy: Policy
    sleep: FastSleep
    refreshes: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.sim.url(self.name)

    @property
    def dialect(self) -> Any:
        return self.sim.dialect(self.name)

    @property
    def faults(self) -> FaultPlan:
        return self.sim.servers[self.name].faults

    @property
    def order_path(self) -> str:
        return ORDER_PATH[self.name]

    def free(self, asset: str) -> Decimal:
        free, _locked = self.dialect.account("main").wallet.get(asset)
        return Decimal(free)

    def set_free(self, asset: str, amount: str | Decimal) -> None:
        self.dialect.account("main").wallet.set(asset, Decimal(amount))

    def orders_sent(self) -> int:
        """Order requests the exchange processed (faults that answer early excluded)."""
        server = self.sim.servers[self.name]
        with server.request_lock:
            return sum(1 for m, p in server.requests if m == "POST" and p == self.order_path)

    def orders_placed(self) -> int:
        """Orders that exist on the exchange (executed, whatever the client heard)."""
        return len(self.dialect.account("main").orders)

    def snapshot(self) -> Snapshot:
        return Snapshot(
            exchange=self.name,
            account="main",
            balances=tuple(self.exchange.fetch_balances()),
            markets={rule.symbol: rule for rule in self.exchange.fetch_markets()},
            prices=self.exchange.fetch_prices(),
        )

    def plan(self, snapshot: Snapshot | None = None, **kw: Any) -> tuple[Snapshot, SellPlan]:
        snap = snapshot or self.snapshot()
        return snap, plan_sells(classify(snap, self.policy), snap, self.policy, **kw)

    def refresh_rules(self) -> dict[str, MarketRules]:
        """What the CLI supplies: fetch the rules and write them back to the on-disk cache."""
        self.refreshes.append(1)
        rules = self.exchange.fetch_markets()
        self.cache.save(self.name, self.url, rules)
        return {rule.symbol: rule for rule in rules}

    def context(self, snapshot: Snapshot, **kw: Any) -> ExecutionContext:
        options: dict[str, Any] = {
            "exchange": self.exchange,
            "ledger": self.ledger,
            "run_id": self.ledger.begin_run("sell", False),
            "exchange_name": self.name,
            "account": "main",
            "snapshot": snapshot,
            "policy": self.policy,
            "refresh_rules": self.refresh_rules,
            "sleep": self.sleep,
            "reconcile_window_s": 0.5,
        }
        options.update(kw)
        return ExecutionContext(**options)

    def execute(self, **kw: Any) -> tuple[SellPlan, SellResult]:
        snap, plan = self.plan()
        assert plan.orders, "the scenario should plan at least one order"
        return plan, execute_sells(plan, self.context(snap, **kw))

    def records(self) -> list[Record]:
        return self.ledger.records(exchange=self.name)


HarnessFactory = Callable[..., Harness]


@pytest.fixture
def make_harness(tmp_path: Path) -> Iterator[HarnessFactory]:
    made: list[Harness] = []

    def make(
        exchange: str = "binance",
        balances: dict[str, Any] | None = None,
        *,
        scenario: dict[str, Any] | None = None,
        policy: Policy | None = None,
        timeout: float = 3.0,
        sleep_cap: float = 0.005,
    ) -> Harness:
        account = {"name": "main", "api_key": KEY, "api_secret": SECRET, "balances": balances}
        sim = start_sim({exchange: {"accounts": [account], **(scenario or {})}})
        creds = Credentials("main", KEY, SECRET, base_url=sim.url(exchange), timeout=timeout)
        sleep = FastSleep(sleep_cap)
        adapter: Exchange
        if exchange == "binance":
            from dustsweep.exchanges.binance.adapter import BinanceExchange

            adapter = BinanceExchange(creds, sleep=sleep)
        else:
            from dustsweep.exchanges.bybit.adapter import BybitExchange

            adapter = BybitExchange(creds, sleep=sleep, order_poll_delays=(0.0, 0.01, 0.02))
        folder = tmp_path / f"h{len(made)}"
        harness = Harness(
            name=exchange,
            sim=sim,
            exchange=adapter,
            ledger=Ledger(folder / "history.sqlite3"),
            cache=RulesCache(folder / "state"),
            policy=policy or Policy(quote="USDT"),
            sleep=sleep,
        )
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.exchange.close()
        harness.ledger.close()
        # Stopping waits out serve_forever's poll interval; do it off the test's clock.
        threading.Thread(target=harness.sim.stop, daemon=True).start()


def by_asset(result: SellResult) -> dict[str, Any]:
    return {o.asset: o for o in result.outcomes if not o.followup}


# ---------------------------------------------------------------------------- client ids


def test_client_ids_follow_the_documented_shape_and_number_replans() -> None:
    ids = ClientIds("a1b2c3d4e5")
    assert ids.next("ADA") == "ds-a1b2c3d4e5-ADA"
    assert ids.next("ADA") == "ds-a1b2c3d4e5-ADA-2"
    assert ids.next("XRP") == "ds-a1b2c3d4e5-XRP"
    assert ids.next("ADA") == "ds-a1b2c3d4e5-ADA-3"
    assert ID_RE.match(new_run_token())
    with pytest.raises(ValueError):
        ClientIds("bad-token")


@given(
    asset=st.text(min_size=1, max_size=40),
    other=st.text(min_size=1, max_size=40),
    attempt=st.integers(min_value=1, max_value=99),
)
def test_client_ids_are_valid_and_distinct_for_any_asset_name(
    asset: str, other: str, attempt: int
) -> None:
    token = "0123456789"
    made = client_id(token, asset, attempt)
    assert ID_RE.match(made), made
    assert made.startswith(f"ds-{token}-")
    if asset != other:
        assert client_id(token, other, attempt) != made


def test_backoff_grows_and_stays_inside_the_window() -> None:
    delays = list(backoff(10.0))
    assert delays[0] == 0.0  # ask at once
    assert delays[1:6] == [0.2, 0.5, 1.0, 2.0, 4.0]
    assert sum(delays) == pytest.approx(10.0)
    assert list(backoff(0.0)) == [0.0]


# ---------------------------------------------------------------------------- normal sells


def test_binance_normal_sell_moves_the_balances_and_fills_the_ledger(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456", "XRP": "3", "DOT": "2", "USDT": "1"})
    plan, result = h.execute()
    assert {o.asset for o in plan.orders} == {"ADA", "XRP", "DOT"}
    outcomes = by_asset(result)
    assert all(o.status == FILLED for o in result.outcomes), result.outcomes
    assert result.complete and not result.followups  # everything went straight to USDT
    # Exchange side: exactly the planned quantities left; the residual stays.
    assert h.free("ADA") == Decimal("0.0456") == outcomes["ADA"].residual
    assert h.free("XRP") == 0 and h.free("DOT") == 0
    received = sum((o.proceeds - o.fee for o in result.outcomes), Decimal(0))
    assert h.free("USDT") == Decimal(1) + received
    assert all(o.fee_asset == "USDT" and o.fee > 0 for o in result.outcomes)
    # Ledger: one filled record per order, with the client id that went to the exchange.
    records = h.records()
    assert len(records) == 3
    for record in records:
        outcome = outcomes[record.asset]
        assert record.status == "filled"
        assert record.client_id == outcome.client_order_id
        assert record.client_id is not None and ID_RE.match(record.client_id)
        assert record.client_id.endswith(f"-{record.asset}")
        assert record.qty == outcome.filled_qty
        assert record.received_asset == "USDT" and record.received_qty == outcome.proceeds
        assert record.fee == outcome.fee and record.market == outcome.market
    assert h.orders_sent() == 3


def test_bybit_normal_sell_moves_the_balances_and_fills_the_ledger(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("bybit", {"ADA": "5.555", "DOT": "1.2345", "XRP": "3", "USDT": "0"})
    plan, result = h.execute()
    assert {o.asset for o in plan.orders} == {"ADA", "DOT", "XRP"}
    assert all(o.status == FILLED for o in result.outcomes), result.outcomes
    assert h.free("ADA") == Decimal("0.005")
    assert h.free("DOT") == Decimal("0.0005")
    assert h.free("XRP") == 0
    net = sum((o.proceeds - o.fee for o in result.outcomes), Decimal(0))
    assert net > 0 and h.free("USDT") == net
    records = h.records()
    assert sorted(r.status for r in records) == ["filled"] * 3
    assert {r.client_id for r in records} == {o.client_order_id for o in result.outcomes}
    assert h.orders_sent() == 3


def test_followup_sells_on_only_the_btc_this_run_received(make_harness: HarnessFactory) -> None:
    # ADA sells on ADABTC (BTC comes first in sell_quotes); the BTC it brings is sold on
    # into USDT, but the user's own 0.001 BTC is not dust and must stay.
    h = make_harness(
        "binance",
        {"ADA": "20", "BTC": "0.001"},
        scenario={"prices": {"ADABTC": "0.00001", "BTCUSDT": "80000", "ADAUSDT": "0.8"}},
        policy=Policy(quote="USDT", sell_quotes=("BTC", "USDT"), dust_threshold=Decimal(50)),
    )
    plan, result = h.execute()
    assert [(o.asset, o.symbol) for o in plan.orders] == [("ADA", "ADABTC")]
    [primary] = result.primary
    [followup] = result.followups
    assert primary.status == FILLED and followup.status == FILLED
    received_btc = primary.proceeds - primary.fee
    assert primary.fee_asset == "BTC" and received_btc > 0
    assert followup.asset == "BTC" and followup.market == "BTCUSDT"
    assert 0 < followup.filled_qty <= received_btc
    # Exchange side: the user's BTC is untouched; only the received BTC's sub-step rest stays.
    assert h.free("BTC") == Decimal("0.001") + received_btc - followup.filled_qty
    assert h.free("BTC") >= Decimal("0.001")
    assert h.free("ADA") == 0
    assert h.free("USDT") == followup.proceeds - followup.fee
    statuses = {(r.asset, r.market, r.status) for r in h.records()}
    assert statuses == {("ADA", "ADABTC", "filled"), ("BTC", "BTCUSDT", "filled")}


def test_planned_outcomes_describe_a_dry_run_without_sending(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    _snap, plan = h.plan()
    [outcome] = planned_outcomes(plan)
    assert outcome.status == "planned" and outcome.qty == Decimal("12.3")
    assert h.orders_sent() == 0 and h.records() == []


def test_concurrency_bound_is_respected(make_harness: HarnessFactory) -> None:
    """Deterministic, no wall-clock: every order request waits at a two-party barrier, so the
    run only completes when orders really are in flight two at a time; a third request while
    two are held would show in ``peak``."""
    balances = {"ADA": "12.3456", "XRP": "3", "DOT": "2", "TRX": "30", "DOGE": "40", "LTC": "0.1"}
    h = make_harness("binance", balances)
    lock = threading.Lock()
    inside = [0]
    peak = [0]
    pairs = threading.Barrier(2, timeout=30)
    met = [0]

    def hold() -> None:  # runs in the server thread of each order request
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
        try:
            if pairs.wait() == 0:  # two requests were in the server at the same time
                met[0] += 1
        finally:
            with lock:
                inside[0] -= 1

    h.faults.add("action", h.order_path, method="POST", action=hold)
    plan, result = h.execute(concurrency=2)
    assert len(plan.orders) == 6
    assert all(o.status == FILLED for o in result.outcomes)
    assert met[0] == 3  # concurrent: three pairs met at the barrier
    assert peak[0] == 2  # and never more than the bound


# ---------------------------------------------------------------------------- reconcile_pending


def pending_order(h: Harness, asset: str, symbol: str, qty: str, cid: str) -> int:
    return h.ledger.add(
        exchange=h.name,
        account="main",
        kind="order",
        asset=asset,
        qty=Decimal(qty),
        received_asset="USDT",
        market=symbol,
        client_id=cid,
    )


def reconcile_ctx(h: Harness, window: float = 0.3) -> ReconcileContext:
    return ReconcileContext(
        exchange=h.exchange,
        ledger=h.ledger,
        exchange_name=h.name,
        account="main",
        sleep=h.sleep,
        reconcile_window_s=window,
    )


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_killed_runs_pending_order_is_settled_and_not_sold_again(
    make_harness: HarnessFactory, exchange: str
) -> None:
    symbol, qty = ("ADAUSDT", "12.3") if exchange == "binance" else ("ADAUSDT", "5.55")
    h = make_harness(exchange, {"ADA": "12.3456" if exchange == "binance" else "5.555"})
    cid = "ds-deadbeef00-ADA"
    # The killed run wrote its pending record, sent the order, and died before hearing back.
    record_id = pending_order(h, "ADA", symbol, qty, cid)
    h.exchange.market_sell(symbol, Decimal(qty), cid)
    left = h.free("ADA")
    [outcome] = reconcile_pending(reconcile_ctx(h))
    assert outcome.status == FILLED and outcome.client_order_id == cid
    assert outcome.filled_qty == Decimal(qty) and outcome.proceeds > 0
    record = h.ledger.get(record_id)
    assert record is not None and record.status == "filled"
    assert record.received_qty == outcome.proceeds and record.fee == outcome.fee
    assert h.ledger.pending(h.name, "main") == []
    # The rerun plans from fresh balances: ADA is no longer sellable, nothing is sent twice.
    _snap, plan = h.plan()
    assert "ADA" not in {o.asset for o in plan.orders}
    assert h.free("ADA") == left
    assert h.orders_sent() == 1


def test_pending_record_of_an_order_never_sent_is_closed_as_failed(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness("binance", {"ADA": "12.3456"})
    record_id = pending_order(h, "ADA", "ADAUSDT", "12.3", "ds-deadbeef00-ADA")
    [outcome] = reconcile_pending(reconcile_ctx(h))
    assert outcome.status == SKIPPED
    assert outcome.error is not None and "never placed" in outcome.error
    record = h.ledger.get(record_id)
    assert record is not None and record.status == "failed" and record.error == outcome.error
    assert sum(h.sleep.calls) == pytest.approx(0.3, abs=0.05)  # asked for the whole window
    assert h.free("ADA") == Decimal("12.3456") and h.orders_sent() == 0


def test_pending_record_stays_pending_when_the_balance_cannot_clear_it(
    make_harness: HarnessFactory,
) -> None:
    # Not found, but the free ADA no longer covers the quantity: it may have executed.
    h = make_harness("binance", {"ADA": "1"})
    record_id = pending_order(h, "ADA", "ADAUSDT", "12.3", "ds-deadbeef00-ADA")
    [outcome] = reconcile_pending(reconcile_ctx(h))
    assert outcome.status == UNKNOWN
    record = h.ledger.get(record_id)
    assert record is not None and record.status == "pending"


# ---------------------------------------------------------------------------- balance evidence


def test_balance_book_trusts_a_baseline_only_when_nothing_else_moved_the_asset() -> None:
    from dustsweep.core.models import Balance
    from dustsweep.sell.shared import BalanceBook

    book = BalanceBook([Balance("BTC", Decimal("0.001")), Balance("ADA", Decimal(5))])
    fetched = [Balance("BTC", Decimal("0.001")), Balance("ADA", Decimal(5))]

    # A BTC sale alone: its own send is the only move since the baseline.
    base = book.baseline("BTC")
    book.begin("BTC", "USDT")
    free, trusted = book.check(lambda: fetched, "BTC", base)
    assert (free, trusted) == (Decimal("0.001"), True)
    book.done("BTC", "USDT", moved=False)  # it surely did nothing: the count is undone

    # An ADA->BTC sale in flight credits BTC: BTC's balance proves nothing meanwhile.
    base = book.baseline("BTC")
    book.begin("ADA", "BTC")
    book.begin("BTC", "USDT")
    assert book.check(lambda: fetched, "BTC", base)[1] is False
    # A read taken while the ADA sale is in flight is not a clean baseline either...
    book.read(lambda: fetched)
    assert book.baseline("BTC").clean is False
    book.done("ADA", "BTC", moved=True)
    book.done("BTC", "USDT", moved=True)
    # ...but one taken after every order finished is.
    book.read(lambda: fetched)
    base = book.baseline("BTC")
    assert base.clean
    book.begin("BTC", "USDT")
    assert book.check(lambda: fetched, "BTC", base)[1] is True


def test_ban_message_names_the_exchange_and_the_end() -> None:
    from datetime import UTC, datetime

    from dustsweep.errors import Banned
    from dustsweep.sell.shared import ban_message

    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert ban_message("binance", Banned("banned", retry_after=120), now).startswith(
        "IP banned by binance until 2026-01-02 03:06:05 UTC"
    )
    from_text = Banned("Way too much request weight used; IP banned until 1767323045000.")
    assert "until 2026-01-02 03:04:05 UTC" in ban_message("binance", from_text, now)
    assert "until an unknown time" in ban_message("bybit", Banned("403"), now)


def test_a_to_run_keeps_what_it_received(make_harness: HarnessFactory) -> None:
    # `--to BTC`: ADA is sold into BTC, and that BTC is the point: no follow-up into USDT.
    h = make_harness(
        "binance",
        {"ADA": "20"},
        scenario={"prices": {"ADABTC": "0.00001", "BTCUSDT": "80000", "ADAUSDT": "0.8"}},
    )
    snap, plan = h.plan(to_asset="BTC", assets=frozenset({"ADA"}))
    assert [o.symbol for o in plan.orders] == ["ADABTC"]
    result = execute_sells(plan, h.context(snap, sell_quotes=("BTC",)))
    [outcome] = result.outcomes
    assert outcome.status == FILLED and not result.followups
    assert h.free("BTC") == outcome.proceeds - outcome.fee


def test_order_pacer_keeps_every_window_within_the_limit() -> None:
    from dustsweep.sell.shared import OrderPacer

    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    pacer = OrderPacer(3, 10.0, sleep, clock=lambda: now[0])
    starts = []
    for _ in range(7):
        pacer.wait_turn()
        starts.append(now[0])
        now[0] += 0.5  # each send takes a while
    assert starts[:3] == [100.0, 100.5, 101.0]
    for i in range(3, len(starts)):
        assert starts[i] - starts[i - 3] >= 10.0  # never 4 sends inside 10 s
    assert waits == [8.5, 8.5]  # only the 4th and 7th send had to wait for a free slot


def test_rate_gate_makes_every_worker_wait_out_a_retry_after() -> None:
    from dustsweep.sell.shared import RateGate

    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    gate = RateGate(sleep, clock=lambda: now[0])
    gate.wait()
    assert slept == []  # nothing asked yet
    gate.hold(3.0)
    gate.hold(1.0)  # a shorter ask never shortens a longer one
    gate.wait()
    assert slept == [3.0]
    gate.wait()
    assert slept == [3.0]  # once it has passed, nobody waits
