"""Valuing balances in the quote asset: direct, inverse, through one bridge, or unknown."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from importlib import resources

from dustsweep.core.models import MarketRules
from dustsweep.core.valuation import Valuer

D = Decimal


def market(symbol: str, base: str, quote: str, *, trading: bool = True) -> MarketRules:
    return MarketRules(symbol=symbol, base=base, quote=quote, trading=trading)


def valuer(
    prices: dict[str, str],
    *,
    halted: frozenset[str] = frozenset(),
    quote: str = "USDT",
    bridges: tuple[str, ...] = ("USDT", "BTC", "ETH", "BNB"),
    extra: dict[str, tuple[str, str]] | None = None,
) -> Valuer:
    """Markets are named BASEQUOTE from the known quotes, or given explicitly in ``extra``."""
    pairs = dict(extra or {})
    for symbol in prices:
        if symbol not in pairs:
            for q in ("USDT", "USDC", "BTC", "ETH", "BNB", "TRY"):
                if symbol.endswith(q) and len(symbol) > len(q):
                    pairs[symbol] = (symbol[: -len(q)], q)
                    break
    markets = {s: market(s, b, q, trading=s not in halted) for s, (b, q) in pairs.items()}
    return Valuer(markets, {s: D(p) for s, p in prices.items()}, quote, bridges)


def test_the_quote_asset_is_worth_its_amount() -> None:
    assert valuer({}).value("USDT", D("3.5")) == D("3.5")


def test_direct_market() -> None:
    assert valuer({"ADAUSDT": "0.6252"}).value("ADA", D("10")) == D("6.2520")


def test_inverse_market() -> None:
    # Only USDTTRY exists: one TRY is worth 1/40 USDT.
    v = valuer({"USDTTRY": "40"})
    assert v.value("TRY", D("100")) == D("2.5")


def test_bridge_through_btc() -> None:
    v = valuer({"XYZBTC": "0.00000100", "BTCUSDT": "84800"})
    assert v.value("XYZ", D("1000")) == D("84.8")


def test_bridge_with_an_inverse_hop() -> None:
    # TRY -> BTC through BTCTRY (inverse), BTC -> USDT direct.
    v = valuer({"BTCTRY": "3231795", "BTCUSDT": "84800"}, bridges=("BTC",))
    result = v.value("TRY", D("3231795"))
    assert result is not None
    assert abs(result - D("84800")) < D("0.000001")


def test_direct_price_wins_over_a_bridge() -> None:
    # The real ticker snapshot has a hand-edited ETHBTC of 16.1: a bridge through it would say
    # one ETH is worth 1.36 million USDT.
    v = valuer({"ETHUSDT": "1595.9", "ETHBTC": "16.1", "BTCUSDT": "84800"})
    assert v.value("ETH", D(1)) == D("1595.9")


def test_bridges_are_tried_in_order() -> None:
    prices = {"XYZBTC": "0.000001", "BTCUSDT": "80000", "XYZETH": "0.0001", "ETHUSDT": "1000"}
    assert valuer(prices, bridges=("BTC", "ETH")).price_in_quote("XYZ") == D("0.080000")
    assert valuer(prices, bridges=("ETH", "BTC")).price_in_quote("XYZ") == D("0.1000")


def test_unpriced_is_none_never_zero() -> None:
    v = valuer({"BTCUSDT": "84800"})
    assert v.value("NOPE", D("5")) is None
    assert v.price_in_quote("NOPE") is None


def test_halted_and_zero_prices_do_not_count() -> None:
    v = valuer({"OLDUSDT": "3.2", "DEADUSDT": "0"}, halted=frozenset({"OLDUSDT"}))
    assert v.value("OLD", D(1)) is None
    assert v.value("DEAD", D(1)) is None


def test_two_bridges_are_not_chained() -> None:
    # XYZ -> ETH -> BTC -> USDT needs two bridges: one hop only, so it is unknown.
    v = valuer({"XYZETH": "0.01", "ETHBTC": "0.02", "BTCUSDT": "80000"}, bridges=("ETH", "BTC"))
    assert v.value("XYZ", D(1)) is None


def test_zero_amount_of_a_priced_asset_is_zero() -> None:
    assert valuer({"ADAUSDT": "0.5"}).value("ADA", D(0)) == 0


def test_other_quote_asset() -> None:
    v = valuer({"ADABTC": "0.00000738", "BTCUSDT": "84800"}, quote="BTC")
    assert v.value("ADA", D(100)) == D("0.000738")
    assert v.value("USDT", D(84800)) == D(1)


def _real_binance() -> tuple[dict[str, MarketRules], dict[str, Decimal]]:
    data = resources.files("dustsweep.sim") / "data"
    info = json.loads((data / "binance-exchangeInfo.json").read_text())
    markets = {
        s["symbol"]: market(
            s["symbol"], s["baseAsset"], s["quoteAsset"], trading=s["status"] == "TRADING"
        )
        for s in info["symbols"]
    }
    prices = {
        p["symbol"]: D(p["price"])
        for p in json.loads((data / "binance-ticker-price.json").read_text())
        if D(p["price"]) > 0
    }
    return markets, prices


def test_real_binance_snapshot() -> None:
    markets, prices = _real_binance()
    v = Valuer(markets, prices, "USDT", ("USDT", "USDC", "BTC", "ETH", "BNB", "FDUSD"))
    assert v.price_in_quote("BTC") == D("84800.00000000")
    assert v.price_in_quote("ADA") == D("0.62520000")
    # USDC has USDCUSDT; FDUSD has FDUSDUSDT.
    assert v.price_in_quote("USDC") == D("1.00010000")
    assert v.price_in_quote("FDUSD") == D("0.99890000")
    # BCC trades nowhere any more (every BCC pair is BREAK): unknown, not 0.
    assert v.price_in_quote("BCC") is None
    # LDO has LDOUSDT; TRX has a direct USDT market so TRXXRP does not matter.
    assert v.price_in_quote("LDO") == D("0.71300000")
    assert v.price_in_quote("TRX") == D("0.24180000")


def test_valuing_many_balances_is_fast() -> None:
    markets, prices = _real_binance()
    assets = sorted({m.base for m in markets.values()} | {m.quote for m in markets.values()})
    start = time.process_time()
    v = Valuer(markets, prices, "USDT", ("USDT", "USDC", "BTC", "ETH", "BNB", "FDUSD"))
    for asset in assets * 3:
        v.value(asset, D("1.5"))
    assert time.process_time() - start < 0.05
