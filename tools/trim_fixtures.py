"""Cut the real exchange snapshots in ../shared/fixtures/real/ down to what the repository needs.

Two outputs:
- dustsweep/sim/data/: the assets the simulator and the demo use;
- tests/fixtures/real/: the slices the adapter tests read (a few hundred symbols covering every
  combination of status, spot flag, order types and filters, plus the small example files whole).
  Tests read only these copies, so a fresh clone runs them with nothing beside it.

The rules and prices stay byte-for-byte what the exchange sent for the symbols kept; only whole
symbols are dropped. Like bench/, this tool reads ../shared when it is there (it is the only
place the full snapshots live) and is not needed to run the tests. Run from the repository root:
``python tools/trim_fixtures.py``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

# ../shared beside the repository; a worktree one level deeper finds it with DUSTSWEEP_SHARED.
REAL = (
    Path(os.environ.get("DUSTSWEEP_SHARED") or Path(__file__).resolve().parents[2] / "shared")
    / "fixtures"
    / "real"
)
OUT = Path(__file__).resolve().parents[1] / "dustsweep" / "sim" / "data"
TESTS_OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "real"
EVERY_NTH = 25  # besides the kept assets and each kind's first few: a thin even sample
PER_KIND = 5
WHOLE = (  # small files the tests read as they are
    "examples/binance-doc-examples-connector-go.json",
    "examples/bybit-doc-examples-v5.json",
    "examples/nautilus/bybit-http_get_wallet_balance_with_spot_borrow.json",
    "examples/nautilus/bybit-http_get_wallet_balance_spot_short.json",
)

ASSETS = {
    "BTC",
    "ETH",
    "BNB",
    "USDT",
    "USDC",
    "FDUSD",
    "TUSD",
    "XRP",
    "ADA",
    "DOGE",
    "SOL",
    "DOT",
    "LTC",
    "TRX",
    "LINK",
    "MATIC",
    "SHIB",
    "AVAX",
    "ATOM",
    "UNI",
    "LDO",
    "NEAR",
    "APT",
    "ARB",
    "OP",
    "FIL",
    "ETC",
    "XLM",
    "PEPE",
    "FLOKI",
    "MNT",
    "TON",
    "SUI",
    "WLD",
    "BCC",
    "VEN",
    "CVC",
    "SXP",
    "GAL",
    "KAVA",
    "ALGO",
    "HBAR",
    "VET",
    "EOS",
    "NEO",
    "ZIL",
    "ONE",
    "ICP",
    "SAND",
    "MANA",
}


def keep(base: str, quote: str) -> bool:
    return base in ASSETS and quote in ASSETS


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    info = json.loads((REAL / "binance-exchangeInfo-20230908.json").read_text())
    info["symbols"] = [s for s in info["symbols"] if keep(s["baseAsset"], s["quoteAsset"])]
    names = {s["symbol"] for s in info["symbols"]}
    (OUT / "binance-exchangeInfo.json").write_text(json.dumps(info, separators=(",", ":")))
    prices = json.loads((REAL / "binance-ticker-price-20250420.json").read_text())
    prices = [p for p in prices if p["symbol"] in names]
    (OUT / "binance-ticker-price.json").write_text(json.dumps(prices, separators=(",", ":")))

    instruments = json.loads((REAL / "bybit-instruments-spot-20250105-list.json").read_text())
    instruments = [i for i in instruments if keep(i["baseCoin"], i["quoteCoin"])]
    bnames = {i["symbol"] for i in instruments}
    (OUT / "bybit-instruments.json").write_text(json.dumps(instruments, separators=(",", ":")))
    tickers = json.loads((REAL / "bybit-tickers-spot-20250420.json").read_text())
    tickers["result"]["list"] = [t for t in tickers["result"]["list"] if t["symbol"] in bnames]
    (OUT / "bybit-tickers.json").write_text(json.dumps(tickers, separators=(",", ":")))
    summary = f"binance: {len(names)} symbols, {len(prices)} prices; bybit: {len(bnames)} symbols"
    sys.stdout.write(summary + "\n")
    write_test_slices()


def _binance_kind(symbol: dict[str, Any]) -> tuple[object, ...]:
    """What makes a symbol's rules different for the parser: status, flags, filter set."""
    filters = {f["filterType"]: f for f in symbol["filters"]}
    return (
        symbol["status"],
        symbol.get("isSpotTradingAllowed"),
        "MARKET" in symbol["orderTypes"],
        tuple(sorted(filters)),
        filters.get("NOTIONAL", {}).get("applyMinToMarket"),
        filters.get("MIN_NOTIONAL", {}).get("applyToMarket"),
    )


def _sample(items: list[dict[str, Any]], wanted: Any, kind: Any) -> list[dict[str, Any]]:
    """The kept assets, the first few of every kind, and every EVERY_NTH item, in order."""
    seen: dict[object, int] = {}
    kept = []
    for index, item in enumerate(items):
        k = kind(item)
        seen[k] = seen.get(k, 0) + 1
        if wanted(item) or seen[k] <= PER_KIND or index % EVERY_NTH == 0:
            kept.append(item)
    return kept


def write_test_slices() -> None:
    """tests/fixtures/real/: slices of the snapshots the adapter tests parse."""
    (TESTS_OUT / "examples" / "nautilus").mkdir(parents=True, exist_ok=True)
    for name in WHOLE:
        (TESTS_OUT / name).write_bytes((REAL / name).read_bytes())
    for name in (
        "binance-exchangeInfo-20230908.json",
        "binance-exchangeInfo-20230414-legacy-MIN_NOTIONAL.json",
    ):
        info = json.loads((REAL / name).read_text())
        info["symbols"] = _sample(
            info["symbols"], lambda s: keep(s["baseAsset"], s["quoteAsset"]), _binance_kind
        )
        (TESTS_OUT / name).write_text(json.dumps(info, separators=(",", ":")))
    for name in (
        "bybit-instruments-spot-20240823-list.json",
        "bybit-instruments-spot-20250105-list.json",
    ):
        items = json.loads((REAL / name).read_text())
        items = _sample(
            items,
            lambda i: keep(i["baseCoin"], i["quoteCoin"]),
            lambda i: (i.get("status"), tuple(sorted(i.get("lotSizeFilter", {})))),
        )
        (TESTS_OUT / name).write_text(json.dumps(items, separators=(",", ":")))
    tickers = json.loads((REAL / "bybit-tickers-spot-20250420.json").read_text())
    tickers["result"]["list"] = [
        t
        for i, t in enumerate(tickers["result"]["list"])
        if i % EVERY_NTH == 0 or t["symbol"] == "BTCUSDT"
    ]
    (TESTS_OUT / "bybit-tickers-spot-20250420.json").write_text(
        json.dumps(tickers, separators=(",", ":"))
    )
    sys.stdout.write(f"test slices written to {TESTS_OUT}\n")


if __name__ == "__main__":
    main()
