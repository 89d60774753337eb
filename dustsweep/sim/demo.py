"""The built-in demo: one Binance and one Bybit account whose balances show every verdict.

Rules and prices are the real bundled snapshots; only the balances (and a few halted or unpriced
markets, to show those verdicts) are made up. ``dustsweep demo`` serves this on 127.0.0.1.
"""

from __future__ import annotations

from typing import Any

DEMO_KEYS = {
    "binance": ("demo-binance-key", "demo-binance-secret"),
    "bybit": ("demo-bybit-key", "demo-bybit-secret"),
}

DEMO_SCENARIO: dict[str, Any] = {
    "binance": {
        "accounts": [
            {
                "name": "demo",
                "api_key": DEMO_KEYS["binance"][0],
                "api_secret": DEMO_KEYS["binance"][1],
                "balances": {
                    "USDT": "25.50000000",  # the quote asset itself
                    "BNB": "0.00835000",  # in the keep list
                    "BTC": "0.00312000",  # sellable, and not small
                    "ADA": "12.34560000",  # partial: 12.3 sells on ADAUSDT, 0.0456 stays
                    "XRP": "1.50000000",  # too small for XRPUSDT, 1 XRP sells on XRPETH
                    "LTC": "0.04170000",  # too small for USDT/BTC/BNB, sells on LTCETH
                    "DOGE": "20.70000000",  # dust: below every market's minimum value
                    "SHIB": "123456.70",  # dust
                    "TRX": "0.05000000",  # dust: below LOT_SIZE minQty
                    "BCC": "0.00420000",  # no market: every pair is in BREAK
                    "LINK": "0.33000000",  # no market: its pairs are halted
                    "GAL": "0.51200000",  # no market: listed, but no price
                    "LDUSDT": "3.20000000",  # Simple Earn position, not spot
                    "SOL": {"free": "0", "locked": "0.05000000"},  # held by an open order
                },
            }
        ],
        # The 2025 ticker snapshot has a stray ETHBTC print; give it a sane price.
        "prices": {"ETHBTC": "0.01882000"},
        "symbols": {
            "LINKUSDT": {"status": "HALT"},
            "LINKBTC": {"status": "HALT"},
            "LINKBNB": {"status": "HALT"},
            "LINKETH": {"status": "HALT"},
        },
        "drop_prices": ["GALUSDT", "GALBTC"],
    },
    "bybit": {
        "accounts": [
            {
                "name": "demo",
                "api_key": DEMO_KEYS["bybit"][0],
                "api_secret": DEMO_KEYS["bybit"][1],
                "balances": {
                    "USDT": "40",
                    "BTC": "0.0021",
                    "ETH": "0.000987",  # small and wholly sellable
                    "ADA": "5.555",  # partial
                    "FIL": "1.5",  # too small for FILUSDT (10 USDT), sells on FILUSDC
                    "XRP": {"walletBalance": "2.0", "locked": "0", "spotBorrow": "1.5"},
                    "DOGE": "3.37",  # dust: below minOrderQty
                    "SHIB": "5000",  # dust
                    "MNT": "0.42",  # dust
                    "GAL": "3",  # no market on Bybit
                    "KAVA": "2.5",  # listed, but no ticker
                    "LINK": "0.2",  # its pairs are not trading
                    "SOL": {"walletBalance": "0.1", "locked": "0.1"},
                },
            }
        ],
        "symbols": {"LINKUSDT": {"status": "Closed"}, "LINKUSDC": {"status": "Closed"}},
        "drop_prices": ["KAVAUSDT"],
    },
}


def demo_config_toml(binance_url: str, bybit_url: str) -> str:
    """The config a demo run uses: both demo accounts, keys inline (the file is made 0600)."""
    bkey, bsecret = DEMO_KEYS["binance"]
    ykey, ysecret = DEMO_KEYS["bybit"]
    return f"""\
quote = "USDT"
dust_threshold = "10"
keep = ["BNB"]
first_sync_days = 7  # the demo accounts are new: no older conversions to read

[[accounts]]
name = "binance-demo"
exchange = "binance"
api_key = "{bkey}"
api_secret = "{bsecret}"
base_url = "{binance_url}"
convert_to = "BNB"

[[accounts]]
name = "bybit-demo"
exchange = "bybit"
api_key = "{ykey}"
api_secret = "{ysecret}"
base_url = "{bybit_url}"
convert_to = "USDT"
"""
