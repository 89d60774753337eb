"""Verdicts per balance: every status, every boundary, the market choice and the totals."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dustsweep.core.classify import AccountReport, AssetReport, classify
from dustsweep.core.models import Balance, MarketRules, Snapshot, Verdict
from dustsweep.core.policy import Policy

D = Decimal
POLICY = Policy()


def mk(
    symbol: str,
    base: str,
    quote: str,
    step: str = "0.1",
    min_qty: str | None = None,
    min_notional: str = "5",
    **extra: Any,
) -> MarketRules:
    """Binance-like rules (minQty == stepSize unless given), with Binance's rule names."""
    return MarketRules(
        symbol=symbol,
        base=base,
        quote=quote,
        step=D(step),
        min_qty=D(step if min_qty is None else min_qty),
        min_notional=D(min_notional),
        step_rule="LOT_SIZE stepSize",
        min_qty_rule="LOT_SIZE minQty",
        min_notional_rule="NOTIONAL minNotional",
        **extra,
    )


def snap(
    balances: dict[str, str | tuple[str, str]],
    markets: list[MarketRules],
    prices: dict[str, str],
    convertible: frozenset[str] | None = None,
) -> Snapshot:
    rows = []
    for asset, amount in balances.items():
        free, locked = (amount, "0") if isinstance(amount, str) else amount
        rows.append(Balance(asset, D(free), D(locked)))
    return Snapshot(
        exchange="binance",
        account="main",
        balances=tuple(rows),
        markets={m.symbol: m for m in markets},
        prices={s: D(p) for s, p in prices.items()},
        convertible=convertible,
    )


def one(snapshot: Snapshot, asset: str, policy: Policy = POLICY) -> AssetReport:
    report = classify(snapshot, policy).get(asset)
    assert report is not None
    return report


ADAUSDT = mk("ADAUSDT", "ADA", "USDT")
BTCUSDT = mk("BTCUSDT", "BTC", "USDT", step="0.00001")
ADABTC = mk("ADABTC", "ADA", "BTC", min_notional="0.0001")


# -- verdicts ---------------------------------------------------------------------------------


def test_sellable_when_the_whole_balance_fits() -> None:
    r = one(snap({"ADA": "20"}, [ADAUSDT], {"ADAUSDT": "0.6252"}), "ADA")
    assert r.status is Verdict.SELLABLE
    assert (r.sell_qty, r.residual, r.market, r.market_quote) == (D(20), D(0), "ADAUSDT", "USDT")
    assert r.price == D("0.6252")
    assert r.value == D("12.5040")
    assert "ADAUSDT" in r.reason


def test_partial_when_the_step_leaves_a_residual() -> None:
    r = one(snap({"ADA": "20.05"}, [ADAUSDT], {"ADAUSDT": "0.6252"}), "ADA")
    assert r.status is Verdict.PARTIAL
    assert (r.sell_qty, r.residual) == (D("20.0"), D("0.05"))
    assert "0.05 stays" in r.reason and "LOT_SIZE stepSize 0.1" in r.reason


def test_exactly_at_the_minimum_value_with_margin_is_sellable() -> None:
    # 10.1 × 0.5 = 5.05 = 5 × 1.01
    assert one(snap({"ADA": "10.1"}, [ADAUSDT], {"ADAUSDT": "0.5"}), "ADA").status is (
        Verdict.SELLABLE
    )


def test_one_step_below_the_minimum_value_is_dust_with_the_numbers() -> None:
    r = one(snap({"ADA": "10.0"}, [ADAUSDT], {"ADAUSDT": "0.5"}), "ADA")
    assert r.status is Verdict.DUST
    assert r.sell_qty == 0 and r.residual == D("10.0")
    assert r.reason == "worth 5 USDT, below NOTIONAL minNotional 5 (+1% margin) on ADAUSDT"
    assert (r.market, r.price) == ("ADAUSDT", D("0.5"))


def test_margin_comes_from_the_policy() -> None:
    s = snap({"ADA": "10.0"}, [ADAUSDT], {"ADAUSDT": "0.5"})
    no_margin = Policy(notional_margin=D(0))
    assert one(s, "ADA", no_margin).status is Verdict.SELLABLE
    r = one(s, "ADA", Policy(notional_margin=D("0.02")))
    assert "(+2% margin)" in r.reason


