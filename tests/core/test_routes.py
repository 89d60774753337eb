"""Route comparison (pure): sell vs native conversion vs a Convert quote vs leaving it.

Balances are classified by the real ``classify`` over market rules shaped like Binance's, so the
sell route sees exactly the sizes and blocking reasons the sell command would.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import pytest

from dustsweep.core.classify import AssetReport, classify
from dustsweep.core.models import Balance, DustCandidate, MarketRules, Snapshot
from dustsweep.core.policy import Policy
from dustsweep.core.routes import (
    COSTS_TOO_MUCH,
    ConvertLimit,
    Route,
    RouteOption,
    choose_route,
    convert_option,
    native_option,
    sell_option,
)
from dustsweep.core.valuation import Valuer

D = Decimal
FEE = D("0.001")


def rules(symbol: str, base: str, quote: str, step: str, min_notional: str) -> MarketRules:
    return MarketRules(
        symbol=symbol,
        base=base,
        quote=quote,
        step=D(step),
        min_qty=D(step),
        min_notional=D(min_notional),
        step_rule="LOT_SIZE stepSize",
        min_qty_rule="LOT_SIZE minQty",
        min_notional_rule="NOTIONAL minNotional",
    )


MARKETS = {
    m.symbol: m
    for m in (
        rules("ADAUSDT", "ADA", "USDT", "0.1", "5"),
        rules("XRPUSDT", "XRP", "USDT", "1", "5"),
        rules("BNBUSDT", "BNB", "USDT", "0.001", "5"),
        rules("APTUSDT", "APT", "USDT", "0.01", "5"),
    )
}
PRICES = {"ADAUSDT": D("0.5"), "XRPUSDT": D("2"), "BNBUSDT": D("600"), "APTUSDT": D("8")}
POLICY = Policy(quote="USDT", dust_threshold=D("50"))


def report_for(asset: str, free: str) -> AssetReport:
    snapshot = Snapshot("binance", "main", (Balance(asset, D(free)),), MARKETS, PRICES)
    item = classify(snapshot, POLICY).get(asset)
    assert item is not None
    return item


def valuer() -> Valuer:
    return Valuer(MARKETS, PRICES, "USDT", POLICY.bridges)


def native(asset: str, amount: str, gross_bnb: str, rate: str = "0.02") -> RouteOption:
    """A native option priced like Binance's dust-btc: fee = gross x rate, net = gross - fee."""
    gross = D(gross_bnb)
    fee = gross * D(rate)
    candidate = DustCandidate(asset, D(amount), gross, fee, gross - fee)
    return native_option(candidate, "BNB", D(rate), valuer())


def test_sell_route_nets_the_sold_quantity_minus_the_fee_and_keeps_the_residual() -> None:
    item = report_for("ADA", "12.34")  # step 0.1: 12.3 sells, 0.04 stays
    option = sell_option(item, FEE, valuer())
    assert option is not None and option.blocked is None
    assert option.amount == D("12.3") and option.residual == D("0.04")
    assert option.received == D("12.3") * D("0.5") * (1 - FEE)
    assert option.net_value == option.received  # already in the quote
    assert option.fee == D("12.3") * D("0.5") * FEE and option.fee_asset == "USDT"


def test_sell_beats_native_conversion_for_a_sellable_balance() -> None:
    item = report_for("ADA", "12.3")  # 6.15 USDT: sellable, and also small enough to convert
    options = [sell_option(item, FEE, valuer()), native(item.asset, "12.3", "0.01025")]
    choice = choose_route("ADA", [o for o in options if o], "USDT")
    assert choice.route is Route.SELL and choice.runner_up is Route.NATIVE
    assert choice.net == D("6.15") * (1 - FEE)
    assert choice.runner_up_net == D("0.01025") * D("0.98") * 600  # 6.027
    assert "sell on ADAUSDT nets" in choice.reason and "native conversion to BNB" in choice.reason


def test_dust_that_cannot_be_sold_is_converted_and_the_reason_names_the_blocking_rule() -> None:
    item = report_for("XRP", "2")  # 4 USDT: below minNotional 5
    sell = sell_option(item, FEE, valuer())
    assert sell is not None and sell.blocked is not None
    choice = choose_route("XRP", [sell, native("XRP", "2", "0.006")], "USDT")
    assert choice.route is Route.NATIVE
    assert choice.net == D("0.006") * D("0.98") * 600
    assert choice.runner_up is Route.LEAVE and choice.runner_up_net == 0
    assert "NOTIONAL minNotional 5" in choice.reason  # why selling is not an option


