"""Exchange adapters. The SDK-backed modules are imported lazily by ``open_exchange``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from dustsweep.exchanges.base import Capabilities, OrderPacing

if TYPE_CHECKING:
    from dustsweep.exchanges.base import Credentials, Exchange

EXCHANGES = ("binance", "bybit")

# What each adapter declares as its ``capabilities``, readable without importing its SDK
# (config validation). Must equal the adapters' class attributes (a test checks).
_CAPABILITIES = {
    "binance": Capabilities(
        notional_price=True,
        eligibility_target="BNB",
        conversion_cooldown=True,
        conversion_log=True,
        rfq_convert=True,
        rfq_status_by_quote=True,
        key_files=True,
    ),
    "bybit": Capabilities(
        order_pacing=OrderPacing(18, 1.0),
        native_targets=("MNT", "USDT", "USDC"),
        conversion_batch_limit=20,
        conversion_quote_ttl_ms=30_000,
        previews_in_batches=True,
        quotes_exact_assets=True,
        finds_conversion=True,
        rfq_convert=True,
        rfq_status_by_quote=True,
    ),
}


def capabilities_of(name: str) -> Capabilities:
    """The capabilities of the adapter registered as ``name``, without importing its SDK."""
    try:
        return _CAPABILITIES[name]
    except KeyError:
        raise ValueError(f"unknown exchange {name!r}") from None


# name -> "module:Class", imported only when an account is opened (keeps ``--help`` fast).
_ADAPTERS = {
    "binance": "dustsweep.exchanges.binance:BinanceExchange",
    "bybit": "dustsweep.exchanges.bybit:BybitExchange",
}


def open_exchange(kind: str, credentials: Credentials) -> Exchange:
    """Build the adapter for ``kind``; imports its SDK only now (keeps ``--help`` fast)."""
    if kind not in _ADAPTERS:
        raise ValueError(f"unknown exchange {kind!r}")
    module, _, cls = _ADAPTERS[kind].partition(":")
    adapter: Exchange = getattr(importlib.import_module(module), cls)(credentials)
    return adapter