def test_quantity_equal_to_min_qty_is_sellable() -> None:
    rules = mk("ADAUSDT", "ADA", "USDT", step="0.1", min_qty="0.5", min_notional="0")
    assert one(snap({"ADA": "0.5"}, [rules], {"ADAUSDT": "0.6"}), "ADA").status is (
        Verdict.SELLABLE
    )
    r = one(snap({"ADA": "0.49"}, [rules], {"ADAUSDT": "0.6"}), "ADA")
    assert r.status is Verdict.DUST
    assert r.reason == "0.49 ADA is below LOT_SIZE minQty 0.5 on ADAUSDT"


def test_below_min_qty_reason_quotes_the_balance() -> None:
    r = one(snap({"ADA": "0.0412"}, [ADAUSDT], {"ADAUSDT": "0.6252"}), "ADA")
    assert r.status is Verdict.DUST
    assert r.reason == "0.0412 ADA is below LOT_SIZE minQty 0.1 on ADAUSDT"


def test_min_qty_off_the_step_grid_explains_the_flooring() -> None:
    # One real Bybit symbol has a minOrderQty that is not a multiple of basePrecision.
    rules = mk("ADAUSDT", "ADA", "USDT", step="0.03", min_qty="0.05", min_notional="0")
    r = one(snap({"ADA": "0.055"}, [rules], {"ADAUSDT": "100"}), "ADA")
    assert r.status is Verdict.DUST
    assert r.reason == (
        "0.055 ADA floors to 0.03 (LOT_SIZE stepSize 0.03), below LOT_SIZE minQty 0.05 on ADAUSDT"
    )


def test_below_one_step_without_min_qty() -> None:
    rules = replace(ADAUSDT, min_qty=D(0), step_rule="basePrecision")
    r = one(snap({"ADA": "0.04"}, [rules], {"ADAUSDT": "0.6"}), "ADA")
    assert r.reason == "0.04 ADA is below one basePrecision 0.1 on ADAUSDT"


def test_max_qty_caps_a_large_balance_to_partial() -> None:
    rules = replace(BTCUSDT, max_qty=D("168.82682004"))
    r = one(snap({"BTC": "200"}, [rules], {"BTCUSDT": "84800"}), "BTC")
    assert r.status is Verdict.PARTIAL
    assert r.sell_qty == D("168.82682")
    assert r.residual == D("31.17318")
    assert "capped" in r.reason


def test_halted_market_is_no_market() -> None:
    s = snap({"ADA": "20"}, [replace(ADAUSDT, trading=False)], {"ADAUSDT": "0.6"})
    r = one(s, "ADA")
    assert (r.status, r.reason, r.market) == (Verdict.NO_MARKET, "ADAUSDT is halted", None)
    assert r.sell_qty == 0 and r.residual == D(20)
    assert r.value is None  # a halted market's price is not a value


def test_listed_without_price_is_no_market() -> None:
    r = one(snap({"ADA": "20"}, [ADAUSDT, BTCUSDT], {"BTCUSDT": "84800"}), "ADA")
    assert r.status is Verdict.NO_MARKET
    assert "no price" in r.reason and "ADAUSDT" in r.reason


def test_market_without_market_orders_is_no_market() -> None:
    s = snap({"ADA": "20"}, [replace(ADAUSDT, market_orders=False)], {"ADAUSDT": "0.6"})
    assert "market orders" in one(s, "ADA").reason


def test_no_market_into_an_allowed_quote() -> None:
    adatry = mk("ADATRY", "ADA", "TRY", min_notional="10")
    r = one(snap({"ADA": "20"}, [adatry], {"ADATRY": "24"}), "ADA")
    assert r.status is Verdict.NO_MARKET
    assert r.reason == "no market into USDT/USDC/FDUSD/BTC/BNB/ETH"


def test_usable_market_wins_over_a_halted_one() -> None:
    s = snap(
        {"ADA": "100"},
        [replace(ADAUSDT, trading=False), ADABTC, BTCUSDT],
        {"ADAUSDT": "0.6", "ADABTC": "0.00000738", "BTCUSDT": "84800"},
    )
    r = one(s, "ADA")
    assert (r.status, r.market) == (Verdict.SELLABLE, "ADABTC")


