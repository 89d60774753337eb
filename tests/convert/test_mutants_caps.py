"""What an adapter can do for conversions (convert/caps.py): edges found by mutation testing.

A refused target names the targets that do work (the adapter's list, or asked of the exchange
just now), through the real adapters against the simulator."""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal as D
from typing import Any

import pytest

from dustsweep.convert.caps import (
    conversion_finder,
    fetch_convert_limits,
    fetch_previews,
    rfq,
    rfq_status_by_quote,
    unsupported_target,
)
from dustsweep.errors import Banned, ConversionRejected
from tests.convert.test_execute import (
    DUST_BTC,
    DUST_CONVERT,
    DUST_QUERY,
    DeskFactory,
    binance_section,
    desk,
)
from tests.convert.test_execute_bybit import bybit_section
from tests.convert.test_rfq import apt_section

__all__ = ["desk"]  # the fixture


def refusal(d_exchange: object, target: str) -> ConversionRejected:
    with pytest.raises(ConversionRejected) as err:
        fetch_previews(d_exchange, target)  # type: ignore[arg-type]
    return err.value


def test_binance_asks_the_other_usual_targets_and_names_those_that_work(
    desk: DeskFactory,
) -> None:
    d = desk(section=binance_section(conversion={"targets": ["BNB", "USDC"]}))
    err = refusal(d.exchange, "DOGE")
    assert str(err) == (
        "binance account 'main': cannot convert small balances into DOGE; targets that work "
        "for this account (asked the exchange just now): BNB, USDC"
    )
    assert err.kind == "unsupported_target"


def test_the_refused_target_itself_is_not_asked_again(desk: DeskFactory) -> None:
    d = desk(section=binance_section(conversion={"targets": ["BNB", "USDC"]}))
    asked_before = d.count("POST", DUST_QUERY)
    err = refusal(d.exchange, "USDT")
    assert str(err).endswith(
        "into USDT; targets that work for this account (asked the exchange just now): BNB, USDC"
    )
    # the refusal itself, then USDC (BNB is previewed from dust-btc): USDT is not asked again
    assert d.count("POST", DUST_QUERY) - asked_before == 2
    assert d.count("POST", DUST_CONVERT) == 0


def test_when_no_usual_target_works_the_message_says_which_were_tried(
    desk: DeskFactory,
) -> None:
    d = desk(section=binance_section(conversion={"targets": ["ETH"]}))
    body = {"code": -1102, "msg": "Mandatory parameter 'asset' was not sent."}
    d.server.faults.add("http", DUST_BTC, status=400, body=body)  # BNB refused as well
    err = refusal(d.exchange, "DOGE")
    assert str(err) == (
        "binance account 'main': cannot convert small balances into DOGE; none of BNB, USDT, "
        "USDC works right now either: is any balance small enough?"
    )


def test_the_refusal_keeps_the_exchanges_code_and_status(desk: DeskFactory) -> None:
    d = desk(section=binance_section(conversion={"targets": ["BNB"]}))
    with pytest.raises(ConversionRejected) as raw:
        d.exchange.preview_conversion("DOGE")
    assert raw.value.code is not None and raw.value.http_status is not None
    err = unsupported_target(d.exchange, "DOGE", raw.value)
    assert (err.code, err.http_status) == (raw.value.code, raw.value.http_status)
    assert err.kind == "unsupported_target"
    assert str(err).endswith("(asked the exchange just now): BNB")


def test_bybit_names_its_own_targets_without_asking(desk: DeskFactory) -> None:
    d = desk("bybit", bybit_section({"XRP": "0.5"}))
    refused = ConversionRejected("not a target", kind="unsupported_target", code=7, http_status=200)
    err = unsupported_target(d.exchange, "USDT", refused)
    assert str(err) == (
        "bybit account 'main': cannot convert small balances into USDT; targets that work for "
        "this account: MNT, USDC"
    )
    assert (err.code, err.http_status) == (7, 200)
    assert d.count("POST", "/v5/asset/covert/get-quote") == 0


