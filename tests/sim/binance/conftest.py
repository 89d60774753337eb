"""The ``start`` fixture of the Binance dialect tests: simulators stopped at the end of a test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from binance.client import Client

from dustsweep.sim.binance.dialect import BinanceSim
from dustsweep.sim.server import SimServer
from tests.sim.binance.helpers import (
    SimPool,
)


@pytest.fixture
def start() -> Iterator[Callable[..., tuple[BinanceSim, SimServer, Client]]]:
    pool = SimPool()
    yield pool.start
    pool.stop_all()
