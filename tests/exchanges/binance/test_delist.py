"""The Binance delisting schedule and BNB fee setting through the real python-binance client:
against the simulator, and against fixed answers for the shapes and readings it does not
produce (a schedule that must be signed, an unreadable answer)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from dustsweep.errors import ServerError
from dustsweep.sim.binance.dialect import BinanceSim
from dustsweep.sim.core import SimRequest, SimResponse
from dustsweep.sim.server import SimServer
from tests.exchanges.binance.test_adapter import KEY, SECRET, adapter, serve
from tests.exchanges.binance.test_adapter import server as server  # the fixture
from tests.exchanges.binance.test_adapter import stub as stub  # the fixture

PATH = "/sapi/v1/spot/delist-schedule"
ACCOUNT = {"name": "main", "api_key": KEY, "api_secret": SECRET, "balances": {"USDT": "1"}}


@pytest.fixture
def sim(server: SimServer) -> Iterator[tuple[SimServer, BinanceSim]]:
    dialect = BinanceSim.from_scenario(
        {
            "accounts": [{**ACCOUNT, "bnb_burn": True}],
            "delist_schedule": [
                {"delistTime": 1_900_000_000_000, "symbols": ["ADAUSDT", "SHIBUSDT"]},
                {"delistTime": 1_800_000_000_000, "symbols": ["ADAUSDT"]},
            ],
        }
    )
    yield serve(server, dialect), dialect


def test_schedule_is_read_unsigned_and_parsed(sim: tuple[SimServer, BinanceSim]) -> None:
    server, _ = sim
    batches = adapter(server.url).fetch_delist_schedule()
    assert batches == [
        (1_900_000_000_000, ["ADAUSDT", "SHIBUSDT"]),
        (1_800_000_000_000, ["ADAUSDT"]),
    ]
    sent = [r for r in server.requests if r[1] == PATH]
    assert sent == [("GET", PATH)]


def test_bnb_fee_setting_is_read(sim: tuple[SimServer, BinanceSim]) -> None:
    server, dialect = sim
    exchange = adapter(server.url)
    assert exchange.bnb_fees_on() is True
    dialect.account("main").bnb_burn = False
    assert exchange.bnb_fees_on() is False


def test_a_schedule_that_must_be_signed_is_asked_again_signed(stub: Any) -> None:
    body = json.dumps([{"delistTime": 1_800_000_000_000, "symbols": ["XYZUSDT"]}]).encode()

    def answer(request: SimRequest) -> SimResponse:
        if "signature=" not in request.query:
            text = "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
            return SimResponse(400, {"code": -1102, "msg": text})
        return SimResponse(200, raw=body)

    server, dialect = stub({("GET", PATH): answer})
    assert adapter(server.url).fetch_delist_schedule() == [(1_800_000_000_000, ["XYZUSDT"])]
    assert [("signature=" in r.query) for r in dialect.seen] == [False, True]


@pytest.mark.parametrize(
    "body",
    [b'{"delistTime": 1}', b'[{"symbols": ["A"]}]', b'[{"delistTime": 1, "symbols": "ADA"}]'],
)
def test_an_unreadable_schedule_is_a_server_error(stub: Any, body: bytes) -> None:
    server, _ = stub({("GET", PATH): SimResponse(200, raw=body)})
    with pytest.raises(ServerError) as caught:
        adapter(server.url).fetch_delist_schedule()
    assert "delisting schedule" in str(caught.value)
    assert "\n" not in str(caught.value)
