"""Exchange adapters and the one registry of them by name.

Each exchange is a package (``binance/``, ``bybit/``) whose ``adapter`` module implements
``base.Exchange`` and imports its SDK; its ``capabilities`` module declares, without the SDK,
what the core may ask of it (``base.Capabilities``). This registry is the only table keyed by
exchange name outside the adapters: ``open_exchange`` imports an adapter (and so its SDK) only
when an account is opened, which keeps ``--help`` fast. To add an exchange: a package with
``capabilities.py`` and ``adapter.py``, one line in ``EXCHANGES`` and its name in
``names.EXCHANGE_NAMES``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from dustsweep.exchanges.binance import capabilities as binance_caps
from dustsweep.exchanges.bybit import capabilities as bybit_caps

if TYPE_CHECKING:
    from dustsweep.exchanges.base import Capabilities, Credentials, Exchange


@dataclass(frozen=True)
class ExchangeInfo:
    """One exchange: what it can do, and its adapter class as "module:Class" (imported lazily)."""

    capabilities: Capabilities
    adapter: str


EXCHANGES: dict[str, ExchangeInfo] = {
    "binance": ExchangeInfo(
        binance_caps.CAPABILITIES, "dustsweep.exchanges.binance.adapter:BinanceExchange"
    ),
    "bybit": ExchangeInfo(
        bybit_caps.CAPABILITIES, "dustsweep.exchanges.bybit.adapter:BybitExchange"
    ),
}


def _info(name: str) -> ExchangeInfo:
    try:
        return EXCHANGES[name]
    except KeyError:
        raise ValueError(f"unknown exchange {name!r}") from None


def capabilities_of(name: str) -> Capabilities:
    """What exchange ``name`` can do, without importing its SDK (config validation uses it)."""
    return _info(name).capabilities


def open_exchange(kind: str, credentials: Credentials) -> Exchange:
    """Build the adapter for ``kind``; imports its SDK only now (keeps ``--help`` fast)."""
    module_name, _, class_name = _info(kind).adapter.partition(":")
    adapter = getattr(importlib.import_module(module_name), class_name)
    return cast("Exchange", adapter(credentials))
