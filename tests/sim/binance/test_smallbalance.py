"""Small-balance conversion and Binance Convert in the Binance dialect, via python-binance."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from binance.client import Client

from dustsweep.sim.binance.dialect import BinanceSim
from dustsweep.sim.server import SimServer
from tests.sim.binance.helpers import SimPool, api_error, scenario, sync_clock

D = Decimal
HOUR_MS = 3_600_000

# Round prices so the expected BNB/USDT amounts can be worked out by hand.
DUST_PRICES = {
    "XRPBTC": "0.00002",
    "XRPBNB": "0.003",
    "XRPUSDT": "2",
    "BNBUSDT": "600",
    "BTCUSDT": "80000",
}
DUST_BALANCES = {
    "XRP": "0.5",  # 0.00001 BTC -> 0.0015 BNB
    "DOGE": "3",
    "USDT": "0.7",  # the quote asset itself is small dust too
    "BNB": "0.01",  # the target: never listed by dust-btc
    "BTC": "0.5",  # far above the 0.001 BTC ceiling
    "LDUSDT": "3.2",  # Simple Earn position: no market, not convertible
    "GAL": "0.5",  # delisted (scenario: ineligible)
}


def dust_scenario(**conversion: Any) -> dict[str, Any]:
    rules = {"ineligible": ["GAL"], **conversion}
    return scenario(balances=DUST_BALANCES, prices=DUST_PRICES, conversion=rules)


@pytest.fixture
def start() -> Iterator[Callable[..., tuple[BinanceSim, SimServer, Client]]]:
    pool = SimPool()
    yield pool.start
    pool.stop_all()


def dust_convert(client: Client, **data: str) -> Any:
    """python-binance has no method for dust-convert: the generic helper, as the adapter does."""
    return client._request_margin_api("post", "asset/dust-convert/convert", signed=True, data=data)


def convertible(client: Client, target: str) -> Any:
    return client._request_margin_api(
        "post",
        "asset/dust-convert/query-convertible-assets",
        signed=True,
        data={"targetAsset": target},
    )


# ---- dust -> BNB -------------------------------------------------------------------------------


def test_dust_btc_lists_every_small_priced_balance_but_bnb(start: Any) -> None:
    _, _, client = start(dust_scenario())
    preview = client.get_dust_assets()
    details = {d["asset"]: d for d in preview["details"]}
    assert sorted(details) == ["DOGE", "USDT", "XRP"]
    assert details["XRP"] == {
        "asset": "XRP",
        "assetFullName": "XRP",
        "amountFree": "0.5",
        "toBTC": "0.00001000",
        "toBNB": "0.00150000",
        "toBNBOffExchange": "0.00147000",
        "exchange": "0.00003000",  # the 2 % service charge
    }
    assert preview["dribbletPercentage"] == "0.02"
    assert D(preview["totalTransferBNB"]) == sum(D(d["toBNB"]) for d in details.values())


def test_transfer_dust_with_a_comma_list_converts_each_asset_net_of_the_fee(start: Any) -> None:
    sim, _, client = start(dust_scenario())
    preview = {d["asset"]: d for d in client.get_dust_assets()["details"]}
    answer = client.transfer_dust(asset="XRP,DOGE")  # sent and signed as asset=XRP%2CDOGE
    results = {r["fromAsset"]: r for r in answer["transferResult"]}
    assert sorted(results) == ["DOGE", "XRP"]
    assert results["XRP"]["transferedAmount"] == "0.00147000"
    assert results["XRP"]["serviceChargeAmount"] == "0.00003000"
    wallet = sim.account("main").wallet
    assert wallet.get("XRP")[0] == 0 and wallet.get("DOGE")[0] == 0
    credited = D(preview["XRP"]["toBNBOffExchange"]) + D(preview["DOGE"]["toBNBOffExchange"])
    assert wallet.get("BNB")[0] == D("0.01") + credited
    assert D(answer["totalTransfered"]) == credited
    log = client.get_dust_log()
    assert log["total"] == 1
    row = log["userAssetDribblets"][0]
    assert {d["fromAsset"] for d in row["userAssetDribbletDetails"]} == {"XRP", "DOGE"}
    assert {d["targetAsset"] for d in row["userAssetDribbletDetails"]} == {"BNB"}


@pytest.mark.parametrize(
    ("assets", "code", "message"),
    [
        (
            "XRP,BTC",
            -5004,
            "The residual balances of BTC have exceeded 0.001BTC, Please re-choose.",
        ),
        ("XRP,SOL", -5003, "You don't have this asset."),
        ("XRP,GAL", -5001, "Don't allow transfer to micro assets."),
        ("XRP,LDUSDT", -5001, "Don't allow transfer to micro assets."),
        ("BNB", -5001, "Don't allow transfer to micro assets."),
    ],
)
def test_one_ineligible_asset_fails_the_whole_batch(
    start: Any, assets: str, code: int, message: str
) -> None:
    sim, _, client = start(dust_scenario())
    error = api_error(lambda: client.transfer_dust(asset=assets))
    assert (error.status_code, error.code, error.message) == (400, code, message)
    wallet = sim.account("main").wallet
    assert wallet.get("XRP")[0] == D("0.5") and wallet.get("BNB")[0] == D("0.01")
    assert client.get_dust_log()["total"] == 0
    assert client.transfer_dust(asset="XRP")["transferResult"]  # no cool-down was started


def test_cool_down_blocks_a_second_conversion_until_it_has_passed(start: Any) -> None:
    sim, _, client = start(dust_scenario())
    client.transfer_dust(asset="XRP")
    error = api_error(lambda: client.transfer_dust(asset="DOGE"))
    assert (error.code, error.message) == (-5006, "Only transfer once in 24 hours.")
    # The dust-convert endpoints share the cool-down.
    assert api_error(lambda: dust_convert(client, asset="DOGE", targetAsset="USDT")).code == -5006
    sim.clock.advance(6 * HOUR_MS - 60_000)
    sync_clock(client, sim)
    assert api_error(lambda: client.transfer_dust(asset="DOGE")).code == -5006
    sim.clock.advance(60_000)
    sync_clock(client, sim)
    assert client.transfer_dust(asset="DOGE")["transferResult"][0]["fromAsset"] == "DOGE"
    log = client.get_dust_log()["userAssetDribblets"]
    assert [row["userAssetDribbletDetails"][0]["fromAsset"] for row in log] == ["DOGE", "XRP"]


def test_cool_down_length_comes_from_the_scenario(start: Any) -> None:
    sim, _, client = start(dust_scenario(cooldown_hours=1))
    client.transfer_dust(asset="XRP")
    sim.clock.advance(HOUR_MS)
    sync_clock(client, sim)
    assert client.transfer_dust(asset="DOGE")["transferResult"]


# ---- dust-convert (any target) -----------------------------------------------------------------


def test_dust_convert_to_usdt_lists_bnb_and_converts_once_per_client_id(start: Any) -> None:
    sim, _, client = start(dust_scenario())
    preview = convertible(client, "USDT")
    details = {d["asset"]: d for d in preview["details"]}
    assert "BNB" in details and "USDT" not in details and "BTC" not in details
    assert details["BNB"]["toTargetAssetAmount"] == "6"  # 0.01 BNB x 600
    assert details["BNB"]["exchange"] == "0.12"
    assert details["BNB"]["toTargetAssetOffExchange"] == "5.88"
    assert preview["dribbletBase"] == "10"
    first = dust_convert(client, asset="BNB,XRP", targetAsset="USDT", clientId="sweep-7")
    wallet = sim.account("main").wallet
    # 5.88 USDT for the BNB, 0.98 USDT for 0.5 XRP at 2 (1 USDT less 2 %).
    assert wallet.get("USDT")[0] == D("0.7") + D("5.88") + D("0.98")
    assert wallet.get("BNB")[0] == 0 and wallet.get("XRP")[0] == 0
    again = dust_convert(client, asset="BNB,XRP", targetAsset="USDT", clientId="sweep-7")
    assert again == first
    assert wallet.get("USDT")[0] == D("7.56")
    assert (
        client.get_dust_log()["userAssetDribblets"][0]["userAssetDribbletDetails"][0]["targetAsset"]
        == "USDT"
    )


def test_dust_convert_refuses_assets_above_its_ceiling(start: Any) -> None:
    sim, _, client = start(dust_scenario())
    error = api_error(lambda: dust_convert(client, asset="XRP,BTC", targetAsset="USDT"))
    assert error.code == -5004
    assert "BTC" in error.message
    assert sim.account("main").wallet.get("XRP")[0] == D("0.5")


def test_unsupported_dust_convert_target_is_a_malformed_parameter(start: Any) -> None:
    _, _, client = start(dust_scenario())
    error = api_error(lambda: convertible(client, "DOGE"))
    assert (error.status_code, error.code) == (400, -1102)
    assert "targetAsset" in error.message
    assert api_error(lambda: dust_convert(client, asset="XRP", targetAsset="DOGE")).code == -1102


# ---- Binance Convert ---------------------------------------------------------------------------


def convert_scenario(**extra: Any) -> dict[str, Any]:
    return scenario(balances={"XRP": "20", "USDT": "5"}, prices={"XRPUSDT": "2"}, **extra)


def test_convert_pairs_have_limits_worth_about_ten_usdt(start: Any) -> None:
    _, _, client = start(convert_scenario())
    pairs = client.margin_v1_get_convert_exchange_info(fromAsset="XRP")
    usdt = next(p for p in pairs if p["toAsset"] == "USDT")
    assert (usdt["fromAssetMinAmount"], usdt["toAssetMinAmount"]) == ("5", "10")
    assert {p["fromAsset"] for p in pairs} == {"XRP"}
    explicit = {
        "fromAsset": "XRP",
        "toAsset": "USDT",
        "fromAssetMinAmount": "1",
        "fromAssetMaxAmount": "100",
        "toAssetMinAmount": "2",
        "toAssetMaxAmount": "200",
    }
    _, _, other = start(convert_scenario(convert_pairs=[explicit]))
    assert other.margin_v1_get_convert_exchange_info(toAsset="USDT") == [explicit]


def test_convert_quote_accept_and_status(start: Any) -> None:
    sim, _, client = start(convert_scenario())
    quote = client.convert_request_quote(fromAsset="XRP", toAsset="USDT", fromAmount="10")
    assert (quote["fromAmount"], quote["toAmount"], quote["ratio"]) == ("10", "20", "2")
    assert quote["inverseRatio"] == "0.5"
    assert quote["validTimestamp"] - sim.clock.now_ms() <= 10_000
    accepted = client.convert_accept_quote(quoteId=quote["quoteId"])
    assert accepted["orderStatus"] == "PROCESS"
    wallet = sim.account("main").wallet
    assert (wallet.get("XRP")[0], wallet.get("USDT")[0]) == (D("10"), D("25"))
    statuses = [
        client.margin_v1_get_convert_order_status(orderId=accepted["orderId"])["orderStatus"]
        for _ in range(2)
    ]
    assert statuses == ["PROCESS", "SUCCESS"]
    error = api_error(lambda: client.convert_accept_quote(quoteId=quote["quoteId"]))
    assert error.code == 345231  # a quote is accepted once
    assert wallet.get("XRP")[0] == D("10")
    now = sim.clock.now_ms()
    flow = client.get_convert_trade_history(startTime=now - 60_000, endTime=now)["list"]
    assert [(t["quoteId"], t["orderStatus"], t["toAmount"]) for t in flow] == [
        (quote["quoteId"], "SUCCESS", "20")
    ]


def test_convert_quote_by_target_amount_and_without_funds(start: Any) -> None:
    _, _, client = start(convert_scenario())
    by_target = client.convert_request_quote(fromAsset="XRP", toAsset="USDT", toAmount="12")
    assert by_target["fromAmount"] == "6" and "quoteId" in by_target
    too_much = client.convert_request_quote(fromAsset="XRP", toAsset="USDT", fromAmount="30")
    assert "quoteId" not in too_much and too_much["toAmount"] == "60"
    error = api_error(
        lambda: client.convert_request_quote(fromAsset="XRP", toAsset="USDT", fromAmount="1")
    )
    assert error.code == -1013


def test_an_expired_quote_cannot_be_accepted(start: Any) -> None:
    sim, _, client = start(convert_scenario())
    quote = client.convert_request_quote(fromAsset="XRP", toAsset="USDT", fromAmount="10")
    sim.clock.advance(10_001)
    sync_clock(client, sim)
    error = api_error(lambda: client.convert_accept_quote(quoteId=quote["quoteId"]))
    assert (error.status_code, error.code) == (400, 345231)
    assert "expired" in error.message
    assert sim.account("main").wallet.get("XRP")[0] == D("20")


def test_convert_without_access_is_unauthorized(start: Any) -> None:
    _, _, client = start(convert_scenario(account={"convert_access": False}))
    error = api_error(
        lambda: client.convert_request_quote(fromAsset="XRP", toAsset="USDT", fromAmount="10")
    )
    assert (error.code, error.message) == (-1002, "You are not authorized to execute this request.")