def test_a_route_that_leaves_nothing_after_its_fee_is_never_chosen() -> None:
    item = report_for("XRP", "0.000001")
    sell = sell_option(item, FEE, valuer())
    tiny = DustCandidate("XRP", D("0.000001"), D("0.00000001"), D("0.00000001"), D(0))
    option = native_option(tiny, "BNB", D("0.02"), valuer())
    choice = choose_route("XRP", [o for o in (sell, option) if o], "USDT")
    assert choice.route is Route.LEAVE and choice.option is None and choice.net == 0
    assert choice.reason.startswith(COSTS_TOO_MUCH)
    assert "native conversion to BNB would net 0 USDT" in choice.reason


def test_a_route_of_unknown_value_cannot_win_over_a_known_one() -> None:
    item = report_for("ADA", "12.3")
    sell = sell_option(item, FEE, valuer())
    assert sell is not None
    # A conversion target nothing prices: it may well yield more, but nobody can tell.
    candidate = DustCandidate("ADA", D("12.3"), D("99"), D("1"), D("98"))
    unpriced = native_option(candidate, "MNT", D("0.02"), valuer())
    assert unpriced.net_value is None
    choice = choose_route("ADA", [unpriced, sell], "USDT")
    assert choice.route is Route.SELL and choice.runner_up is Route.NATIVE
    assert "value in USDT is unknown" in choice.reason


def test_an_unknown_value_wins_only_when_nothing_known_is_usable_and_says_so() -> None:
    item = report_for("XRP", "0.5")
    sell = sell_option(item, FEE, valuer())
    assert sell is not None
    candidate = DustCandidate("XRP", D("0.5"), D("2"), D("0.04"), D("1.96"))
    unpriced = native_option(candidate, "MNT", D("0.02"), valuer())
    choice = choose_route("XRP", [sell, unpriced], "USDT")
    assert choice.route is Route.NATIVE and choice.net is None
    assert (
        "value in USDT unknown" in choice.reason and "no route with a known value" in choice.reason
    )


def test_convert_quote_is_blocked_below_the_pair_minimum() -> None:
    limit = ConvertLimit("XRP", "BNB", min_amount=D("5"), max_amount=D("100000"))
    option = convert_option("XRP", D("0.5"), "BNB", D("0.00333"), limit, valuer())
    assert option.blocked == "0.5 XRP is below the Convert minimum 5"
    choice = choose_route("XRP", [option, native("XRP", "0.5", "0.0015")], "USDT")
    assert choice.route is Route.NATIVE and "below the Convert minimum 5" in choice.reason


def test_fee_free_convert_quote_beats_the_native_fee_above_the_minimum() -> None:
    # APT worth 20 USDT with its market halted: no sale; Convert min 2.1 APT.
    limit = ConvertLimit("APT", "BNB", min_amount=D("2.1"), max_amount=None)
    rate = valuer().rate("APT", "BNB")
    assert rate is not None
    convert = convert_option("APT", D("2.5"), "BNB", rate, limit, valuer())
    choice = choose_route("APT", [native("APT", "2.5", "0.0333333"), convert], "USDT")
    assert choice.route is Route.CONVERT and choice.runner_up is Route.NATIVE
    # The estimate is floored to 8 decimals: never the 28 digits of a price ratio (issue 11).
    received = convert.received
    assert received == (D("2.5") * rate).quantize(D("0.00000001"), rounding=ROUND_DOWN)
    assert received is not None and received.as_tuple().exponent == -8
    assert choice.net is not None and choice.net == received * 600
    assert convert.fee == 0 and convert.estimated


def test_equal_net_values_prefer_selling() -> None:
    item = report_for("ADA", "12.3")
    sell = sell_option(item, FEE, valuer())
    assert sell is not None and sell.net_value is not None
    same = RouteOption(
        route=Route.NATIVE,
        amount=D("12.3"),
        received_asset="USDT",
        received=sell.received,
        fee=D(0),
        fee_asset="USDT",
        fee_rate=D(0),
        net_value=sell.net_value,
        fee_value=D(0),
    )
    assert choose_route("ADA", [same, sell], "USDT").route is Route.SELL


@pytest.mark.parametrize("blocked_only", [True, False])
def test_nothing_usable_leaves_the_balance_with_every_reason(blocked_only: bool) -> None:
    item = report_for("XRP", "0.5")
    sell = sell_option(item, FEE, valuer())
    assert sell is not None
    options = [sell] if blocked_only else []
    choice = choose_route("XRP", options, "USDT")
    assert choice.route is Route.LEAVE and choice.runner_up is None
    if blocked_only:
        assert choice.reason.startswith("left: sell on XRPUSDT:")
    else:
        assert choice.reason == "left: no way to sell or convert it"