def test_simple_earn_wrapper_is_ignored_but_ldo_is_a_coin() -> None:
    ldo = mk("LDOUSDT", "LDO", "USDT", step="0.01")
    s = snap(
        {"LDUSDT": "12.3", "LDBTC": "0.0001", "LDO": "20", "LDFOO": "5"},
        [ldo, BTCUSDT, ADAUSDT],
        {"LDOUSDT": "0.713", "BTCUSDT": "84800", "ADAUSDT": "0.6"},
    )
    report = classify(s, POLICY)
    earn = report.get("LDUSDT")
    assert earn is not None
    assert (earn.status, earn.reason) == (Verdict.IGNORED, "Simple Earn position (not spot)")
    assert earn.value == D("12.3")  # valued as the underlying USDT
    ldbtc = report.get("LDBTC")
    assert ldbtc is not None and ldbtc.status is Verdict.IGNORED
    assert ldbtc.value == D("8.4800")
    ldo_report = report.get("LDO")
    assert ldo_report is not None and ldo_report.status is Verdict.SELLABLE
    # A listed coin is a coin even when what follows "LD" is listed too.
    ldx = mk("LDXUSDT", "LDX", "USDT")
    xusdt = mk("XUSDT", "X", "USDT")
    both = snap({"LDX": "20"}, [ldx, xusdt], {"LDXUSDT": "1", "XUSDT": "1"})
    assert one(both, "LDX").status is Verdict.SELLABLE
    # "LDFOO": FOO is listed nowhere, so this is not a known wrapper: shown as no market.
    foo = report.get("LDFOO")
    assert foo is not None and foo.status is Verdict.NO_MARKET


def test_keep_list_and_quote_asset_are_ignored() -> None:
    s = snap({"ADA": "20", "USDT": "3", "BNB": ("0", "1")}, [ADAUSDT], {"ADAUSDT": "0.6"})
    policy = Policy(keep=frozenset({"ADA", "BNB"}))
    assert (one(s, "ADA", policy).status, one(s, "ADA", policy).reason) == (
        Verdict.IGNORED,
        "in keep list",
    )
    assert one(s, "BNB", policy).status is Verdict.IGNORED  # keep wins over locked
    usdt = one(s, "USDT", policy)
    assert (usdt.status, usdt.reason, usdt.value) == (Verdict.IGNORED, "quote asset", D(3))


def test_locked_only() -> None:
    r = one(snap({"ADA": ("0", "5")}, [ADAUSDT], {"ADAUSDT": "0.6"}), "ADA")
    assert r.status is Verdict.LOCKED
    assert r.value == D("3.0")
    assert r.sell_qty == 0


def test_locked_part_is_never_sold_but_counts_in_value() -> None:
    r = one(snap({"ADA": ("10.05", "5")}, [ADAUSDT], {"ADAUSDT": "0.6"}), "ADA")
    assert r.status is Verdict.PARTIAL
    assert (r.sell_qty, r.residual, r.value) == (D("10.0"), D("0.05"), D("9.030"))


def test_zero_balances_are_left_out() -> None:
    assert classify(snap({"ADA": "0"}, [ADAUSDT], {"ADAUSDT": "0.6"}), POLICY).assets == ()


# -- market choice ----------------------------------------------------------------------------


def test_btc_market_that_sells_more_is_chosen_over_usdt() -> None:
    # 8 ADA: 4.8 USDT is below ADAUSDT's 5.05; 0.0001104 BTC clears ADABTC's 0.000101.
    s = snap(
        {"ADA": "8"},
        [ADAUSDT, ADABTC, BTCUSDT],
        {"ADAUSDT": "0.6", "ADABTC": "0.0000138", "BTCUSDT": "84800"},
    )
    r = one(s, "ADA")
    assert (r.status, r.market, r.market_quote) == (Verdict.SELLABLE, "ADABTC", "BTC")


def test_largest_quantity_wins_even_when_partial_elsewhere() -> None:
    # ADAUSDT (step 1) can take 7 of 7.9; ADAETH (step 0.1) all 7.9.
    usdt = mk("ADAUSDT", "ADA", "USDT", step="1", min_notional="1")
    eth = mk("ADAETH", "ADA", "ETH", step="0.1", min_notional="0.001")
    s = snap({"ADA": "7.9"}, [usdt, eth], {"ADAUSDT": "0.6", "ADAETH": "0.0004"})
    r = one(s, "ADA")
    assert (r.status, r.market, r.sell_qty) == (Verdict.SELLABLE, "ADAETH", D("7.9"))


def test_ties_are_broken_by_sell_quotes_order() -> None:
    s = snap(
        {"ADA": "100"},
        [ADAUSDT, ADABTC, BTCUSDT],
        {"ADAUSDT": "0.6", "ADABTC": "0.00000738", "BTCUSDT": "84800"},
    )
    assert one(s, "ADA").market == "ADAUSDT"
    btc_first = Policy(sell_quotes=("BTC", "USDT"))
    assert one(s, "ADA", btc_first).market == "ADABTC"


