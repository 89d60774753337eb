"""Start the simulator for a scenario: one loopback server per exchange, sharing one clock."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dustsweep.sim.core import SimClock
from dustsweep.sim.server import SimServer


@dataclass
class RunningSim:
    """The servers of one scenario. ``servers`` maps "binance"/"bybit" to its SimServer."""

    clock: SimClock
    servers: dict[str, SimServer] = field(default_factory=dict)

    def url(self, exchange: str) -> str:
        return self.servers[exchange].url

    def dialect(self, exchange: str) -> Any:
        return self.servers[exchange].dialect

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def __enter__(self) -> RunningSim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sim(
    scenario: Mapping[str, Any],
    *,
    clock: SimClock | None = None,
    ports: Mapping[str, int] | None = None,
) -> RunningSim:
    """Start a server for every exchange section present in ``scenario``."""
    clock = clock or SimClock()
    running = RunningSim(clock=clock)
    ports = ports or {}
    try:
        if "binance" in scenario:
            from dustsweep.sim.binance.dialect import BinanceSim

            dialect: Any = BinanceSim.from_scenario(dict(scenario["binance"]), clock)
            running.servers["binance"] = SimServer(dialect, port=ports.get("binance", 0)).start()
        if "bybit" in scenario:
            from dustsweep.sim.bybit.dialect import BybitSim

            dialect = BybitSim.from_scenario(dict(scenario["bybit"]), clock)
            running.servers["bybit"] = SimServer(dialect, port=ports.get("bybit", 0)).start()
    except BaseException:
        running.stop()
        raise
    return running


def load_scenario(path: Path) -> dict[str, Any]:
    """Read a scenario from a .json or .toml file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".toml":
        return tomllib.loads(text)
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a scenario is a JSON object with 'binance' and/or 'bybit'")
    return data
