"""The simulator's conversion logs window and page as the real ones do (binance-api.md §7.3,
§8): tradeFlow needs startTime and endTime at most 30 days apart and says ``moreData`` when a
window holds more than ``limit``; the dust log holds the last 100 records of a query."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from binance.client import Client

from dustsweep.sim.binance.dialect import BinanceSim
from dustsweep.sim.server import SimServer
from tests.sim.binance.helpers import SimPool, api_error, scenario

DAY_MS = 86_400_000


@pytest.fixture
def start() -> Iterator[Callable[..., tuple[BinanceSim, SimServer, Client]]]:
    pool = SimPool()
    yield pool.start
    pool.stop_all()


def convert_twice(sim: BinanceSim, client: Client) -> None:
    for _ in range(2):
        quote = client.convert_request_quote(fromAsset="XRP", toAsset="USDT", fromAmount="5")
        client.convert_accept_quote(quoteId=quote["quoteId"])


def test_trade_flow_refuses_more_than_30_days_and_pages_with_more_data(start: Any) -> None:
    sim, _, client = start(scenario(balances={"XRP": "20"}, prices={"XRPUSDT": "2"}))
    convert_twice(sim, client)
    now = sim.clock.now_ms()
    error = api_error(
        lambda: client.get_convert_trade_history(startTime=now - 31 * DAY_MS, endTime=now)
    )
    assert error.code == -1127
    assert api_error(lambda: client.get_convert_trade_history(startTime=now)).code == -1102
    body = client.get_convert_trade_history(startTime=now - 30 * DAY_MS, endTime=now, limit=1)
    assert len(body["list"]) == 1 and body["moreData"] is True
    full = client.get_convert_trade_history(startTime=now - 30 * DAY_MS, endTime=now)
    assert len(full["list"]) == 2 and full["moreData"] is False


def test_dust_log_answers_at_most_the_last_100_records(start: Any) -> None:
    sim, _, client = start(scenario(balances={"XRP": "1"}))
    account = sim.account("main")
    now = sim.clock.now_ms()
    for i in range(120):
        account.dribblets.append(
            {"operateTime": now - i, "transId": i, "userAssetDribbletDetails": []}
        )
    body = client.get_dust_log(startTime=now - DAY_MS, endTime=now)
    assert body["total"] == 100
    assert [b["transId"] for b in body["userAssetDribblets"]][:2] == [0, 1]  # newest first