def test_proceeds_are_not_compared_across_markets() -> None:
    # ADABTC pays a hair more, but both sell everything: the quote order decides.
    s = snap(
        {"ADA": "100"},
        [ADAUSDT, ADABTC, BTCUSDT],
        {"ADAUSDT": "0.6", "ADABTC": "0.0000071", "BTCUSDT": "84800"},
    )
    assert one(s, "ADA").market == "ADAUSDT"


def test_dust_reason_comes_from_the_first_usable_market() -> None:
    s = snap(
        {"ADA": "3"},
        [replace(ADAUSDT, trading=False), ADABTC, BTCUSDT],
        {"ADAUSDT": "0.6", "ADABTC": "0.00000738", "BTCUSDT": "84800"},
    )
    r = one(s, "ADA")
    assert r.status is Verdict.DUST
    assert r.market == "ADABTC"
    assert (
        r.reason == "worth 0.00002214 BTC, below NOTIONAL minNotional 0.0001 (+1% margin) on ADABTC"
    )


def test_only_sell_quotes_are_considered() -> None:
    s = snap(
        {"ADA": "100"},
        [ADAUSDT, ADABTC, BTCUSDT],
        {"ADAUSDT": "0.6", "ADABTC": "0.00000738", "BTCUSDT": "84800"},
    )
    assert one(s, "ADA", Policy(sell_quotes=("BTC",))).market == "ADABTC"


def test_bridge_valued_coin_sold_on_its_btc_market() -> None:
    xyz = mk("XYZBTC", "XYZ", "BTC", step="1", min_notional="0.0001")
    s = snap({"XYZ": "150"}, [xyz, BTCUSDT], {"XYZBTC": "0.000001", "BTCUSDT": "80000"})
    r = one(s, "XYZ")
    assert r.status is Verdict.SELLABLE
    assert r.value == D("12.000000")
    assert r.small is False  # 12 USDT is above the default threshold of 10


def test_unpriced_asset_is_none_and_small() -> None:
    xyz = mk("XYZBNB", "XYZ", "BNB", step="1", min_notional="0.01")
    r = one(snap({"XYZ": "150"}, [xyz], {"XYZBNB": "0.001"}), "XYZ")
    assert r.status is Verdict.SELLABLE  # sellable on XYZBNB although BNB has no USDT price
    assert r.value is None
    assert r.small is True


# -- totals and order -------------------------------------------------------------------------


def account() -> Snapshot:
    usdc = mk("USDCUSDT", "USDC", "USDT", step="1", min_notional="5")
    ada = mk("ADAUSDT", "ADA", "USDT", step="1", min_notional="5")
    sol = mk("SOLUSDT", "SOL", "USDT", step="0.01", min_notional="5")
    dot = mk("DOTUSDT", "DOT", "USDT", step="0.01", min_notional="5")
    eos = mk("EOSUSDT", "EOS", "USDT", step="0.1", min_notional="5", trading=False)
    xyz = mk("XYZBNB", "XYZ", "BNB", step="1", min_notional="0.01")
    return snap(
        {
            "USDT": "50",  # ignored (quote), in total only
            "USDC": "8",  # sellable, small: 8
            "ADA": "9.5",  # partial, small: sells 9 (9), residual 0.5 (0.5)
            "SOL": "0.02",  # dust (2), convertible
            "DOT": "1",  # dust (4), not convertible
            "EOS": "3",  # no market (halted): unpriced
            "BTC": ("0", "0.0001"),  # locked, small: 8.48, not dust
            "ETH": "1",  # large: not small (1600)
            "XYZ": "100",  # sellable on XYZBNB, unpriced
        },
        [usdc, ada, sol, dot, eos, xyz, BTCUSDT, mk("ETHUSDT", "ETH", "USDT", step="0.0001")],
        {
            "USDCUSDT": "1",
            "ADAUSDT": "1",
            "SOLUSDT": "100",
            "DOTUSDT": "4",
            "EOSUSDT": "0.6",
            "XYZBNB": "0.001",
            "BTCUSDT": "84800",
            "ETHUSDT": "1600",
        },
        convertible=frozenset({"SOL", "EOS", "ADA"}),
    )


