"""The registry's capabilities (read by config validation without importing an SDK) are the
ones each adapter declares."""

from __future__ import annotations

import pytest

from dustsweep.exchanges import EXCHANGES, capabilities_of


@pytest.mark.parametrize("name", EXCHANGES)
def test_registry_matches_the_adapter(name: str) -> None:
    if name == "binance":
        from dustsweep.exchanges.binance import BinanceExchange as Adapter
    else:
        from dustsweep.exchanges.bybit import BybitExchange as Adapter  # type: ignore[assignment]
    assert capabilities_of(name) == Adapter.capabilities


def test_an_unknown_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown exchange 'kraken'"):
        capabilities_of("kraken")
