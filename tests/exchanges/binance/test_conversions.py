"""Binance adapter methods the conversion executor uses to settle lost answers, through the real
python-binance client against the project's simulator on 127.0.0.1:

- ``conversions_since``: the dust log (GET /sapi/v1/asset/dribblet) with amounts;
- ``convert_status_by_quote``: a Convert order found by its quote id (GET
  /sapi/v1/convert/orderStatus?quoteId=...), for an acceptQuote whose answer was lost.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from dustsweep.errors import ExchangeError, NetworkError, ServerError
from dustsweep.exchanges.base import Credentials
from dustsweep.exchanges.binance.adapter import BinanceExchange
from dustsweep.sim.binance.dialect import BinanceSim
from dustsweep.sim.core import Dialect, SimRequest, SimResponse
from dustsweep.sim.server import SimServer
from tests.paths import REAL_FIXTURES

D = Decimal
KEY = "conv-key-0123456789"
SECRET = "conv-secret-0123456789abcdef"
DRIBBLET = "/sapi/v1/asset/dribblet"
ACCEPT = "/sapi/v1/convert/acceptQuote"
STATUS = "/sapi/v1/convert/orderStatus"
HOUR_MS = 3_600_000
EXAMPLES = REAL_FIXTURES / "examples" / "binance-doc-examples-connector-go.json"
BALANCES = {"ADA": "100", "XRP": "0.4", "TRX": "3.7", "BNB": "0.1", "USDT": "0"}


class Recording(Dialect):
    """Keeps every request (query included) and passes it on: to the simulator, or to a table
    of fixed answers for shapes the simulator has no reason to produce."""

    def __init__(self, inner: Dialect | dict[tuple[str, str], SimResponse]) -> None:
        self.inner = inner
        self.seen: list[SimRequest] = []

    def handle(self, request: SimRequest) -> SimResponse:
        self.seen.append(request)
        if isinstance(self.inner, Dialect):
            return self.inner.handle(request)
        return self.inner.get((request.method, request.path)) or SimResponse(404, {})

    def queries(self, path: str) -> list[dict[str, str]]:
        return [r.query_params() for r in self.seen if r.path == path]


class Venue:
    def __init__(self, server: SimServer, dialect: Recording, sim: BinanceSim | None) -> None:
        self.server = server
        self.dialect = dialect
        self.sim = sim
        creds = Credentials("main", KEY, SECRET, base_url=server.url)
        self.exchange = BinanceExchange(creds, sleep=lambda _s: None)

    def free(self, asset: str) -> Decimal:
        assert self.sim is not None
        return D(self.sim.account("main").wallet.get(asset)[0])

    def advance(self, ms: int) -> None:
        """Time passes on the exchange and, through the offset, for the adapter too."""
        assert self.sim is not None
        self.sim.clock.advance(ms)
        self.exchange.set_clock_offset(self.exchange.clock_offset_ms + ms)


@pytest.fixture
def venue() -> Iterator[Callable[..., Venue]]:
    made: list[Venue] = []

    def start(answers: dict[tuple[str, str], SimResponse] | None = None, **extra: Any) -> Venue:
        sim = None
        if answers is None:
            account = {"name": "main", "api_key": KEY, "api_secret": SECRET, "balances": BALANCES}
            sim = BinanceSim.from_scenario(
                {"accounts": [account], "prices": {"ADAUSDT": "0.5"}, **extra}
            )
        dialect = Recording(sim if sim is not None else answers or {})
        made.append(Venue(SimServer(dialect).start(), dialect, sim))
        return made[-1]

    yield start
    for v in made:
        v.exchange.close()
        threading.Thread(target=v.server.stop, daemon=True).start()


# -- conversions_since ------------------------------------------------------------------------


def test_an_empty_log_is_an_empty_list_and_the_start_time_is_sent(venue: Any) -> None:
    v = venue()
    since = v.sim.clock.now_ms() - HOUR_MS
    assert v.exchange.conversions_since(since) == []
    assert [q["startTime"] for q in v.dialect.queries(DRIBBLET)] == [str(since)]


def test_a_dust_conversion_is_logged_with_the_amounts_it_answered(venue: Any) -> None:
    v = venue()
    since = v.sim.clock.now_ms()
    bnb = v.free("BNB")
    preview = v.exchange.preview_conversion("BNB")
    answered = v.exchange.convert(preview, ["XRP", "TRX"], "conv-1")
    (logged,) = v.exchange.conversions_since(since)
    assert (logged.target, logged.status) == ("BNB", "converted")
    batch = v.sim.account("main").dribblets[0]
    assert logged.transfer_id == str(batch["transId"])
    # The log and the conversion's own answer are two endpoints: they must agree per asset.
    by_asset = {line.asset: line for line in logged.lines}
    assert set(by_asset) == {"XRP", "TRX"}
    for line in answered.lines:
        got = by_asset[line.asset]
        assert (got.amount, got.received, got.fee) == (line.amount, line.received, line.fee)
        assert got.transfer_id == line.transfer_id and got.status == "converted"
    assert v.free("BNB") - bnb == sum((x.received for x in logged.lines), D(0))
    assert v.free("XRP") == 0 and by_asset["XRP"].amount == D("0.4")
    v.advance(1_000)
    assert v.exchange.conversions_since(v.sim.clock.now_ms()) == []


def test_dust_convert_and_dust_to_bnb_come_oldest_first_with_their_targets(venue: Any) -> None:
    v = venue()
    start = v.sim.clock.now_ms()
    v.exchange.convert(v.exchange.preview_conversion("USDC"), ["XRP"], "conv-usdc")
    v.advance(7 * HOUR_MS)  # past the shared cool-down
    middle = v.sim.clock.now_ms()
    v.exchange.convert(v.exchange.preview_conversion("BNB"), ["TRX"], "conv-bnb")
    both = v.exchange.conversions_since(start)
    assert [(r.target, [x.asset for x in r.lines]) for r in both] == [
        ("USDC", ["XRP"]),
        ("BNB", ["TRX"]),
    ]
    assert both[0].lines[0].received == v.free("USDC") > 0
    assert [r.target for r in v.exchange.conversions_since(middle)] == ["BNB"]


def test_the_documented_log_shape_and_undatable_batches(venue: Any) -> None:
    example = json.loads(EXAMPLES.read_text())["GET /sapi/v1/asset/dribblet"]
    documented = example["userAssetDribblets"][0]
    untargeted = {
        "operateTime": 1615990000000,
        "transId": 45178372999,
        "userAssetDribbletDetails": [
            {
                "transId": 4359400,
                "serviceChargeAmount": "0.00000002",
                "amount": "0.5",
                "operateTime": 1615990000000,
                "transferedAmount": "0.00000098",
                "fromAsset": "DOGE",
            }
        ],
    }
    text_dated = {
        "operateTime": "2018-05-03 17:07:04",
        "transId": 1,
        "userAssetDribbletDetails": [{"amount": "1", "fromAsset": "TRX"}],
    }
    body = {"total": 3, "userAssetDribblets": [untargeted, text_dated, documented]}  # newest first
    v = venue({("GET", DRIBBLET): SimResponse(200, body)})
    first, second = v.exchange.conversions_since(1615985535000)
    assert (first.target, first.transfer_id) == ("BNB", "45178372831")
    (usdt,) = first.lines
    assert (usdt.asset, usdt.amount, usdt.received, usdt.fee, usdt.transfer_id) == (
        "USDT",
        D("0.0009"),
        D("0.000441"),
        D("0.000009"),
        "4359321",
    )
    assert second.target == ""  # no target named: unknown, matched by its assets alone
    assert [x.asset for x in second.lines] == ["DOGE"]
    # What lies before ``since`` is left out even if the server sends it.
    assert [r.transfer_id for r in v.exchange.conversions_since(1615985535001)] == ["45178372999"]


def test_an_empty_answer_without_the_list_is_no_conversion(venue: Any) -> None:
    v = venue({("GET", DRIBBLET): SimResponse(200, {"total": 0})})
    assert v.exchange.conversions_since(0) == []


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (500, {"code": -1001, "msg": "Internal error; unable to process your request."}, None),
        (200, {"userAssetDribblets": "not a list"}, ServerError),
        (401, {"code": -1002, "msg": "You are not authorized to execute this request."}, None),
    ],
)
def test_an_unreadable_log_raises_instead_of_saying_nothing_happened(
    venue: Any, status: int, body: Any, error: type[ExchangeError] | None
) -> None:
    v = venue({("GET", DRIBBLET): SimResponse(status, body)})
    with pytest.raises(error or ExchangeError) as err:
        v.exchange.conversions_since(0)
    assert "dust log" in str(err.value) and "'main'" in str(err.value)


# -- convert_status_by_quote ------------------------------------------------------------------


def test_a_lost_accept_is_found_by_its_quote_id_with_amounts(venue: Any) -> None:
    v = venue()
    quote = v.exchange.convert_quote("ADA", "USDT", D("30"))
    v.server.faults.add("lose", ACCEPT, calls=1)
    with pytest.raises(NetworkError):
        v.exchange.convert_accept(quote.quote_id)
    assert v.free("ADA") == D("70")  # it executed; only the answer was lost
    first = v.exchange.convert_status_by_quote(quote.quote_id)
    assert first is not None and first.status == "PROCESS" and not first.final
    order = v.exchange.convert_status_by_quote(quote.quote_id)
    assert order is not None and order.succeeded and order.order_id == first.order_id
    assert (order.from_amount, order.to_amount) == (quote.from_amount, quote.to_amount)
    assert (order.from_amount, order.to_amount) == (D("30"), D("15"))
    assert v.free("USDT") == D("15")
    assert v.exchange.convert_status(order.order_id).order_id == order.order_id
    sent = v.dialect.queries(STATUS)
    assert sent[0]["quoteId"] == quote.quote_id and "orderId" not in sent[0]


def test_a_quote_never_accepted_has_no_order(venue: Any) -> None:
    v = venue()
    quote = v.exchange.convert_quote("ADA", "USDT", D("30"))
    assert v.exchange.convert_status_by_quote(quote.quote_id) is None
    assert v.free("ADA") == D("100")


def test_order_status_failures_other_than_no_such_order_are_raised(venue: Any) -> None:
    v = venue()
    quote = v.exchange.convert_quote("ADA", "USDT", D("30"))
    v.exchange.convert_accept(quote.quote_id)
    v.server.faults.add("http", STATUS, status=503, body={"code": -1001, "msg": "busy"})
    with pytest.raises(ServerError):
        v.exchange.convert_status_by_quote(quote.quote_id)
