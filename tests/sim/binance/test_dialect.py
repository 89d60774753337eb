"""The Binance dialect driven by the real python-binance client: market data, request weight,
routing. Every assertion reads what the exchange answered on the wire."""

from __future__ import annotations

from typing import Any

import requests

from tests.sim.binance.helpers import (
    api_error,
    scenario,
)

# ---- market data -------------------------------------------------------------------------------


def test_exchange_info_is_the_real_snapshot_with_overrides_applied(start: Any) -> None:
    sim, _, client = start(
        scenario(
            symbols={
                "ADAUSDT": {"status": "HALT"},
                "XRPUSDT": {"filters": {"NOTIONAL": {"minNotional": "10"}}},
                "LTCBTC": {"remove": True},
            }
        )
    )
    symbols = {s["symbol"]: s for s in client.get_exchange_info()["symbols"]}
    assert symbols["ADAUSDT"]["status"] == "HALT"
    notional = next(f for f in symbols["XRPUSDT"]["filters"] if f["filterType"] == "NOTIONAL")
    assert notional["minNotional"] == "10"
    assert notional["applyMinToMarket"] is True  # untouched fields keep the snapshot's value
    assert "LTCBTC" not in symbols and symbols["BCCBTC"]["status"] == "BREAK"
    sim.set_symbol("ADAUSDT", status="TRADING")
    assert client.get_symbol_info("ADAUSDT")["status"] == "TRADING"


def test_exchange_info_for_named_symbols_and_an_unknown_one(start: Any) -> None:
    _, _, client = start()
    answer = client._get("exchangeInfo", data={"symbols": '["ADAUSDT","XRPUSDT"]'})
    assert [s["symbol"] for s in answer["symbols"]] == ["ADAUSDT", "XRPUSDT"]
    error = api_error(lambda: client._get("exchangeInfo", data={"symbol": "NOPEUSDT"}))
    assert (error.code, error.message) == (-1121, "Invalid symbol.")


def test_tickers_leave_out_symbols_without_a_price(start: Any) -> None:
    sim, _, client = start(scenario(prices={"ADAUSDT": "0.5"}, drop_prices=["XRPUSDT"]))
    tickers = {t["symbol"]: t["price"] for t in client.get_all_tickers()}
    assert tickers["ADAUSDT"] == "0.50000000"
    assert "XRPUSDT" not in tickers and "XRPBTC" in tickers
    assert client.get_symbol_ticker(symbols='["ADAUSDT","XRPUSDT"]') == [
        {"symbol": "ADAUSDT", "price": "0.50000000"}
    ]
    assert client.get_avg_price(symbol="ADAUSDT")["price"] == "0.50000000"
    sim.set_price("ADAUSDT", "0.61")
    assert client.get_orderbook_ticker(symbol="ADAUSDT")["bidPrice"] == "0.61000000"


def test_weight_headers_count_per_minute(start: Any) -> None:
    _, _, client = start()
    client.get_server_time()
    first = int(client.response.headers["X-MBX-USED-WEIGHT-1M"])
    client.get_exchange_info()
    assert int(client.response.headers["X-MBX-USED-WEIGHT-1M"]) == first + 20
    client.get_dust_assets()
    assert client.response.headers["X-SAPI-USED-IP-WEIGHT-1M"] == "1"


def test_weight_limit_answers_429_with_retry_after(start: Any) -> None:
    _, _, client = start(scenario(weight_limit=25))
    client.get_exchange_info()
    error = api_error(client.get_exchange_info)
    assert (error.status_code, error.code) == (429, -1003)
    assert 1 <= int(error.response.headers["Retry-After"]) <= 60


def test_unknown_path_is_a_json_404(start: Any) -> None:
    _, server, _ = start()
    answer = requests.get(f"{server.url}/api/v3/nothing-here", timeout=5)
    assert answer.status_code == 404
    assert answer.json()["code"] == -1000
