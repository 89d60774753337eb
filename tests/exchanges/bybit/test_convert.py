"""Bybit regular Convert (/v5/asset/exchange/*) as the converter's Convert-quote route.

Through the real pybit client against the project's Bybit simulator on 127.0.0.1: the pairs and
their per-coin limits (query-coin-list), and whole conversions through ``dustsweep.convert.execute``
(quote-apply -> convert-execute -> convert-result-query), checked on the exchange's side
(balances, executions, request counts) and in the ledger. The simulator's Convert minimum is a
USDT value per request (``single_from_min_value``); it is lowered here so that a balance of a few
USDT, small enough to count as dust, can reach it.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest

from dustsweep.convert.caps import ConvertStatusByQuote, RfqConvert
from dustsweep.convert.execute import Route, execute_conversion, fetch_convert_limits
from dustsweep.errors import ConversionRejected, ExitCode
from dustsweep.exchanges.bybit.convert_parse import floor_to_places
from tests.convert.test_execute import KEY, SECRET, Desk, DeskFactory
from tests.convert.test_execute import desk as desk  # the fixture
from tests.convert.test_execute_bybit import bybit_section, dust

D = Decimal
COIN_LIST = "/v5/asset/exchange/query-coin-list"
QUOTE_APPLY = "/v5/asset/exchange/quote-apply"
EXECUTE = "/v5/asset/exchange/convert-execute"
RESULT = "/v5/asset/exchange/convert-result-query"
SB_EXECUTE = "/v5/asset/covert/small-balance-execute"
MIN_VALUE = D("5")  # USDT per Convert request in these scenarios
STEP = D("0.00000001")  # the simulator's accuracyLength is 8


def convert_desk(desk: DeskFactory, balances: dict[str, str], **conversion: Any) -> Desk:
    conversion.setdefault("single_from_min_value", str(MIN_VALUE))
    return desk("bybit", bybit_section(balances, **conversion))


def executions(d: Desk) -> list[Any]:
    """Convert executions the simulated exchange holds for the account."""
    return list(d.dialect.coin_exchange.records.get("main", []))


def usd(d: Desk, coin: str) -> Decimal:
    """The USDT value of one coin as the simulated exchange values Convert requests."""
    price = d.dialect.market.usd_value(coin)
    assert price is not None
    return Decimal(price)


# -- pairs and limits -----------------------------------------------------------------------------


def test_bybit_offers_the_convert_quote_route(desk: DeskFactory) -> None:
    d = convert_desk(desk, dust(["XRP"], "6"))
    assert isinstance(d.exchange, RfqConvert)
    assert isinstance(d.exchange, ConvertStatusByQuote)


def test_pairs_into_a_target_carry_each_held_coins_own_limits(desk: DeskFactory) -> None:
    d = convert_desk(desk, {**dust(["XRP", "ADA"], "6"), "USDT": "3"}, single_from_max_value="50")
    pairs = {p.from_asset: p for p in d.exchange.convert_pairs(to_asset="usdt")}
    assert set(pairs) == {"XRP", "ADA"}  # the held coins, never the target itself
    assert d.count("GET", COIN_LIST) == 2  # to-coins once, from-coins once: not one per coin
    for coin, pair in pairs.items():
        price = usd(d, coin)
        assert pair.to_asset == "USDT"
        # The smallest amount worth the minimum value, per coin (ADA's limit is not XRP's).
        assert pair.from_min * price >= MIN_VALUE > (pair.from_min - STEP) * price
        assert abs(pair.from_max * price - 50) < STEP * price  # the 50 USDT maximum
        assert (pair.to_min, pair.to_max) == (0, 0)  # Bybit's singleTo* limits are reserved
    assert pairs["XRP"].from_min != pairs["ADA"].from_min
    limits = fetch_convert_limits(d.exchange, "USDT")
    assert limits is not None and set(limits) == {"XRP", "ADA"}
    assert limits["XRP"].min_amount == pairs["XRP"].from_min
    assert limits["XRP"].max_amount == pairs["XRP"].from_max


def test_pairs_from_a_coin_list_its_targets(desk: DeskFactory) -> None:
    d = convert_desk(desk, dust(["XRP"], "6"))
    targets = {p.to_asset for p in d.exchange.convert_pairs(from_asset="XRP")}
    assert {"USDT", "USDC", "BTC"} <= targets and "XRP" not in targets
    (only,) = d.exchange.convert_pairs(from_asset="xrp", to_asset="USDC")
    assert (only.from_asset, only.to_asset) == ("XRP", "USDC")
    assert d.exchange.convert_pairs(from_asset="ETH") == []  # not held: not a from-coin
    with pytest.raises(ValueError, match="from_asset or to_asset"):
        d.exchange.convert_pairs()


# -- the converter's Convert-quote route ----------------------------------------------------------


def test_convert_beats_selling_and_runs_quote_execute_status(desk: DeskFactory) -> None:
    held = dust(["XRP"], "6")  # sellable on XRPUSDT, small enough for the 2 % dust conversion
    d = convert_desk(desk, {**held, "USDT": "1"})
    plan = d.plan("USDT", convert=True)
    (xrp,) = plan.conversions
    assert (xrp.asset, xrp.route, xrp.amount) == ("XRP", Route.CONVERT, D(held["XRP"]))
    assert {o.route for o in xrp.choice.options} == {Route.SELL, Route.NATIVE, Route.CONVERT}
    assert xrp.choice.runner_up is Route.SELL  # the taker fee costs less than the 2 % dust fee
    outcome = execute_conversion(plan, d.context())
    assert outcome.exit_code_hint is ExitCode.OK
    (line,) = outcome.lines
    (done,) = executions(d)
    quote = done.quote
    assert (done.status, quote.from_coin, quote.to_coin) == ("success", "XRP", "USDT")
    assert (line.status, line.route) == ("converted", "convert")
    assert (line.amount, line.received, line.fee) == (D(held["XRP"]), quote.to_amount, D(0))
    assert line.client_id == line.transfer_id == quote.quote_tx_id  # Bybit's order id
    assert d.free("XRP") == 0 and d.free("USDT") == 1 + quote.to_amount
    assert d.count("POST", QUOTE_APPLY) == d.count("POST", EXECUTE) == 1
    assert d.count("GET", RESULT) == 2  # processing first, then success
    assert d.count("POST", SB_EXECUTE) == 0
    record = d.records()["XRP"]
    assert record.client_id == record.order_id == quote.quote_tx_id
    assert (record.status, record.qty, record.received_qty) == (
        "converted",
        D(held["XRP"]),
        quote.to_amount,
    )


def test_expired_quote_is_quoted_again_once(desk: DeskFactory) -> None:
    d = convert_desk(desk, dust(["XRP"], "6"))
    plan = d.plan("USDT", convert=True)
    quotes = d.dialect.coin_exchange.quotes

    def expire_quotes() -> None:
        for quote in quotes.values():
            quote.expire_ms = 0

    d.server.faults.add("action", EXECUTE, calls=1, action=expire_quotes)
    outcome = execute_conversion(plan, d.context())
    (line,) = outcome.lines
    assert line.status == "converted"
    assert d.count("POST", QUOTE_APPLY) == 2 and d.count("POST", EXECUTE) == 2
    assert [r.status for r in d.ledger.records(kind="conversion")] == ["failed", "converted"]
    (done,) = executions(d)  # only the second quote executed
    assert line.client_id == done.quote.quote_tx_id and d.free("XRP") == 0


def test_twice_expired_quote_fails_with_nothing_moved(desk: DeskFactory) -> None:
    held = dust(["XRP"], "6")
    d = convert_desk(desk, held)
    plan = d.plan("USDT", convert=True)
    quotes = d.dialect.coin_exchange.quotes

    def expire_quotes() -> None:
        for quote in quotes.values():
            quote.expire_ms = 0

    d.server.faults.add("action", EXECUTE, calls=(1, 2), action=expire_quotes)
    (line,) = execute_conversion(plan, d.context()).lines
    assert line.status == "failed" and "quoted twice" in (line.error or "")
    assert d.count("POST", QUOTE_APPLY) == 2 and executions(d) == []
    assert d.free("XRP") == D(held["XRP"])


def test_lost_execute_answer_is_settled_by_the_quote_id(desk: DeskFactory) -> None:
    d = convert_desk(desk, dust(["XRP"], "6"))
    plan = d.plan("USDT", convert=True)
    d.server.faults.add("lose", EXECUTE, calls=1)
    outcome = execute_conversion(plan, d.context())
    (line,) = outcome.lines
    (done,) = executions(d)
    # convert-result-query by the quote id gives the amounts the lost answer would have led to.
    assert (line.status, line.received) == ("converted", done.quote.to_amount)
    assert sum(d.sleeps) >= 15  # waited until the 15 s quote could no longer be executed
    assert d.count("POST", EXECUTE) == 1
    assert d.records()["XRP"].order_id == done.quote.quote_tx_id


def test_below_the_convert_minimum_is_not_offered(desk: DeskFactory) -> None:
    held = dust(["XRP"], "6") | dust(["ADA"], "3")  # ADA is worth less than the 5 USDT minimum
    d = convert_desk(desk, held)
    plan = d.plan("USDT", convert=True)
    routes = {c.asset: c.route for c in plan.conversions}
    assert routes.get("XRP") is Route.CONVERT and routes.get("ADA") is not Route.CONVERT
    ada = next(c for c in plan.choices if c.asset == "ADA")
    (blocked,) = [o for o in ada.options if o.route is Route.CONVERT]
    assert blocked.blocked is not None and "below the Convert minimum" in blocked.blocked
    execute_conversion(plan, d.context())
    assert d.count("POST", QUOTE_APPLY) == 1  # XRP's only
    assert [e.quote.from_coin for e in executions(d)] == ["XRP"]
    assert d.free("ADA") == D(held["ADA"])


# -- refusals and details of the adapter methods --------------------------------------------------


def test_refusals_name_the_limit_and_move_nothing(desk: DeskFactory) -> None:
    held = dust(["XRP"], "6")
    d = convert_desk(desk, held, single_from_max_value="8")
    ex = d.exchange
    with pytest.raises(ConversionRejected) as below:
        ex.convert_quote("XRP", "USDT", D(held["XRP"]) / 2)
    assert (below.value.code, below.value.kind) == (700006, "ineligible")
    assert "minimum" in str(below.value) and "'main'" in str(below.value)
    with pytest.raises(ConversionRejected) as above:
        ex.convert_quote("XRP", "USDT", D(held["XRP"]) * D("1.5"))
    assert (above.value.code, above.value.kind) == (700007, "ineligible")
    assert "maximum" in str(above.value)
    with pytest.raises(ConversionRejected) as short:
        ex.convert_quote("XRP", "USDT", D(held["XRP"]) * D("1.2"))  # within limits, not held
    assert (short.value.code, short.value.kind) == (700005, "insufficient")
    for err in (below.value, above.value, short.value):
        assert KEY not in str(err) and SECRET not in str(err)
    assert executions(d) == [] and d.free("XRP") == D(held["XRP"])


def test_execute_answers_processing_and_the_status_settles_by_quote_id(desk: DeskFactory) -> None:
    held = dust(["XRP"], "6")
    d = convert_desk(desk, held)
    ex = d.exchange
    quote = ex.convert_quote("XRP", "USDT", D(held["XRP"]))
    assert quote.ratio > 0 and quote.to_amount == (quote.from_amount * quote.ratio).quantize(
        D("1e-18"), rounding=ROUND_DOWN
    )
    # The quote lives 15 s of the exchange's time (which runs on while the test does).
    assert 14_000 < quote.valid_until_ms - d.running.clock.now_ms() <= 15_000
    assert ex.convert_status_by_quote(quote.quote_id) is None  # not executed yet
    order = ex.convert_accept(quote.quote_id)
    assert (order.order_id, order.status, order.final) == (quote.quote_id, "processing", False)
    assert (order.from_amount, order.to_amount) == (None, None)  # execute reports ids only
    first = ex.convert_status(order.order_id)
    assert not first.final and not first.succeeded
    d.advance(3_000)
    settled = ex.convert_status(order.order_id)
    assert settled.final and settled.succeeded
    assert (settled.from_amount, settled.to_amount) == (quote.from_amount, quote.to_amount)
    assert d.free("XRP") == 0


def test_a_quote_used_twice_reports_the_execution_that_happened(desk: DeskFactory) -> None:
    held = dust(["XRP"], "6")
    d = convert_desk(desk, held)
    ex = d.exchange
    quote = ex.convert_quote("XRP", "USDT", D(held["XRP"]))
    ex.convert_accept(quote.quote_id)
    again = ex.convert_accept(quote.quote_id)  # Bybit answers 700009 "already used"
    assert again.order_id == quote.quote_id and again.to_amount == quote.to_amount
    assert d.count("POST", EXECUTE) == 2 and len(executions(d)) == 1
    assert d.free("USDT") == quote.to_amount  # moved once


def test_amount_is_cut_to_the_coins_accuracy_never_rounded_up(desk: DeskFactory) -> None:
    d = convert_desk(desk, {"XRP": "10"})
    d.exchange.convert_pairs(to_asset="USDT")  # learns accuracyLength (8 in the simulator)
    quote = d.exchange.convert_quote("XRP", "USDT", D("3.123456789999"))
    assert quote.from_amount == D("3.12345678")
    assert floor_to_places(D("1.999"), 2) == D("1.99")
    assert floor_to_places(D("1.999"), 0) == D("1")
    assert floor_to_places(D("1.999"), None) == D("1.999")
