"""Selling 100 small balances with 50 ms of latency per request: how concurrency pays off.

``dustsweep sell`` places one market order per asset. Sent one after another, 100 orders at a
realistic 50 ms per request cost 100 round trips; the executor sends ``concurrency`` at a time,
so it should cost about ``ceil(100 / concurrency)`` round trips, plus one of slack. This builds a
simulated account holding 100 small, sellable balances (the bundled market list has only ~50
base assets, so 100 synthetic symbols are added through the scenario's ``add_symbols``, each a
copy of a real raw symbol object with a new name), plans the sale with the real planner and
runs it with ``dustsweep.sell.execute.execute_sells`` through the real adapter (python-binance or
pybit) at each concurrency. It prints the wall time, the requests the simulator processed, the
wall time in round trips of latency, the target, and the speed-up over concurrency 1.

Bybit's create-order answer carries ids only: the fill (and fee) needs a second request per
order, so its target is ``2 * ceil(100 / concurrency) + 1`` round trips. Bybit also allows 20
spot orders per second per account (the adapter pauses before the limit, from the
X-Bapi-Limit headers), so 100 orders cannot take less than about 4 s whatever the concurrency;
the output prints that floor beside the target.

The executor also paces orders where an adapter declares it (``capabilities.order_pacing``:
Bybit 18 per second, Binance none); the output prints the floor that pacing sets, and
``--without-pacing`` switches it off for one run to show what concurrency alone achieves.

Run: ``.venv/bin/python bench/bench_sell.py [--exchange binance|bybit|both] [--assets 100]
[--latency 0.05] [--concurrency 4,10] [--without-pacing]``. Concurrency 1 is always run too
(the baseline).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from dustsweep.core.classify import classify  # noqa: E402
from dustsweep.core.models import MarketRules, Snapshot  # noqa: E402
from dustsweep.core.plan import SellPlan, plan_sells  # noqa: E402
from dustsweep.core.policy import Policy  # noqa: E402
from dustsweep.exchanges import EXCHANGES, capabilities_of  # noqa: E402
from dustsweep.exchanges.base import Credentials, Exchange  # noqa: E402
from dustsweep.run.outcome import Status  # noqa: E402
from dustsweep.sell.execute import execute_sells  # noqa: E402
from dustsweep.sell.types import ExecutionContext  # noqa: E402
from dustsweep.sim.run import RunningSim, start_sim  # noqa: E402
from dustsweep.storage.ledger import Ledger  # noqa: E402

DATA = REPO / "dustsweep" / "sim" / "data"
KEY, SECRET = "bench-sell-key-0001", "bench-sell-secret-0001"
QUOTE = "USDT"
# Real symbols copied (renamed) for the synthetic markets: step 0.1 / minNotional 5 USDT on
# Binance, basePrecision 0.01 / minOrderQty 1.86 / minOrderAmt 1 USDT on Bybit.
TEMPLATE = {"binance": "ADAUSDT", "bybit": "ADAUSDT"}
REQUESTS_PER_ORDER = {"binance": 1, "bybit": 2}  # Bybit: create, then read the fill back
# Order rate limits per account that bind a run of market sells, as (orders, window seconds):
# Bybit spot order/create 20/s (bybit-api.md). Binance's ORDERS limit counts only UNFILLED
# orders (a fill takes the order back out of the count), so market sells that fill are not
# held back by it.
EXCHANGE_ORDER_LIMIT: dict[str, tuple[int, float]] = {"bybit": (20, 1.0)}


@dataclass(frozen=True)
class SellFigures:
    """One timed sell run."""

    exchange: str
    concurrency: int
    orders: int
    filled: int
    filled_on_exchange: int
    quote_received: Decimal
    wall_s: float
    requests: Counter[tuple[str, str]]


def asset_name(i: int) -> str:
    """Synthetic coin names that no real listing uses (letters and digits, like Binance's)."""
    return f"DSB{i:03d}"


def template(exchange: str) -> dict[str, Any]:
    """The raw symbol object to copy, straight from the bundled real snapshot."""
    if exchange == "binance":
        symbols = json.loads((DATA / "binance-exchangeInfo.json").read_text())["symbols"]
    else:
        symbols = json.loads((DATA / "bybit-instruments.json").read_text())
    return next(s for s in symbols if s["symbol"] == TEMPLATE[exchange])


def synthetic_symbol(exchange: str, raw: Mapping[str, Any], asset: str) -> dict[str, Any]:
    symbol = copy.deepcopy(dict(raw))
    symbol["symbol"] = f"{asset}{QUOTE}"
    if exchange == "binance":
        symbol["baseAsset"] = asset
    else:
        symbol["baseCoin"] = asset
    return symbol


def scenario(exchange: str, count: int) -> dict[str, Any]:
    """``count`` balances each worth 6 to 9 USDT: above every minimum, below the dust
    threshold (10), and whole multiples of the step, so each sells in one order."""
    raw = template(exchange)
    step = Decimal("0.1")
    balances: dict[str, str] = {QUOTE: "1"}
    prices: dict[str, str] = {}
    symbols = []
    for i in range(count):
        asset = asset_name(i)
        price = Decimal("0.5") + Decimal(i) / 100
        value = Decimal(6) + Decimal(i % 30) / 10
        qty = (value / price).quantize(step, rounding=ROUND_DOWN)
        balances[asset] = format(qty, "f")
        prices[f"{asset}{QUOTE}"] = format(price, "f")
        symbols.append(synthetic_symbol(exchange, raw, asset))
    account = {"name": "main", "api_key": KEY, "api_secret": SECRET, "balances": balances}
    return {exchange: {"accounts": [account], "add_symbols": symbols, "prices": prices}}


def open_adapter(exchange: str, url: str) -> Exchange:
    creds = Credentials("main", KEY, SECRET, base_url=url, timeout=10.0)
    if exchange == "binance":
        from dustsweep.exchanges.binance.adapter import BinanceExchange

        return BinanceExchange(creds)
    from dustsweep.exchanges.bybit.adapter import BybitExchange

    return BybitExchange(creds)


def plan(adapter: Exchange, exchange: str, policy: Policy) -> tuple[Snapshot, SellPlan]:
    """What ``dustsweep sell`` does before confirming: snapshot, classify, plan."""
    snapshot = Snapshot(
        exchange=exchange,
        account="main",
        balances=tuple(adapter.fetch_balances()),
        markets={rule.symbol: rule for rule in adapter.fetch_markets()},
        prices=adapter.fetch_prices(),
    )
    return snapshot, plan_sells(classify(snapshot, policy), snapshot, policy)


def processed(sim: RunningSim, exchange: str) -> list[tuple[str, str]]:
    server = sim.servers[exchange]
    with server.request_lock:
        return list(server.requests)


def filled_on_exchange(sim: RunningSim, exchange: str) -> tuple[int, Decimal]:
    """Orders the simulator filled, and the quote the account holds (the exchange's truth)."""
    account = sim.dialect(exchange).account("main")
    filled = sum(1 for order in account.orders if str(order.status).lower() == "filled")
    free, _locked = account.wallet.get(QUOTE)
    return filled, Decimal(free)


def run_sell(exchange: str, count: int, concurrency: int, latency: float) -> SellFigures:
    """A fresh account, planned without latency, then sold with ``latency`` per request."""
    policy = Policy(quote=QUOTE)
    sim = start_sim(scenario(exchange, count))
    adapter = open_adapter(exchange, sim.url(exchange))
    try:
        with tempfile.TemporaryDirectory(prefix="dustsweep-bench-") as folder:
            ledger = Ledger(Path(folder) / "history.sqlite3")
            try:
                snapshot, sell_plan = plan(adapter, exchange, policy)
                _, quote_before = filled_on_exchange(sim, exchange)

                def refresh_rules() -> dict[str, MarketRules]:
                    return {rule.symbol: rule for rule in adapter.fetch_markets()}

                ctx = ExecutionContext(
                    exchange=adapter,
                    ledger=ledger,
                    run_id=ledger.begin_run("sell", False),
                    exchange_name=exchange,
                    account="main",
                    snapshot=snapshot,
                    policy=policy,
                    refresh_rules=refresh_rules,
                    concurrency=concurrency,
                )
                sim.servers[exchange].faults.latency_s = latency
                before = len(processed(sim, exchange))
                start = time.perf_counter()
                result = execute_sells(sell_plan, ctx)
                wall = time.perf_counter() - start
                requests = Counter(processed(sim, exchange)[before:])
            finally:
                ledger.close()
        filled, quote_after = filled_on_exchange(sim, exchange)
    finally:
        adapter.close()
        # Stopping waits out serve_forever's poll interval; nothing is measured after this.
        threading.Thread(target=sim.stop, daemon=True).start()
    return SellFigures(
        exchange=exchange,
        concurrency=concurrency,
        orders=len(sell_plan.orders),
        filled=sum(1 for o in result.outcomes if o.status == Status.FILLED),
        filled_on_exchange=filled,
        quote_received=quote_after - quote_before,
        wall_s=wall,
        requests=requests,
    )


def latency_target(exchange: str, orders: int, concurrency: int) -> int:
    """Round trips the run should cost: batches of ``concurrency`` orders, plus one."""
    return REQUESTS_PER_ORDER[exchange] * math.ceil(orders / concurrency) + 1


def executor_pacing() -> dict[str, tuple[int, float]]:
    """The executor's own order pacing per exchange (orders per window), if it has one."""
    paces = {name: capabilities_of(name).order_pacing for name in EXCHANGES}
    return {name: (p.orders, p.window_s) for name, p in paces.items() if p is not None}


def paced_floor(
    exchange: str, orders: int, latency: float, rate: tuple[int, float] | None
) -> float | None:
    """Round trips a pace of ``rate`` forces whatever the concurrency: order k cannot start
    before (k // limit) windows have passed; the last then needs its own requests."""
    if rate is None or not latency:
        return None
    limit, window_s = rate
    return ((orders - 1) // limit) * window_s / latency + REQUESTS_PER_ORDER[exchange]


def show(figures: SellFigures, latency: float, baseline: SellFigures | None) -> None:
    trips = figures.wall_s / latency if latency else float("nan")
    requests = sum(figures.requests.values())
    target = latency_target(figures.exchange, figures.orders, figures.concurrency)
    speedup = f"{baseline.wall_s / figures.wall_s:4.1f}x" if baseline else "   -"
    if baseline is None:
        verdict = "baseline"
    elif not latency:
        verdict = "no latency to count in"
    else:
        verdict = "ok" if trips <= target else "OVER"
    print(
        f"{figures.exchange:<8} c={figures.concurrency:<3} {figures.filled:3d}/{figures.orders} "
        f"filled {figures.wall_s:6.2f} s {requests:4d} requests {trips:6.1f} round trips "
        f"(target <= {target}: {verdict})  speed-up {speedup}"
    )
    if figures.filled_on_exchange != figures.filled:
        print(
            f"         WARNING: the exchange filled {figures.filled_on_exchange} orders, "
            f"the executor reported {figures.filled}"
        )


def show_floors(exchange: str, orders: int, latency: float) -> None:
    """What bounds a run from below whatever the concurrency, in round trips."""
    limit = EXCHANGE_ORDER_LIMIT.get(exchange)
    floor = paced_floor(exchange, orders, latency, limit)
    if limit is not None and floor is not None:
        print(
            f"         {exchange}'s own limit ({limit[0]} orders per {limit[1]:g} s) allows "
            f"no less than {floor:.0f} round trip(s)"
        )
    else:
        print(f"         {exchange}'s order limit does not bind market sells that fill")
    pace = executor_pacing().get(exchange)
    floor = paced_floor(exchange, orders, latency, pace)
    if pace is not None and floor is not None:
        print(
            f"         the executor paces {exchange} orders at {pace[0]} per {pace[1]:g} s: "
            f"no less than {floor:.0f} round trip(s)"
        )


@contextmanager
def pacing_disabled(disabled: bool) -> Iterator[None]:
    """With ``--without-pacing``: empty the executor's pacing table for the run (to show what
    the concurrent executor alone achieves), then put it back."""
    if not disabled:
        yield
        return
    from dustsweep.exchanges.binance import BinanceExchange
    from dustsweep.exchanges.bybit import BybitExchange

    adapters: list[Any] = [BinanceExchange, BybitExchange]
    saved = [cls.capabilities for cls in adapters]
    for cls in adapters:
        cls.capabilities = dataclasses.replace(cls.capabilities, order_pacing=None)
    try:
        yield
    finally:
        for cls, caps in zip(adapters, saved, strict=True):
            cls.capabilities = caps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchange", choices=("binance", "bybit", "both"), default="both")
    parser.add_argument("--assets", type=int, default=100, help="balances to sell")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added per request")
    parser.add_argument(
        "--concurrency", default="4", help="comma-separated levels to compare with 1"
    )
    parser.add_argument(
        "--without-pacing",
        action="store_true",
        help="switch off the executor's order pacing (what concurrency alone achieves)",
    )
    args = parser.parse_args(argv)
    levels = sorted({1, *(int(c) for c in args.concurrency.split(",") if c.strip())})
    exchanges = ("binance", "bybit") if args.exchange == "both" else (args.exchange,)

    pacing = "OFF (--without-pacing)" if args.without_pacing else "on"
    print(
        f"== sell: {args.assets} assets, {args.latency * 1000:.0f} ms latency per request, "
        f"concurrency {', '.join(map(str, levels))}, executor pacing {pacing} =="
    )
    with pacing_disabled(args.without_pacing):
        for exchange in exchanges:
            show_floors(exchange, args.assets, args.latency)
            baseline: SellFigures | None = None
            for level in levels:
                figures = run_sell(exchange, args.assets, level, args.latency)
                show(figures, args.latency, baseline)
                if level == 1:
                    baseline = figures
                    paths = ", ".join(f"{m} {p} x{n}" for (m, p), n in figures.requests.items())
                    print(f"         requests at c=1: {paths}")
                    print(f"         {QUOTE} received on the exchange: {figures.quote_received}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
