"""Classification and the rules cache against the full real Binance market list.

A scan classifies every balance against every market rule, and a cron run loads the cached
rules before anything else, so both must stay cheap even for a large account on Binance's
~2300 symbols. This prints:

- the CPU time (``time.process_time``, median of runs) to classify 300 balances with
  ``dustsweep.core.classify.classify`` against the full 2023-09-08 exchangeInfo parsed by the
  adapter's own parser, priced with the 2025-04-20 ticker/price snapshot (target < 50 ms);
- the wall time to save plus load that rule set through ``dustsweep.storage.state.RulesCache``
  (target < 30 ms together), with each part shown;
- how the verdicts came out, to show the run exercised every path and not one shortcut.

The real snapshots are read from ../shared/fixtures/real/ next to the repository when present;
otherwise the trimmed copies bundled in dustsweep/sim/data/ are used (the output says so) and
balances without a market fill the 300.

Run: ``.venv/bin/python bench/bench_classify.py [--runs 15] [--balances 300]``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from dustsweep.core.classify import classify  # noqa: E402
from dustsweep.core.models import Balance, MarketRules, Snapshot  # noqa: E402
from dustsweep.core.policy import Policy  # noqa: E402
from dustsweep.core.valuation import Valuer  # noqa: E402
from dustsweep.exchanges.binance.parse import parse_markets, parse_prices  # noqa: E402
from dustsweep.storage.state import RulesCache  # noqa: E402

REAL = REPO.parent / "shared" / "fixtures" / "real"
BUNDLED = REPO / "dustsweep" / "sim" / "data"
CLASSIFY_TARGET_MS = 50.0
CACHE_TARGET_MS = 30.0
# The 2025 ticker snapshot has one hand-edited value (ETHBTC "16.1", SOURCES.md); the real
# price at the time was 0.01882. Left as is, every ETH-bridged value would be ~850x too high.
PRICE_FIXES = {"ETHBTC": Decimal("0.01882")}
SEED = 20250420


@dataclass(frozen=True)
class Data:
    """The parsed snapshot and where it came from."""

    source: str
    markets: dict[str, MarketRules]
    prices: dict[str, Decimal]
    parse_ms: float


def load_data() -> Data:
    """The full real snapshots when the shared fixtures are there, else the bundled ones."""
    info = REAL / "binance-exchangeInfo-20230908.json"
    ticker = REAL / "binance-ticker-price-20250420.json"
    source = f"real snapshots in {REAL}"
    if not (info.exists() and ticker.exists()):
        info = BUNDLED / "binance-exchangeInfo.json"
        ticker = BUNDLED / "binance-ticker-price.json"
        source = f"BUNDLED trimmed snapshots in {BUNDLED} (real ones not found at {REAL})"
    start = time.process_time()
    rules = parse_markets(json.loads(info.read_bytes()))
    prices = parse_prices(json.loads(ticker.read_bytes()))
    parse_ms = (time.process_time() - start) * 1000
    for symbol, price in PRICE_FIXES.items():
        if symbol in prices:
            prices[symbol] = price
    return Data(source, {rule.symbol: rule for rule in rules}, prices, parse_ms)


def make_balances(data: Data, policy: Policy, count: int) -> tuple[list[Balance], int]:
    """``count`` distinct balances worth 0.01 to 30 in the quote (some locked, some unpriced).

    Values are spread on a log scale and a third of the amounts are round numbers, so every
    verdict shows up: dust below the minimums, sellable, partial (a residual below one step),
    no market (about one in seven is a delisted coin). Returns the balances and how many had to
    be made up because the snapshot has too few assets.
    """
    rng = random.Random(SEED)
    valuer = Valuer(data.markets, data.prices, policy.quote, policy.bridges)
    listed = {r.base for r in data.markets.values() if r.trading} - {policy.quote}
    delisted = {r.base for r in data.markets.values()} - listed - {policy.quote}
    chosen = rng.sample(sorted(listed), min(len(listed), count - count // 7))
    chosen += rng.sample(sorted(delisted), min(len(delisted), count - len(chosen)))
    invented = [f"NOMKT{i:03d}" for i in range(count - len(chosen))]
    balances = []
    for asset in chosen + invented:
        value = Decimal(str(round(10 ** rng.uniform(-2, 1.5), 4)))
        price = valuer.price_in_quote(asset)
        amount = value / price if price else Decimal(rng.randint(1, 5000))
        if rng.random() < 1 / 3:
            amount = round_to_two_digits(amount)  # a multiple of most steps: sellable
        amount = amount.quantize(Decimal("0.00000001"))
        locked = amount / 4 if rng.random() < 0.05 else Decimal(0)
        balances.append(Balance(asset=asset, free=amount - locked, locked=locked))
    return balances, len(invented)


def round_to_two_digits(amount: Decimal) -> Decimal:
    """``amount`` floored to two significant digits (e.g. 1234.5 -> 1200, 0.04567 -> 0.045)."""
    if amount <= 0:
        return amount
    unit = Decimal(1).scaleb(amount.adjusted() - 1)
    return (amount // unit) * unit


def median_ms(clock: Callable[[], float], action: Callable[[], Any], runs: int) -> list[float]:
    """Times of ``runs`` calls in ms after one warm-up call (imports, first-use caches)."""
    action()
    times = []
    for _ in range(runs):
        start = clock()
        action()
        times.append((clock() - start) * 1000)
    return times


def show(label: str, times: list[float], target: float | None = None) -> None:
    median = statistics.median(times)
    line = f"{label:<34} median {median:7.2f} ms  (min {min(times):.2f}, max {max(times):.2f})"
    if target is not None:
        line += f"  target < {target:.0f} ms: {'ok' if median < target else 'OVER'}"
    print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs (median is shown)")
    parser.add_argument("--balances", type=int, default=300, help="balances to classify")
    args = parser.parse_args(argv)

    print("== classification and rules cache (Binance) ==")
    data = load_data()
    print(f"data: {data.source}")
    trading = sum(1 for r in data.markets.values() if r.trading)
    print(
        f"rules: {len(data.markets)} symbols ({trading} trading), {len(data.prices)} prices; "
        f"parsed in {data.parse_ms:.0f} ms CPU (adapter parser, once per cache refresh)"
    )
    policy = Policy(quote="USDT")
    balances, invented = make_balances(data, policy, args.balances)
    convertible = frozenset(b.asset for b in balances[::3])
    snapshot = Snapshot(
        exchange="binance",
        account="bench",
        balances=tuple(balances),
        markets=data.markets,
        prices=data.prices,
        convertible=convertible,
    )
    note = f" ({invented} made-up assets with no market)" if invented else ""
    print(f"balances: {len(balances)}{note}")

    report = classify(snapshot, policy)
    verdicts = Counter(str(a.status) for a in report.assets)
    print("verdicts: " + ", ".join(f"{name} {n}" for name, n in sorted(verdicts.items())))
    show(
        f"classify {len(balances)} balances (CPU)",
        median_ms(time.process_time, lambda: classify(snapshot, policy), args.runs),
        CLASSIFY_TARGET_MS,
    )

    rules = list(data.markets.values())
    with tempfile.TemporaryDirectory(prefix="dustsweep-bench-") as folder:
        cache = RulesCache(Path(folder))
        url = "https://api.binance.com"
        saves = median_ms(time.perf_counter, lambda: cache.save("binance", url, rules), args.runs)
        loads = median_ms(time.perf_counter, lambda: cache.load("binance", url, 3600), args.runs)
        loaded = cache.load("binance", url, 3600)
        size_kb = cache.path("binance", url).stat().st_size / 1024
    if loaded != rules:
        print("WARNING: the rules read back from the cache differ from the ones saved")
    print(f"rules cache file: {size_kb:.0f} KiB for {len(rules)} symbols")
    show("rules cache save (wall)", saves)
    show("rules cache load (wall)", loads)
    both = [s + lo for s, lo in zip(saves, loads, strict=True)]
    show("rules cache save + load (wall)", both, CACHE_TARGET_MS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
