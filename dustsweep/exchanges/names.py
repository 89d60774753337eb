"""The names of the exchanges dustsweep has an adapter for, and nothing else.

A module without imports, so the config schema can check an account's ``exchange`` without
reaching the registry (``exchanges.EXCHANGES``, which holds each adapter's capabilities): a short
import chain, and nothing to load for ``--help``. The registry checks it names the same ones.
"""

from __future__ import annotations

EXCHANGE_NAMES: tuple[str, ...] = ("binance", "bybit")
