"""`dustsweep convert` on Binance: plan, cool-down and execution through the real adapter.

Every test drives the real python-binance adapter against the project's Binance simulator and
checks the exchange-side result (balances, the dust log, request counts) and the local ledger.
``Desk`` (also used by the other test_converter_* modules) bundles a simulator, an adapter, a
ledger and a conversion context; its ``sleep`` moves the simulator's clock and the adapter's
offset together, so waits cost no real time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dustsweep.convert.execute import (
    ConversionContext,
    ConversionPlan,
    Route,
    check_cooldown,
    execute_conversion,
    fetch_convert_limits,
    fetch_previews,
    plan_conversion,
    planned_conversion_outcomes,
)
from dustsweep.core.classify import AccountReport, classify
from dustsweep.core.models import Snapshot
from dustsweep.core.policy import Policy
from dustsweep.errors import ConversionRejected, CooldownActive, ExitCode
from dustsweep.exchanges.base import Credentials
from dustsweep.sim.run import RunningSim, start_sim
from dustsweep.storage.ledger import Ledger

D = Decimal
KEY = "conv-key-4411"
SECRET = "conv-secret-8d2e"
HOUR_MS = 3_600_000
DUST = "/sapi/v1/asset/dust"
DUST_BTC = "/sapi/v1/asset/dust-btc"
DUST_CONVERT = "/sapi/v1/asset/dust-convert/convert"
DUST_QUERY = "/sapi/v1/asset/dust-convert/query-convertible-assets"
DRIBBLET = "/sapi/v1/asset/dribblet"

# Consistent cross prices (BNB = 500 USDT, BTC = 80,000 USDT), so a conversion's value and a
# sale's value can be compared by hand.
BINANCE_PRICES = {
    "BNBUSDT": "500",
    "BTCUSDT": "80000",
    "USDCUSDT": "1",
    "BNBUSDC": "500",
    "BTCUSDC": "80000",
    "ADAUSDT": "0.5",
    "ADABNB": "0.001",
    "ADABTC": "0.00000625",
    "ADAUSDC": "0.5",
    "XRPUSDT": "2",
    "XRPBNB": "0.004",
    "XRPBTC": "0.000025",
    "XRPUSDC": "2",
    "TRXUSDT": "0.25",
    "TRXBNB": "0.0005",
    "TRXBTC": "0.000003125",
    "TRXUSDC": "0.25",
    "DOGEUSDT": "0.2",
    "DOGEBNB": "0.0004",
    "DOGEBTC": "0.0000025",
    "DOGEUSDC": "0.2",
}
BINANCE_BALANCES = {
    "XRP": "0.5",  # 1 USDT, below every minimum: dust
    "TRX": "3.7",  # 0.925 USDT: dust
    "ADA": "12.3",  # 6.15 USDT: sellable on ADAUSDT, and small enough to convert
    "DOGE": "3",  # 0.6 USDT of dust the user keeps
    "USDT": "0.7",  # the quote asset: dust-btc lists it too
    "BNB": "0.01",  # the target
    "GAL": "0.5",  # delisted: the exchange will not convert it
    "BTC": "0.5",  # far above the dust ceiling
}
POLICY = Policy(quote="USDT", keep=frozenset({"DOGE"}))


def binance_section(**extra: Any) -> dict[str, Any]:
    account = {"name": "main", "api_key": KEY, "api_secret": SECRET}
    account["balances"] = extra.pop("balances", BINANCE_BALANCES)
    conversion = {"ineligible": ["GAL"], **extra.pop("conversion", {})}
    return {
        "accounts": [account],
        "prices": {**BINANCE_PRICES, **extra.pop("prices", {})},
        "conversion": conversion,
        **extra,
    }


@dataclass
class Desk:
    """One simulated account with the real adapter, a ledger and a conversion context."""

    kind: str
    running: RunningSim
    exchange: Any
    ledger: Ledger
    policy: Policy = POLICY
    sleeps: list[float] = field(default_factory=list)

    @property
    def dialect(self) -> Any:
        return self.running.dialect(self.kind)

    @property
    def server(self) -> Any:
        return self.running.servers[self.kind]

    def sleep(self, seconds: float) -> None:
        """Waiting moves the exchange's clock and the adapter's idea of it together."""
        self.sleeps.append(seconds)
        self.advance(int(seconds * 1000))

    def advance(self, ms: int) -> None:
        self.running.clock.advance(ms)
        self.exchange.set_clock_offset(self.exchange.clock_offset_ms + ms)

    def free(self, asset: str) -> Decimal:
        free, _locked = self.dialect.account("main").wallet.get(asset)
        return Decimal(free)

    def count(self, method: str, path: str) -> int:
        return int(self.server.faults.count(method, path))

    def snapshot(self) -> Snapshot:
        ex = self.exchange
        markets = {m.symbol: m for m in ex.fetch_markets()}
        return Snapshot(
            self.kind,
            "main",
            tuple(ex.fetch_balances()),
            markets,
            ex.fetch_prices(),
            ex.fetch_convertible(),
        )

    def context(self, ledger: Ledger | None = None, **kw: Any) -> ConversionContext:
        return ConversionContext(
            exchange=self.exchange,
            ledger=ledger or self.ledger,
            run_id=None,
            exchange_name=self.kind,
            account="main",
            sleep=self.sleep,
            **kw,
        )

    def plan(
        self, target: str, policy: Policy | None = None, *, convert: bool = False, **kw: Any
    ) -> ConversionPlan:
        policy = policy or self.policy
        snapshot = self.snapshot()
        report: AccountReport = classify(snapshot, policy)
        previews = fetch_previews(self.exchange, target)
        limits = fetch_convert_limits(self.exchange, target) if convert else None
        return plan_conversion(
            report, snapshot, previews, policy, target=target, convert_limits=limits, **kw
        )

    def records(self) -> dict[str, Any]:
        """Ledger records by asset (the latest one of each)."""
        return {r.asset: r for r in self.ledger.records(kind="conversion")}


DeskFactory = Callable[..., Desk]


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[DeskFactory]:
    """Start a simulator for one exchange and sign the real adapter in to its account."""
    made: list[Desk] = []

    def start(kind: str = "binance", section: dict[str, Any] | None = None, **adapter: Any) -> Desk:
        running = start_sim({kind: section if section is not None else binance_section()})
        ledger = Ledger(tmp_path / f"history-{len(made)}.sqlite3")
        holder: list[Desk] = []

        def sleep(seconds: float) -> None:
            holder[0].sleep(seconds)

        creds = Credentials("main", KEY, SECRET, base_url=running.url(kind), timeout=5.0)
        if kind == "binance":
            from dustsweep.exchanges.binance.adapter import BinanceExchange

            exchange: Any = BinanceExchange(creds, sleep=sleep)
        else:
            from dustsweep.exchanges.bybit.adapter import BybitExchange

            adapter.setdefault("order_poll_delays", (0.0, 0.01, 0.01))
            adapter.setdefault("conversion_poll_delays", (0.0, 0.01, 0.01, 0.01))
            exchange = BybitExchange(creds, sleep=sleep, **adapter)
        policy = POLICY if kind == "binance" else Policy(quote="USDT")
        made.append(Desk(kind, running, exchange, ledger, policy))
        holder.append(made[-1])
        return made[-1]

    yield start
    for item in made:
        item.exchange.close()
        item.ledger.close()
        item.running.stop()


# -- plan --------------------------------------------------------------------------------------


def test_plan_takes_only_listed_assets_and_never_the_quote_target_or_keep_list(
    desk: DeskFactory,
) -> None:
    d = desk()
    listed = {line.asset for p in fetch_previews(d.exchange, "BNB") for line in p.lines}
    assert {"USDT", "DOGE", "XRP", "TRX", "ADA"} <= listed  # the exchange lists them all
    assert "GAL" not in listed and "BNB" not in listed and "BTC" not in listed
    plan = d.plan("BNB")
    assert [(c.asset, c.route) for c in plan.conversions] == [
        ("TRX", Route.NATIVE),
        ("XRP", Route.NATIVE),
    ]
    skipped = dict(plan.skipped)
    assert skipped["USDT"] == "the quote asset (USDT) is never converted"
    assert skipped["DOGE"] == "in keep list"
    assert skipped["ADA"].startswith("selling nets more")  # 6.14 USDT sold vs 6.03 converted
    assert "GAL" not in skipped  # never listed: not even considered


def test_plan_shows_amounts_fees_and_routes_in_target_and_quote(desk: DeskFactory) -> None:
    plan = desk().plan("BNB")
    xrp = next(c for c in plan.conversions if c.asset == "XRP")
    # 0.5 XRP x 0.004 = 0.002 BNB gross; 2 % fee = 0.00004 BNB; 0.00196 BNB arrives.
    assert (xrp.amount, xrp.received, xrp.fee, xrp.fee_rate) == (
        D("0.5"),
        D("0.00196"),
        D("0.00004"),
        D("0.02"),
    )
    assert xrp.received_value == D("0.98") and xrp.fee_value == D("0.02")  # at 500 USDT/BNB
    assert xrp.value == D("1.0")
    assert xrp.choice.runner_up is Route.LEAVE
    assert plan.totals.received == D("0.00196") + D("0.001813")
    assert [line.status for line in planned_conversion_outcomes(plan)] == ["planned"] * 2


def test_named_assets_restrict_the_plan_and_say_why_each_is_left_out(desk: DeskFactory) -> None:
    plan = desk().plan("BNB", assets=frozenset({"xrp", "gal", "usdt", "eth"}))
    assert [c.asset for c in plan.conversions] == ["XRP"]
    skipped = dict(plan.skipped)
    assert "not eligible" in skipped["GAL"]
    assert skipped["ETH"] == "no balance"
    assert "quote asset" in skipped["USDT"]


# -- BNB conversion ----------------------------------------------------------------------------


def test_dust_to_bnb_moves_balances_charges_two_percent_and_records_transfer_ids(
    desk: DeskFactory,
) -> None:
    d = desk()
    plan = d.plan("BNB")
    bnb_before = d.free("BNB")
    outcome = execute_conversion(plan, d.context())
    assert outcome.status == "converted" and outcome.exit_code_hint is ExitCode.OK
    lines = {line.asset: line for line in outcome.lines}
    assert (lines["XRP"].received, lines["XRP"].fee) == (D("0.00196"), D("0.00004"))
    assert (lines["TRX"].received, lines["TRX"].fee) == (D("0.001813"), D("0.000037"))
    # On the exchange: the dust is gone and BNB grew by exactly the net amounts.
    assert d.free("XRP") == 0 and d.free("TRX") == 0
    assert d.free("BNB") - bnb_before == D("0.00196") + D("0.001813")
    assert d.free("USDT") == D("0.7") and d.free("DOGE") == D("3") and d.free("ADA") == D("12.3")
    assert d.count("POST", DUST) == 1
    # In the ledger: one converted record per asset with the exchange's transfer id and fee.
    log = d.dialect.account("main").dribblets[-1]["userAssetDribbletDetails"]
    tran_ids = {row["fromAsset"]: str(row["transId"]) for row in log}
    for asset, record in d.records().items():
        assert record.status == "converted" and record.fee_asset == "BNB"
        assert record.order_id == tran_ids[asset] == lines[asset].transfer_id
        assert record.fee == lines[asset].fee
        assert record.received_qty == lines[asset].received + lines[asset].fee  # gross
        assert record.client_id == lines[asset].client_id
    assert outcome.totals().received == {"BNB": D("0.003773")}


def test_dust_convert_into_usdc(desk: DeskFactory) -> None:
    d = desk()
    plan = d.plan("USDC")
    assert {c.asset for c in plan.conversions} == {"XRP", "TRX"}
    outcome = execute_conversion(plan, d.context())
    assert outcome.status == "converted"
    # 1 USDT of XRP and 0.925 of TRX, minus 2 %.
    assert d.free("USDC") == D("0.98") + D("0.9065")
    assert d.count("POST", DUST_CONVERT) == 1 and d.count("POST", DUST) == 0
    client_ids = {line.client_id for line in outcome.lines}
    assert len(client_ids) == 1 and next(iter(client_ids)).startswith("ds-")
    assert d.dialect.account("main").dust_convert_results.keys() == client_ids  # sent as clientId


def test_unsupported_target_names_the_targets_that_work(desk: DeskFactory) -> None:
    d = desk()
    with pytest.raises(ConversionRejected) as err:
        fetch_previews(d.exchange, "DOGE")
    message = str(err.value)
    assert err.value.kind == "unsupported_target"
    assert "cannot convert small balances into DOGE" in message
    assert "BNB, USDT, USDC" in message and "'main'" in message
    assert d.count("POST", DUST) == 0 and d.count("POST", DUST_CONVERT) == 0


def test_an_asset_that_became_ineligible_after_planning_is_not_sent(desk: DeskFactory) -> None:
    d = desk()
    plan = d.plan("BNB")
    d.dialect.account("main").wallet.set("TRX", "100000")  # now far above the dust ceiling
    outcome = execute_conversion(plan, d.context())
    lines = {line.asset: line for line in outcome.lines}
    assert lines["XRP"].status == "converted"
    assert lines["TRX"].status == "skipped" and "no longer offered" in (lines["TRX"].error or "")
    assert d.free("TRX") == D("100000")  # the batch was not failed by it: it was not in it
    batch = d.dialect.account("main").dribblets[-1]
    assert {row["fromAsset"] for row in batch["userAssetDribbletDetails"]} == {"XRP"}
    assert outcome.exit_code_hint is ExitCode.OK  # left out on purpose, not a failure


# -- cool-down ---------------------------------------------------------------------------------


def test_cooldown_from_the_exchange_log_stops_before_any_dust_call(
    desk: DeskFactory, tmp_path: Path
) -> None:
    d = desk()
    execute_conversion(d.plan("BNB"), d.context())
    last = d.dialect.account("main").dribblets[-1]["operateTime"]
    before = d.server.faults.counts()
    fresh = Ledger(tmp_path / "elsewhere.sqlite3")  # e.g. converted on the website: only the
    with pytest.raises(CooldownActive) as err:  # exchange knows
        check_cooldown(d.exchange, fresh, "main", 6 * 3600, d.context().server_now_ms())
    fresh.close()
    assert err.value.until_ms == last + 6 * HOUR_MS
    assert "per the exchange log" in str(err.value)
    assert err.value.exit_code is ExitCode.NOT_NOW
    after = d.server.faults.counts()
    for path in (DUST, DUST_BTC, DUST_CONVERT, DUST_QUERY):
        assert after.get(("POST", path), 0) == before.get(("POST", path), 0)
    assert after[("GET", DRIBBLET)] == before.get(("GET", DRIBBLET), 0) + 1
    d.advance(6 * HOUR_MS + 1000)
    check_cooldown(d.exchange, d.ledger, "main", 6 * 3600, d.context().server_now_ms())


def test_cooldown_message_has_the_iso_end_time(desk: DeskFactory) -> None:
    d = desk()
    execute_conversion(d.plan("BNB"), d.context())
    with pytest.raises(CooldownActive) as err:
        check_cooldown(d.exchange, d.ledger, "main", 2 * 3600, d.context().server_now_ms())
    until = err.value.until_ms
    assert until is not None
    stamp = datetime.fromtimestamp(-(-until // 1000), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # ceil
    assert f"until {stamp}" in str(err.value) and "one every 2 h" in str(err.value)


def test_cooldown_from_the_local_history_when_the_exchange_log_is_empty(desk: DeskFactory) -> None:
    d = desk()
    d.ledger.add(
        exchange="binance",
        account="main",
        kind="conversion",
        asset="XRP",
        qty=D("1"),
        status="converted",
    )
    assert d.exchange.last_conversion_ms() is None
    with pytest.raises(CooldownActive) as err:
        check_cooldown(d.exchange, d.ledger, "main", 6 * 3600, d.context().server_now_ms())
    assert "per the local history" in str(err.value)
    # Another account's conversion does not count.
    check_cooldown(d.exchange, d.ledger, "other", 6 * 3600, d.context().server_now_ms())


def test_exchange_refusal_5006_becomes_a_cooldown_outcome(desk: DeskFactory) -> None:
    d = desk()
    execute_conversion(d.plan("BNB", assets=frozenset({"XRP"})), d.context())
    plan = d.plan("BNB")  # TRX is still there; the caller skipped check_cooldown
    assert [c.asset for c in plan.conversions] == ["TRX"]
    outcome = execute_conversion(plan, d.context())
    (line,) = outcome.lines
    assert line.status == "skipped" and line.cooldown
    assert outcome.exit_code_hint is ExitCode.NOT_NOW and outcome.status == "cooldown"
    last = d.dialect.account("main").dribblets[-1]["operateTime"]
    assert outcome.cooldown_until_ms == last + 6 * HOUR_MS
    assert outcome.cooldown_message is not None and "Only transfer once" in outcome.cooldown_message
    assert d.count("POST", DUST) == 2 and d.free("TRX") == D("3.7")
    assert d.records()["TRX"].status == "failed"  # the attempt is in the history, not pending
