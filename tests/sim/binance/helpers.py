"""Shared by the tests of the Binance dialect: a scenario, the real client pointed at the
simulator, and a pool of simulators stopped at the end of a test."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import pytest
from binance.client import Client
from binance.exceptions import BinanceAPIException

from dustsweep.exchanges.binance.client import SigningClient
from dustsweep.exchanges.signing import hmac_signer
from dustsweep.sim.binance.dialect import BinanceSim
from dustsweep.sim.server import SimServer

KEY, SECRET = "demo-key", "demo-secret"
D = Decimal


def scenario(**extra: Any) -> dict[str, Any]:
    balances = extra.pop("balances", None) or {
        "ADA": "12.34",
        "USDT": "100",
        "BNB": "0.01",
        "XRP": "0.5",
    }
    account = {"name": "main", "api_key": KEY, "api_secret": SECRET, "balances": balances}
    account.update(extra.pop("account", {}))
    return {"accounts": [account], **extra}


def connect(server: SimServer, key: str = KEY, secret: str = SECRET) -> Client:
    """The real client, pointed at the simulator exactly as the adapter does it: python-binance
    with dustsweep's signing (its own signs decoded values, which the simulator rejects as
    Binance does since 2026-01-15; tests/exchanges/test_signing.py shows that)."""
    client = SigningClient(key, hmac_signer(secret), ping=False, requests_params={"timeout": 5})
    client.API_URL = f"{server.url}/api"
    client.MARGIN_API_URL = f"{server.url}/sapi"
    return client


def sync_clock(client: Client, sim: BinanceSim) -> None:
    """What a careful client does after the server's clock moved: measure the offset."""
    client.timestamp_offset = sim.clock.now_ms() - int(time.time() * 1000)


def api_error(call: Callable[[], Any]) -> BinanceAPIException:
    with pytest.raises(BinanceAPIException) as info:
        call()
    return info.value


class SimPool:
    """Simulators started by one test, all stopped at its end."""

    def __init__(self) -> None:
        self.servers: list[SimServer] = []

    def start(
        self, section: Mapping[str, Any] | None = None
    ) -> tuple[BinanceSim, SimServer, Client]:
        sim = BinanceSim.from_scenario(dict(section or scenario()))
        server = SimServer(sim).start()
        self.servers.append(server)
        return sim, server, connect(server)

    def stop_all(self) -> None:
        # SimServer.stop() waits up to serve_forever's 0.5 s poll; nothing here needs to wait.
        for server in self.servers:
            threading.Thread(target=server.stop, daemon=True).start()