def test_totals() -> None:
    report = classify(account(), POLICY)
    statuses = {a.asset: a.status for a in report.assets}
    assert statuses == {
        "USDT": Verdict.IGNORED,
        "USDC": Verdict.SELLABLE,
        "ADA": Verdict.PARTIAL,
        "SOL": Verdict.DUST,
        "DOT": Verdict.DUST,
        "EOS": Verdict.NO_MARKET,
        "BTC": Verdict.LOCKED,
        "ETH": Verdict.SELLABLE,
        "XYZ": Verdict.SELLABLE,
    }
    t = report.totals
    assert t.total == D(50) + 8 + D("9.5") + 2 + 4 + D("8.48") + 1600
    assert t.small == 8 + D("9.5") + 2 + 4 + D("8.48")
    assert t.sellable == 8 + 9
    assert t.dust == D("0.5") + 2 + 4
    assert t.convertible == D("0.5") + 2  # ADA's residual and SOL
    assert t.stuck == 4
    assert t.dust == t.convertible + t.stuck
    assert t.unpriced == 2  # EOS (halted) and XYZ (BNB has no price)


def test_assets_sorted_by_value_unknown_last() -> None:
    report = classify(account(), POLICY)
    names = [a.asset for a in report.assets]
    assert names == ["ETH", "USDT", "ADA", "BTC", "USDC", "DOT", "SOL", "EOS", "XYZ"]


def test_convertible_flag_follows_the_exchange() -> None:
    report = classify(account(), POLICY)
    assert {a.asset for a in report.assets if a.convertible} == {"SOL", "EOS", "ADA"}
    unknown = classify(replace(account(), convertible=None), POLICY)
    assert all(a.convertible is None for a in unknown.assets)
    assert unknown.totals.convertible == 0
    assert unknown.totals.stuck == unknown.totals.dust


def test_threshold_decides_small() -> None:
    report = classify(account(), Policy(dust_threshold=D("5")))
    small = {a.asset for a in report.assets if a.small}
    assert small == {"SOL", "DOT", "EOS", "XYZ"}  # values ≤ 5 plus the unpriced


# -- real exchange data -----------------------------------------------------------------------


def _data(name: str) -> Any:
    return json.loads((resources.files("dustsweep.sim") / "data" / name).read_text())


def real_binance_markets() -> tuple[dict[str, MarketRules], dict[str, Decimal]]:
    """A minimal reading of the bundled raw exchangeInfo (LOT_SIZE, MARKET_LOT_SIZE, NOTIONAL)."""
    markets = {}
    for s in _data("binance-exchangeInfo.json")["symbols"]:
        f = {x["filterType"]: x for x in s["filters"]}
        notional = f.get("NOTIONAL", {})
        markets[s["symbol"]] = MarketRules(
            symbol=s["symbol"],
            base=s["baseAsset"],
            quote=s["quoteAsset"],
            trading=s["status"] == "TRADING",
            market_orders="MARKET" in s["orderTypes"],
            step=D(f["LOT_SIZE"]["stepSize"]),
            min_qty=D(f["LOT_SIZE"]["minQty"]),
            max_qty=D(f["MARKET_LOT_SIZE"]["maxQty"]) if "MARKET_LOT_SIZE" in f else None,
            min_notional=D(notional["minNotional"]) if notional.get("applyMinToMarket") else D(0),
            step_rule="LOT_SIZE stepSize",
            min_qty_rule="LOT_SIZE minQty",
            min_notional_rule="NOTIONAL minNotional",
        )
    prices = {p["symbol"]: D(p["price"]) for p in _data("binance-ticker-price.json")}
    return markets, {s: p for s, p in prices.items() if p > 0}


def real_bybit_markets() -> tuple[dict[str, MarketRules], dict[str, Decimal]]:
    markets = {}
    for i in _data("bybit-instruments.json"):
        lot = i["lotSizeFilter"]
        markets[i["symbol"]] = MarketRules(
            symbol=i["symbol"],
            base=i["baseCoin"],
            quote=i["quoteCoin"],
            trading=i["status"] == "Trading",
            step=D(lot["basePrecision"]),
            min_qty=D(lot["minOrderQty"]),
            max_qty=D(lot["maxOrderQty"]),
            min_notional=D(lot["minOrderAmt"]),
            step_rule="basePrecision",
            min_qty_rule="minOrderQty",
            min_notional_rule="minOrderAmt",
        )
    tickers = _data("bybit-tickers.json")["result"]["list"]
    prices = {t["symbol"]: D(t["bid1Price"]) for t in tickers if t.get("bid1Price")}
    return markets, {s: p for s, p in prices.items() if p > 0}


