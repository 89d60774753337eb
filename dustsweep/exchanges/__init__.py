"""Exchange adapters. The SDK-backed modules are imported lazily by ``open_exchange``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dustsweep.exchanges.base import Credentials, Exchange

EXCHANGES = ("binance", "bybit")


def open_exchange(kind: str, credentials: Credentials) -> Exchange:
    """Build the adapter for ``kind``; imports its SDK only now (keeps ``--help`` fast)."""
    if kind == "binance":
        from dustsweep.exchanges.binance import BinanceExchange

        return BinanceExchange(credentials)
    if kind == "bybit":
        from dustsweep.exchanges.bybit import BybitExchange

        return BybitExchange(credentials)
    raise ValueError(f"unknown exchange {kind!r}")
