"""Shared by the tests of the Bybit dialect: a scenario section, the real pybit client pointed
at the simulator (``start``, ``Bybit.http``), ``code_of`` and ``follow_sim_clock``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pybit._helpers
import pytest
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP

import dustsweep.sim
from dustsweep.sim.bybit.dialect import BybitSim
from dustsweep.sim.server import SimServer

KEY, SECRET = "demo-key", "demo-secret"
BUNDLED = Path(dustsweep.sim.__file__).parent / "data" / "bybit-instruments.json"


def section(balances: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A scenario section with one account "main" (and any extra top-level keys)."""
    account: dict[str, Any] = {"name": "main", "api_key": KEY, "api_secret": SECRET}
    account["balances"] = dict(balances or {"USDT": "100", "XRP": "10"})
    for key in ("permissions", "fee_rate"):
        if key in extra:
            account[key] = extra.pop(key)
    return {"accounts": [account], **extra}


@dataclass
class Bybit:
    sim: BybitSim
    server: SimServer

    @property
    def url(self) -> str:
        return self.server.url

    def http(self, key: str = KEY, secret: str = SECRET, **kw: Any) -> HTTP:
        session = HTTP(
            api_key=key, api_secret=secret, max_retries=1, retry_codes={-1}, retry_delay=0, **kw
        )
        session.endpoint = self.url
        return session


def start(sim_factory: Callable[[Mapping[str, Any]], Any], scenario: Mapping[str, Any]) -> Bybit:
    running = sim_factory({"bybit": scenario})
    return Bybit(running.dialect("bybit"), running.servers["bybit"])


def code_of(call: Callable[[], Any]) -> int:
    """The retCode pybit raises for ``call`` (it must fail)."""
    with pytest.raises(InvalidRequestError) as info:
        call()
    return int(info.value.status_code)


def follow_sim_clock(monkeypatch: pytest.MonkeyPatch, sim: BybitSim) -> None:
    """Make pybit stamp requests with the simulator's clock (a client that synced its offset),
    so tests can move time by hours without tripping the 10002 window."""
    monkeypatch.setattr(pybit._helpers, "generate_timestamp", sim.clock.now_ms)


# The conversion scenarios (small balances and Convert).
UTA = "eb_convert_uta"
PRICES = {"SOLUSDT": "100", "XRPUSDT": "2", "ADAUSDT": "0.5", "USDCUSDT": "1"}
DUST = {"SOL": "0.000003", "XRP": "0.2", "USDT": "5"}


def dust_section(balances: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return section(balances or DUST, prices=dict(PRICES), **extra)