def real_snapshot(
    exchange: str, balances: dict[str, str], convertible: frozenset[str] | None = None
) -> Snapshot:
    markets, prices = real_binance_markets() if exchange == "binance" else real_bybit_markets()
    return Snapshot(
        exchange=exchange,
        account="main",
        balances=tuple(Balance(a, D(v)) for a, v in balances.items()),
        markets=markets,
        prices=prices,
        convertible=convertible,
    )


def test_real_binance_ada_sells_on_eth_where_usdt_refuses() -> None:
    # 3.75 ADA ≈ 2.34 USDT: below ADAUSDT's NOTIONAL 5, ADABTC's 0.0001 BTC and ADABNB's
    # 0.01 BNB, but 3.7 × 0.0003917 = 0.00145 ETH clears ADAETH's 0.001.
    r = one(real_snapshot("binance", {"ADA": "3.75"}), "ADA")
    assert (r.status, r.market, r.sell_qty, r.residual) == (
        Verdict.PARTIAL,
        "ADAETH",
        D("3.7"),
        D("0.05"),
    )


def test_real_binance_dust_and_wrappers() -> None:
    s = real_snapshot(
        "binance",
        {"SHIB": "350000.5", "LDUSDT": "12.3", "LDO": "0.004", "BCC": "1", "BTC": "0.00000413"},
    )
    report = classify(s, POLICY)
    shib = report.get("SHIB")
    assert shib is not None and shib.status is Verdict.DUST
    assert shib.reason == (
        "worth 4.333 USDT, below NOTIONAL minNotional 5 (+1% margin) on SHIBUSDT"
    )
    ld = report.get("LDUSDT")
    assert ld is not None and ld.status is Verdict.IGNORED
    ldo = report.get("LDO")
    assert ldo is not None and ldo.reason == "0.004 LDO is below LOT_SIZE minQty 0.01 on LDOUSDT"
    bcc = report.get("BCC")
    assert bcc is not None and bcc.status is Verdict.NO_MARKET and "BCCUSDT is halted" in bcc.reason
    btc = report.get("BTC")
    assert btc is not None and btc.status is Verdict.DUST
    assert btc.reason == "0.00000413 BTC is below LOT_SIZE minQty 0.00001 on BTCUSDT"


def test_real_bybit_partial_and_min_qty() -> None:
    report = classify(real_snapshot("bybit", {"XRP": "3.005", "SHIB": "100000"}), POLICY)
    xrp = report.get("XRP")
    assert xrp is not None
    assert (xrp.status, xrp.market, xrp.sell_qty, xrp.residual) == (
        Verdict.PARTIAL,
        "XRPUSDT",
        D("3.00"),
        D("0.005"),
    )
    shib = report.get("SHIB")
    assert shib is not None and shib.status is Verdict.DUST
    assert shib.reason == "100000 SHIB is below minOrderQty 127388.5 on SHIBUSDT"


def test_classifying_300_balances_against_2300_markets_is_fast() -> None:
    markets, prices = real_binance_markets()
    quotes = ("USDT", "BTC", "ETH", "BNB", "TRY")
    i = 0
    while len(markets) < 2300:
        base, quote = f"C{i // len(quotes)}", quotes[i % len(quotes)]
        symbol = base + quote
        markets[symbol] = mk(symbol, base, quote, step="0.01", min_notional="0.0001")
        prices[symbol] = D("0.0000123") * (i % 97 + 1)
        i += 1
    assets = sorted({m.base for m in markets.values()})[:300]
    balances = tuple(Balance(a, D("12.345678")) for a in assets)
    snapshot = Snapshot("binance", "main", balances, markets, prices)
    timings = []
    for _ in range(5):
        start = time.process_time()
        report = classify(snapshot, POLICY)
        timings.append(time.process_time() - start)
    assert len(report.assets) == 300
    # The CPU budget (50 ms) is checked by bench/bench_classify.py, not here: a test must not
    # fail because the machine is busy (or because mutmut's trampolines slow every call).
    print(f"classify 300 balances x {len(markets)} markets: {min(timings) * 1000:.1f} ms CPU")


# -- properties -------------------------------------------------------------------------------

_steps = st.builds(
    lambda m, k: D(m).scaleb(-k), st.sampled_from([1, 1, 2, 5, 3, 25]), st.integers(-1, 8)
)
_amounts = st.builds(lambda n, k: D(n).scaleb(-k), st.integers(0, 10**12), st.integers(0, 12))
_prices = st.builds(lambda n, k: D(n).scaleb(-k), st.integers(1, 10**8), st.integers(0, 10))


