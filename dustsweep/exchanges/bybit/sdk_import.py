"""pybit's HTTP session built from only the endpoint groups dustsweep calls.

``pybit.unified_trading`` defines ``HTTP`` as one dataclass over 21 endpoint mixins, and the same
module imports pybit's websocket managers (websocket-client, python-socks, simplejson, wsaccel)
for its ``WebSocket`` classes. dustsweep never opens a websocket and calls seven of the mixins.
Importing only those costs about half the CPU of importing ``unified_trading`` (~20 ms), which is
paid once per run by every command that reads a Bybit account (issue 12: six accounts within
1.3x one).

The class below is assembled exactly as pybit assembles ``HTTP`` (a dataclass over the mixins,
whose common base ``_V5HTTPManager`` holds the fields and the request code), so a session behaves
the same. It relies on pybit 5's module layout (``pybit._v5_<group>`` modules each defining one
``<Group>HTTP`` mixin), pinned in pyproject.toml and checked by
tests/exchanges/bybit/test_sdk_import.py against ``unified_trading.HTTP`` itself. Should the
layout differ, the ordinary ``pybit.unified_trading.HTTP`` is used: slower, never broken.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

#: module -> mixin class: every endpoint group whose methods the adapter calls by name.
MIXINS = (
    ("pybit._v5_market", "MarketHTTP"),  # server time, instruments, tickers
    ("pybit._v5_account", "AccountHTTP"),  # wallet balance
    ("pybit._v5_trade", "TradeHTTP"),  # orders
    ("pybit._v5_position", "PositionHTTP"),  # executions
    ("pybit._v5_asset", "AssetHTTP"),  # Convert, small-balance conversion, their histories
    ("pybit._v5_user", "UserHTTP"),  # API key information
    ("pybit._v5_misc", "MiscHTTP"),  # announcements (delistings)
)


def _assemble() -> Any:
    try:
        bases = tuple(getattr(importlib.import_module(m), name) for m, name in MIXINS)
    except (ImportError, AttributeError):  # another layout: take pybit's own class
        from pybit.unified_trading import HTTP as Full

        return Full

    @dataclass
    class HTTP(*bases):  # type: ignore[misc]  # mirrors pybit.unified_trading.HTTP
        def __init__(self, **args: Any) -> None:
            super().__init__(**args)

    return HTTP


HTTP: Any = _assemble()
