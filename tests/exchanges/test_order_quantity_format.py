"""Both adapters write order quantities without exponents (issue 9).

``str(Decimal("1E+1"))`` is ``"1E+1"`` and ``str(Decimal("0.00000010"))`` is ``"1.0E-7"``; both
exchanges refuse such text. A property test over the two adapters' order parameters, and an
end-to-end check that exponent-prone quantities are accepted by the simulator (as strict as the
exchanges: it refuses an exponent) through the real SDKs.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dustsweep.exchanges.base import Credentials
from dustsweep.exchanges.binance import adapter as binance
from dustsweep.exchanges.bybit import adapter as bybit
from dustsweep.sim.run import start_sim

PLAIN = re.compile(r"^[0-9]+(\.[0-9]+)?$")
BUILDERS = {"binance": (binance.market_sell_params, "quantity"),
            "bybit": (bybit.market_sell_params, "qty")}  # fmt: skip

# Positive quantities in every shape a Decimal can take: 1E+3, 1.20E-7, 0E-8-like scales...
quantities = st.builds(
    lambda digits, exponent: Decimal(digits).scaleb(exponent),
    st.integers(min_value=1, max_value=10**18),
    st.integers(min_value=-18, max_value=12),
)


@pytest.mark.parametrize("exchange", sorted(BUILDERS))
@settings(max_examples=300, deadline=None)
@given(qty=quantities)
def test_order_quantity_is_plain_decimal_text(exchange: str, qty: Decimal) -> None:
    build, key = BUILDERS[exchange]
    text = build("ADAUSDT", qty, "ds-abc-ADA")[key]
    assert isinstance(text, str) and PLAIN.match(text), text
    assert Decimal(text) == qty  # nothing rounded away


KEY, SECRET = "fmt-key-1", "fmt-secret-1"


@pytest.mark.parametrize(
    ("exchange", "symbol", "asset", "qty"),
    [
        ("binance", "ADAUSDT", "ADA", Decimal("1E+1")),
        ("binance", "ADAUSDT", "ADA", Decimal("1.0E+1")),
        ("bybit", "XRPUSDT", "XRP", Decimal("1E+1")),
        ("bybit", "XRPUSDT", "XRP", Decimal("1.0E+1")),
    ],
)
def test_exponent_prone_quantities_are_accepted_by_the_exchange(
    exchange: str, symbol: str, asset: str, qty: Decimal, tmp_path: Path
) -> None:
    account = {"name": "main", "api_key": KEY, "api_secret": SECRET, "balances": {asset: "12"}}
    sim = start_sim({exchange: {"accounts": [account]}})
    try:
        creds = Credentials("main", KEY, SECRET, base_url=sim.url(exchange), timeout=5.0)
        adapter: Any
        if exchange == "binance":
            adapter = binance.BinanceExchange(creds)
        else:
            adapter = bybit.BybitExchange(creds, order_poll_delays=(0.0, 0.01, 0.02))
        try:
            result = adapter.market_sell(symbol, qty, "ds-fmt-1")
        finally:
            adapter.close()
        assert result.filled_qty == qty
        free, _locked = sim.dialect(exchange).account("main").wallet.get(asset)
        assert Decimal(free) == Decimal(12) - qty
    finally:
        sim.stop()