@st.composite
def _market(draw: st.DrawFn, quote: str) -> tuple[MarketRules, Decimal | None]:
    step = draw(_steps)
    rules = MarketRules(
        symbol="X" + quote,
        base="X",
        quote=quote,
        trading=draw(st.booleans() | st.just(True)),
        step=step,
        min_qty=draw(st.sampled_from([D(0), step, step * 3]) | _amounts),
        max_qty=draw(st.none() | _amounts.filter(bool)),
        min_notional=draw(st.sampled_from([D(0), D(5), D("0.0001"), D("0.001"), D(1)])),
    )
    price = draw(st.none() | _prices | _prices | _prices)
    return rules, price


@settings(max_examples=300, deadline=None)
@given(
    free=_amounts.filter(bool),
    locked=st.sampled_from([D(0), D("1.5")]),
    chosen=st.lists(st.sampled_from(["USDT", "BTC", "ETH", "BNB"]), unique=True, max_size=4),
    data=st.data(),
    margin=st.sampled_from([D(0), D("0.01"), D("0.02")]),
)
def test_any_balance_on_any_rules(
    free: Decimal, locked: Decimal, chosen: list[str], data: st.DataObject, margin: Decimal
) -> None:
    markets: dict[str, MarketRules] = {}
    prices: dict[str, Decimal] = {}
    for quote in chosen:
        rules, price = data.draw(_market(quote))
        markets[rules.symbol] = rules
        if price is not None:
            prices[rules.symbol] = price
    snapshot = Snapshot("binance", "main", (Balance("X", free, locked),), markets, prices)
    report: AccountReport = classify(snapshot, Policy(notional_margin=margin))
    (r,) = report.assets
    assert r.sell_qty + r.residual == free
    assert 0 <= r.sell_qty <= free
    if r.status is Verdict.SELLABLE:
        assert r.sell_qty == free
    elif r.status is Verdict.PARTIAL:
        assert 0 < r.sell_qty < free
    else:
        assert r.status in (Verdict.DUST, Verdict.NO_MARKET)
        assert r.sell_qty == 0
    usable = {s: m for s, m in markets.items() if m.trading and s in prices and prices[s] > 0}
    if r.sell_qty > 0:
        assert r.market is not None and r.price is not None
        rules = markets[r.market]
        assert r.market in usable
        if rules.step > 0:
            assert r.sell_qty % rules.step == 0
        assert r.sell_qty >= rules.min_qty
        assert Fraction(r.sell_qty) * Fraction(r.price) >= Fraction(rules.min_notional) * (
            1 + Fraction(margin)
        )
        assert rules.max_qty is None or r.sell_qty <= rules.max_qty
    assert (r.status is Verdict.NO_MARKET) == (not usable)


@pytest.mark.parametrize("threshold", ["0", "10", "1000000"])
def test_threshold_does_not_change_verdicts(threshold: str) -> None:
    base = classify(account(), POLICY)
    other = classify(account(), Policy(dust_threshold=D(threshold)))
    assert [(a.asset, a.status, a.sell_qty) for a in base.assets] == [
        (a.asset, a.status, a.sell_qty) for a in other.assets
    ]


# -- edges found by mutation testing (tests/MUTANTS.md) -----------------------------------------


def test_report_fields_and_a_missing_asset() -> None:
    s = snap({"ADA": ("12.3", "0.7")}, [ADAUSDT], {"ADAUSDT": "0.5"})
    report = classify(s, Policy(quote="USDT"))
    assert (report.exchange, report.account, report.quote) == ("binance", "main", "USDT")
    assert report.get("NOPE") is None
    ada = report.get("ADA")
    assert ada is not None and ada.locked == D("0.7") and ada.free == D("12.3")


def test_worth_exactly_the_threshold_is_small() -> None:
    s = snap({"ADA": "20"}, [ADAUSDT], {"ADAUSDT": "0.5"})
    assert one(s, "ADA", Policy(dust_threshold=D("10"))).small is True
    assert one(s, "ADA", Policy(dust_threshold=D("9.99"))).small is False


def test_a_zero_price_is_no_price() -> None:
    s = snap({"ADA": "20"}, [ADAUSDT], {"ADAUSDT": "0"})
    ada = one(s, "ADA")
    assert ada.status is Verdict.NO_MARKET and ada.reason == "ADAUSDT is listed but has no price"


def test_an_asset_named_ld_alone_is_not_simple_earn() -> None:
    from dustsweep.core.classify import MarketBook, is_simple_earn

    book = MarketBook({"LDUSDT": mk("LDUSDT", "LD", "USDT")}, {})
    assert not is_simple_earn("LD", MarketBook({"XUSDT": mk("XUSDT", "", "USDT")}, {}))
    assert not is_simple_earn("LD", book)


