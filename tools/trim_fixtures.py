"""Cut the real exchange snapshots in ../shared/fixtures/real/ down to the assets the simulator
and the demo use, and write them into dustsweep/sim/data/.

The rules and prices stay byte-for-byte what the exchange sent for the symbols kept; only whole
symbols are dropped. Run from the repository root: ``python tools/trim_fixtures.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real"
OUT = Path(__file__).resolve().parents[1] / "dustsweep" / "sim" / "data"

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


if __name__ == "__main__":
    main()
