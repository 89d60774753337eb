"""core.delisting: when an asset stops being sellable, closed markets, announcement matching."""

from __future__ import annotations

from decimal import Decimal

from dustsweep.core.delisting import (
    HOUR_MS,
    announced,
    close_markets,
    closing_times,
    delist_times,
    due,
    in_hours,
    iso_utc,
    warnings_for,
)
from dustsweep.core.models import Announcement, Balance, MarketRules

D = Decimal
QUOTES = ("USDT", "USDC", "BTC")
NOW = 1_800_000_000_000


def rules(symbol: str, base: str, quote: str, *, trading: bool = True) -> MarketRules:
    return MarketRules(
        symbol=symbol,
        base=base,
        quote=quote,
        trading=trading,
        step=D("0.01"),
        min_qty=D("0.01"),
        max_qty=D("1000000"),
        min_notional=D("5"),
    )


MARKETS = {
    r.symbol: r
    for r in (
        rules("ABCUSDT", "ABC", "USDT"),
        rules("ABCBTC", "ABC", "BTC"),
        rules("ABCEUR", "ABC", "EUR"),  # not a sell quote: does not keep ABC "listed"
        rules("XYZUSDT", "XYZ", "USDT"),
        rules("XYZUSDC", "XYZ", "USDC"),
        rules("OLDUSDT", "OLD", "USDT", trading=False),  # halted, not on the schedule
        rules("OLDBTC", "OLD", "BTC"),
    )
}


def test_closing_times_keep_the_earliest_time_per_symbol() -> None:
    closing = closing_times([(NOW + 5, ["ABCUSDT", "XYZUSDT"]), (NOW + 2, ["ABCUSDT"])])
    assert closing == {"ABCUSDT": NOW + 2, "XYZUSDT": NOW + 5}


def test_an_asset_is_delisting_only_when_every_sell_quote_market_closes() -> None:
    closing = {"ABCUSDT": NOW + 2 * HOUR_MS, "ABCBTC": NOW + 9 * HOUR_MS, "XYZUSDT": NOW + HOUR_MS}
    closing["OLDBTC"] = NOW + 3 * HOUR_MS
    times = delist_times(MARKETS, closing, ["ABC", "XYZ", "OLD", "NONE"], QUOTES)
    # ABC: both sell-quote markets close, the later one decides; the EUR market does not count
    assert times["ABC"] == NOW + 9 * HOUR_MS
    # XYZ keeps its USDC market: not delisting
    assert "XYZ" not in times
    # OLD's USDT market is already halted: its only way out is OLDBTC
    assert times["OLD"] == NOW + 3 * HOUR_MS
    assert "NONE" not in times
    # with EUR among the sell quotes ABC keeps a market
    assert "ABC" not in delist_times(MARKETS, closing, ["ABC"], (*QUOTES, "EUR"))


def test_markets_past_their_close_are_halted_and_the_others_kept() -> None:
    closing = {"ABCUSDT": NOW - 1, "ABCBTC": NOW + HOUR_MS, "NOTLISTED": NOW - 5}
    markets = close_markets(MARKETS, closing, NOW)
    assert markets["ABCUSDT"].trading is False
    assert markets["ABCBTC"].trading is True
    assert set(markets) == set(MARKETS)


def test_due_is_ahead_and_within_the_window() -> None:
    delist_at = {"A": NOW + 23 * HOUR_MS, "B": NOW + 100 * HOUR_MS, "C": NOW - HOUR_MS}
    assert due(delist_at, NOW, D("72")) == {"A"}
    assert due(delist_at, NOW, D("100")) == {"A", "B"}


def test_time_texts() -> None:
    assert in_hours(NOW + 23 * HOUR_MS + 59 * 60_000, NOW) == "delisted in 23 h"
    assert in_hours(NOW + 60_000, NOW) == "delisted in < 1 h"
    assert in_hours(NOW - 1, NOW) == "delisted"
    assert iso_utc(1_686_161_202_000) == "2023-06-07T18:06:42Z"


def test_announcements_name_a_coin_as_a_whole_word_only() -> None:
    notes = [
        Announcement("Delisting of ETHFI/USDT Spot Trading Pair", "u1", NOW - HOUR_MS),
        Announcement("Bybit will delist XYZ/USDT and ABC/USDT", "u2", NOW - 2 * HOUR_MS),
        Announcement("Delisting of ETH (ancient)", "u3", NOW - 60 * 24 * HOUR_MS),
    ]
    found = dict(announced(["ETH", "ABC", "XY"], notes, NOW))
    assert list(found) == ["ABC"]  # ETH: only in ETHFI and in a 60-day-old announcement
    assert found["ABC"].url == "u2"


def test_warnings_say_amount_value_time_and_what_to_do() -> None:
    balances = [
        Balance("ABC", D("400"), D("0")),
        Balance("XYZ", D("1"), D("0")),
        Balance("QQQ", D("3"), D("0")),
    ]
    delist_at = {"ABC": NOW + 23 * HOUR_MS + 1, "XYZ": NOW + 500 * HOUR_MS}
    notes = [Announcement("Delisting of QQQ and XYZ", "https://x/1", NOW - HOUR_MS)]
    values = {"ABC": D("62.8"), "XYZ": None, "QQQ": D("1")}
    args = dict(now_ms=NOW, warn_hours=D("72"))
    found = warnings_for(balances, values, "USDT", delist_at, notes, sells=False, **args)
    assert [w.asset for w in found] == ["ABC", "QQQ"]  # XYZ is scheduled, but later
    line = found[0].line("main", NOW)
    assert "ABC 400 (worth 62.8 USDT) delisted in 23 h" in line
    assert "sell_before_delist" in line
    assert found[1].at_ms is None and found[1].url == "https://x/1"
    sells = warnings_for(balances, values, "USDT", delist_at, [], sells=True, **args)
    assert "sweep sells it" in sells[0].line("main", NOW)