def test_an_optional_method_is_handed_out_only_when_the_record_says_so(
    desk: DeskFactory,
) -> None:
    exchange: Any = desk().exchange
    views = {"rfq_status_by_quote": rfq_status_by_quote, "rfq_convert": rfq}
    for flag, view in views.items():
        assert view(exchange) is exchange
        declared = exchange.capabilities
        exchange.capabilities = replace(declared, **{flag: False})
        assert view(exchange) is None
        exchange.capabilities = declared
    assert conversion_finder(exchange) is None  # Binance finds conversions in its log instead
    bybit: Any = desk("bybit", bybit_section({"XRP": "0.5"})).exchange
    assert conversion_finder(bybit) is bybit


CONVERT_INFO = "/sapi/v1/convert/exchangeInfo"


def test_convert_limits_are_each_pairs_limits_into_the_target(desk: DeskFactory) -> None:
    d = desk(section=apt_section())
    pairs = {p.from_asset: p for p in d.exchange.convert_pairs(to_asset="BNB")}
    limits = fetch_convert_limits(d.exchange, "bnb")
    assert limits is not None and set(limits) == set(pairs) and "APT" in limits
    for asset, limit in limits.items():
        pair = pairs[asset]
        assert (limit.asset, limit.target) == (asset, "BNB")
        assert (limit.min_amount, limit.max_amount) == (pair.from_min, pair.from_max)
        assert (limit.min_received, limit.max_received) == (pair.to_min, pair.to_max)
        assert limit.max_amount is not None and limit.max_amount > 0


def test_a_maximum_of_0_means_no_maximum(desk: DeskFactory) -> None:
    d = desk(section=apt_section())
    for field in ("fromAssetMaxAmount", "toAssetMaxAmount"):
        d.server.faults.add("garble", CONVERT_INFO, field=field, value="0")
    limits = fetch_convert_limits(d.exchange, "BNB")
    assert limits is not None
    apt = limits["APT"]
    assert (apt.max_amount, apt.max_received) == (None, None)
    assert apt.min_amount > 0 and apt.min_received > 0


def test_convert_pairs_that_cannot_be_read_only_remove_the_convert_route(
    desk: DeskFactory, caplog: pytest.LogCaptureFixture
) -> None:
    d = desk(section=apt_section())
    d.server.faults.add("http", CONVERT_INFO, status=500)
    with caplog.at_level(logging.INFO, logger="dustsweep.convert.caps"):
        assert fetch_convert_limits(d.exchange, "bnb") is None
    (said,) = [r.getMessage() for r in caplog.records if r.name == "dustsweep.convert.caps"]
    assert said.startswith("Convert pairs into BNB unavailable: ") and "500" in said


def test_pairs_into_another_asset_are_passed_over(desk: DeskFactory) -> None:
    d = desk(section=apt_section())
    limits = {"fromAssetMinAmount": "0.3", "fromAssetMaxAmount": "0.9"}  # small maxima count
    limits |= {"toAssetMinAmount": "0.02", "toAssetMaxAmount": "0.5"}
    pairs = [  # an exchange that ignores the toAsset filter
        {"fromAsset": "APT", "toAsset": "ETH", **limits},
        {"fromAsset": "APT", "toAsset": "BNB", **limits},
        {"fromAsset": "XRP", "toAsset": "BNB", **limits},
    ]
    d.server.faults.add("http", CONVERT_INFO, status=200, body=pairs)
    got = fetch_convert_limits(d.exchange, "BNB")
    assert got is not None and sorted(got) == ["APT", "XRP"]
    assert (got["APT"].target, got["APT"].max_amount, got["APT"].max_received) == (
        "BNB",
        D("0.9"),
        D("0.5"),
    )


def test_a_ban_on_the_convert_pairs_stops_the_run(desk: DeskFactory) -> None:
    d = desk(section=apt_section())
    d.server.faults.ban(418, path=CONVERT_INFO, retry_after=120)
    with pytest.raises(Banned):
        fetch_convert_limits(d.exchange, "BNB")