def test_reasons_say_exactly_what_happens() -> None:
    locked = snap({"ADA": ("0", "0.05")}, [ADAUSDT], {"ADAUSDT": "0.5"})
    assert one(locked, "ADA").reason == "all 0.05 ADA is locked in open orders"
    sellable = snap({"ADA": "12.3"}, [ADAUSDT], {"ADAUSDT": "0.5"})
    assert one(sellable, "ADA").reason == "sell 12.3 ADA on ADAUSDT"
    partial = snap({"ADA": "12.34"}, [ADAUSDT], {"ADAUSDT": "0.5"})
    assert one(partial, "ADA").reason == (
        "sell 12.3 of 12.34 ADA on ADAUSDT; 0.04 stays (below one LOT_SIZE stepSize 0.1)"
    )
    capped_rules = mk("ADAUSDT", "ADA", "USDT", max_qty=D("20"))
    capped = snap({"ADA": "30"}, [capped_rules], {"ADAUSDT": "0.5"})
    assert one(capped, "ADA").reason == (
        "sell 20 of 30 ADA on ADAUSDT; 10 stays (the order is capped at 20 by the market's maximum)"
    )
    nowhere = snap({"ADA": "12"}, [], {})
    no_quotes = replace(POLICY, sell_quotes=())
    assert one(nowhere, "ADA", no_quotes).reason == "no market into any allowed quote"
    halted = [
        mk("ADAUSDT", "ADA", "USDT", trading=False),
        mk("ADABTC", "ADA", "BTC", trading=False),
    ]
    both = snap({"ADA": "12"}, halted, {"ADAUSDT": "0.5", "ADABTC": "0.00001"})
    assert one(both, "ADA").reason == "ADAUSDT is halted; ADABTC is halted"


def test_dust_reasons_quote_the_numbers() -> None:
    # Below min_qty exactly at the floored amount; the worth cut (never rounded up) to 6 digits.
    rules = mk("ADAUSDT", "ADA", "USDT", step="1", min_qty="5")
    at_min = snap({"ADA": "4"}, [rules], {"ADAUSDT": "0.5"})
    assert one(at_min, "ADA").reason == "4 ADA is below LOT_SIZE minQty 5 on ADAUSDT"
    equal = snap({"ADA": "5"}, [mk("ADAUSDT", "ADA", "USDT", step="10", min_qty="5")], {
        "ADAUSDT": "0.5"})  # fmt: skip
    assert one(equal, "ADA").reason == "5 ADA is below one LOT_SIZE stepSize 10 on ADAUSDT"
    cheap = snap({"ADA": "3.3"}, [ADAUSDT], {"ADAUSDT": "1.2345678"})
    assert one(cheap, "ADA").reason == (
        "worth 4.07407 USDT, below NOTIONAL minNotional 5 (+1% margin) on ADAUSDT"
    )
    no_margin = replace(POLICY, notional_margin=D(0))
    assert one(cheap, "ADA", no_margin).reason == (
        "worth 4.07407 USDT, below NOTIONAL minNotional 5 on ADAUSDT"
    )


def test_the_sellable_total_is_valued_at_the_quote_price() -> None:
    eth = mk("ETHUSDT", "ETH", "USDT", step="0.0001")
    s = snap({"ETH": "0.004"}, [eth], {"ETHUSDT": "2000"})
    report = classify(s, POLICY)
    assert report.totals.sellable == D("8")  # 0.004 x 2000, not / 2000


def test_a_balance_equal_to_min_qty_that_floors_below_it_says_so() -> None:
    rules = mk("ADAUSDT", "ADA", "USDT", step="2", min_qty="5")
    s = snap({"ADA": "5"}, [rules], {"ADAUSDT": "0.5"})
    assert one(s, "ADA").reason == (
        "5 ADA floors to 4 (LOT_SIZE stepSize 2), below LOT_SIZE minQty 5 on ADAUSDT"
    )


def test_a_worth_in_a_reason_is_cut_never_rounded_up() -> None:
    # 3.3 x 1.2345695 = 4.07407935: six digits, cut -> 4.07407 (rounded would be 4.07408).
    s = snap({"ADA": "3.3"}, [ADAUSDT], {"ADAUSDT": "1.2345695"})
    assert one(s, "ADA").reason.startswith("worth 4.07407 USDT, below")
