"""Signed requests sign exactly the bytes they send (issue 8), on both exchanges.

Since 2026-01-15 Binance verifies the signature over the percent-encoded query string and body
as sent; Bybit always has. The simulators verify only the raw bytes, so these tests show both
sides: the SDKs' default signing is rejected for values that need encoding (a comma list, an
odd client id, a non-ASCII symbol), and dustsweep's signing is accepted for the same values.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from binance.client import Client
from binance.exceptions import BinanceAPIException
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP

from dustsweep.errors import AuthError, ExchangeError
from dustsweep.exchanges.base import Credentials
from dustsweep.exchanges.binance.adapter import BinanceExchange
from dustsweep.exchanges.bybit.adapter import BybitExchange
from dustsweep.exchanges.bybit.wire import Clock, new_session
from dustsweep.exchanges.signing import QUERY_SAFE, encode, encode_params, hmac_signer
from dustsweep.sim.binance.auth import check_signature
from dustsweep.sim.binance.dialect import BinanceSim
from dustsweep.sim.binance.wire import BinanceError
from dustsweep.sim.bybit.dialect import BybitSim
from dustsweep.sim.core import Dialect, SimRequest, SimResponse
from dustsweep.sim.server import SimServer
from tests.paths import SIM_DATA

D = Decimal
KEY = "sign-key-0123456789"
SECRET = "sign-secret-0123456789abcdef"
DATA = SIM_DATA
# A real Binance listing with a non-ASCII base asset (2025); Bybit lists such names too.
ODD_BASE = "币安人生"
ODD_SYMBOL = f"{ODD_BASE}USDT"
# Every character class that needs encoding: space, comma, plus, slash, equals, non-ASCII.
ODD_ID = "odd id,+/=é"
BALANCES = {"XRP": "0.4", "TRX": "3.7", "ADA": "100", "BNB": "0.1", ODD_BASE: "1000"}


class Recording(Dialect):
    """Passes every request to ``inner`` and keeps it; ``override`` answers chosen paths."""

    def __init__(self, inner: Dialect) -> None:
        self.inner = inner
        self.seen: list[SimRequest] = []
        self.override: dict[tuple[str, str], SimResponse] = {}

    def handle(self, request: SimRequest) -> SimResponse:
        self.seen.append(request)
        fixed = self.override.get((request.method, request.path))
        return fixed if fixed is not None else self.inner.handle(request)

    def last(self, path: str) -> SimRequest:
        return [r for r in self.seen if r.path == path][-1]


def binance_odd_symbol() -> dict[str, Any]:
    """ADAUSDT's real rules under a non-ASCII name (the simulator's data has none)."""
    info = json.loads((DATA / "binance-exchangeInfo.json").read_text())
    raw = copy.deepcopy(next(s for s in info["symbols"] if s["symbol"] == "ADAUSDT"))
    raw.update(symbol=ODD_SYMBOL, baseAsset=ODD_BASE)
    return raw


def bybit_odd_symbol() -> dict[str, Any]:
    items = json.loads((DATA / "bybit-instruments.json").read_text())
    raw = copy.deepcopy(next(i for i in items if i["symbol"] == "ADAUSDT"))
    raw.update(symbol=ODD_SYMBOL, baseCoin=ODD_BASE)
    return raw


class BinanceVenue:
    def __init__(self, sim: BinanceSim) -> None:
        self.sim = sim
        self.dialect = Recording(sim)
        self.server = SimServer(self.dialect).start()
        creds = Credentials("main", KEY, SECRET, base_url=self.server.url)
        self.exchange = BinanceExchange(creds, sleep=lambda _s: None)

    def free(self, asset: str) -> Decimal:
        return D(self.sim.account("main").wallet.get(asset)[0])


@pytest.fixture
def binance() -> Iterator[Callable[[], BinanceVenue]]:
    made: list[BinanceVenue] = []

    def start() -> BinanceVenue:
        account = {"name": "main", "api_key": KEY, "api_secret": SECRET, "balances": BALANCES}
        sim = BinanceSim.from_scenario(
            {
                "accounts": [account],
                "add_symbols": [binance_odd_symbol()],
                "prices": {"ADAUSDT": "0.5", ODD_SYMBOL: "0.05"},
            }
        )
        made.append(BinanceVenue(sim))
        return made[-1]

    yield start
    for venue in made:
        venue.exchange.close()
        threading.Thread(target=venue.server.stop, daemon=True).start()


# -- the encoding itself ----------------------------------------------------------------------


def test_encoding_is_rfc3986_utf8_and_drops_none() -> None:
    assert encode("ADA,XRP") == "ADA%2CXRP"
    assert encode(ODD_ID) == "odd%20id%2C%2B%2F%3D%C3%A9"
    assert encode(ODD_SYMBOL) == "%E5%B8%81%E5%AE%89%E4%BA%BA%E7%94%9FUSDT"
    assert encode("Az09-._~") == "Az09-._~"  # unreserved characters stay
    assert encode_params({"b": "x y", "a": None, "c": 5}) == "b=x%20y&c=5"


def test_hmac_signer_matches_binances_published_vector() -> None:
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    payload = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        "&recvWindow=5000&timestamp=1499827319559"
    )
    signer = hmac_signer(secret)
    assert signer.sign(payload) == (
        "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )
    assert repr(signer) == "Signer(HMAC)" and secret not in repr(signer)


def test_simulator_verifies_the_raw_bytes_never_the_decoded_form() -> None:
    def request(body: str) -> SimRequest:
        return SimRequest("POST", "/sapi/v1/asset/dust", "", body.encode(), {})

    sent = "asset=ADA%2CXRP&timestamp=1"
    for signed, accepted in ((sent, True), ("asset=ADA,XRP&timestamp=1", False)):
        body = f"{sent}&signature={hmac_signer(SECRET).sign(signed)}"
        if accepted:
            check_signature(request(body), SECRET)
            continue
        with pytest.raises(BinanceError) as info:
            check_signature(request(body), SECRET)
        assert info.value.code == -1022


# -- Binance ----------------------------------------------------------------------------------


def test_python_binance_default_signing_is_rejected_for_a_comma_list(binance: Any) -> None:
    venue = binance()
    client = Client(KEY, SECRET, ping=False, requests_params={"timeout": 5})
    client.API_URL = f"{venue.server.url}/api"
    client.MARGIN_API_URL = f"{venue.server.url}/sapi"
    client.get_account()  # a single plain value passes: the bug hides behind it
    with pytest.raises(BinanceAPIException) as info:
        client.transfer_dust(asset="XRP,TRX")
    assert info.value.code == -1022
    sent = venue.dialect.last("/sapi/v1/asset/dust")
    assert "asset=TRX%2CXRP" in sent.body.decode() or "asset=XRP%2CTRX" in sent.body.decode()
    assert venue.free("XRP") == D("0.4") and venue.free("TRX") == D("3.7")


def test_dust_to_bnb_with_a_comma_list_is_accepted(binance: Any) -> None:
    venue = binance()
    bnb = venue.free("BNB")
    preview = venue.exchange.preview_conversion("BNB")
    result = venue.exchange.convert(preview, ["XRP", "TRX"], "conv-1")
    assert {line.asset for line in result.lines} == {"XRP", "TRX"}
    assert venue.free("XRP") == 0 and venue.free("TRX") == 0
    assert venue.free("BNB") == bnb + sum((x.received for x in result.lines), D(0))
    body = venue.dialect.last("/sapi/v1/asset/dust").body.decode()
    assert "asset=XRP%2CTRX" in body and "," not in body  # encoded on the wire, signed so


def test_dust_convert_batch_with_a_comma_list_is_accepted(binance: Any) -> None:
    venue = binance()
    preview = venue.exchange.preview_conversion("USDC")
    result = venue.exchange.convert(preview, ["XRP", "TRX"], "conv-usdc-1")
    assert {line.asset for line in result.lines} == {"XRP", "TRX"}
    assert venue.free("USDC") == sum((x.received for x in result.lines), D(0)) > 0
    body = venue.dialect.last("/sapi/v1/asset/dust-convert/convert").body.decode()
    assert "asset=XRP%2CTRX" in body


def test_an_odd_client_id_is_signed_as_sent(binance: Any) -> None:
    """dustsweep's own ids are [A-Za-z0-9_-]; the signing layer must not depend on that. A
    GET (query string) and a POST (form body) carry the odd value through the transport."""
    venue = binance()
    transport = venue.exchange._transport
    with pytest.raises(ExchangeError) as lookup:
        transport.call(
            transport.ctx("look up an odd id"),
            lambda c: c.get_order(symbol="ADAUSDT", origClientOrderId=ODD_ID),
            is_read=True,
        )
    assert lookup.value.code == -2013  # signature accepted: the order simply does not exist
    assert f"origClientOrderId={encode(ODD_ID)}" in venue.dialect.seen[-1].query
    with pytest.raises(ExchangeError) as order:
        transport.call(
            transport.ctx("odd id order"),
            lambda c: c.order_market_sell(symbol="ADAUSDT", quantity="20", newClientOrderId=ODD_ID),
            is_read=False,
        )
    assert order.value.code == -1100  # past the signature: the id's characters are refused
    assert venue.free("ADA") == D("100")


def test_a_non_ascii_symbol_sells_and_is_found(binance: Any) -> None:
    venue = binance()
    markets = {m.symbol: m for m in venue.exchange.fetch_markets()}
    assert markets[ODD_SYMBOL].base == ODD_BASE
    result = venue.exchange.market_sell(ODD_SYMBOL, D("500"), "dust-odd-1")
    assert result.status == "filled" and result.filled_qty == D("500")
    assert venue.free(ODD_BASE) == D("500")
    assert f"symbol={encode(ODD_SYMBOL)}" in venue.dialect.last("/api/v3/order").body.decode()
    found = venue.exchange.find_order(ODD_SYMBOL, "dust-odd-1")
    assert found is not None and found.order_id == result.order_id


def test_a_1022_after_a_good_signed_read_is_a_signing_problem_not_the_secret(
    binance: Any,
) -> None:
    venue = binance()
    rejected = SimResponse(400, {"code": -1022, "msg": "Signature for this request is not valid."})
    venue.dialect.override[("POST", "/sapi/v1/asset/dust")] = rejected
    preview = venue.exchange.preview_conversion("BNB")  # signed reads that succeed
    with pytest.raises(AuthError) as info:
        venue.exchange.convert(preview, ["XRP", "TRX"], "conv-1")
    message = str(info.value)
    assert "signing problem of this request" in message and "not the key/secret" in message
    assert "POST /sapi/v1/asset/dust" in message and "check the API secret" not in message
    assert SECRET not in message


def test_a_1022_on_the_first_signed_request_points_at_the_secret(binance: Any) -> None:
    venue = binance()
    rejected = SimResponse(400, {"code": -1022, "msg": "Signature for this request is not valid."})
    venue.dialect.override[("GET", "/api/v3/account")] = rejected
    venue.exchange.fetch_markets()  # unsigned: proves nothing about the secret
    with pytest.raises(AuthError) as info:
        venue.exchange.fetch_balances()
    assert "check the API secret" in str(info.value)
    assert venue.exchange._transport.ctx("x").signed_ok is False


def test_doctor_checks_that_encoded_values_are_signed_as_sent(binance: Any) -> None:
    venue = binance()
    rows = {name: (ok, detail) for name, ok, detail in venue.exchange.check_access()}
    assert rows["encoded values signed"][0] is True
    assert "dustsweep%3Adoctor%2Fprobe" in venue.dialect.last("/api/v3/order").query
    rejected = SimResponse(400, {"code": -1022, "msg": "Signature for this request is not valid."})
    venue.dialect.override[("GET", "/api/v3/order")] = rejected
    rows = {name: (ok, detail) for name, ok, detail in venue.exchange.check_access()}
    ok, detail = rows["encoded values signed"]
    assert ok is False and "signing problem of this request" in detail
    assert rows["keys accepted"][0] is True


# -- Bybit ------------------------------------------------------------------------------------


class BybitVenue:
    def __init__(self) -> None:
        account = {"name": "main", "api_key": KEY, "api_secret": SECRET, "balances": BALANCES}
        self.sim = BybitSim.from_scenario(
            {
                "accounts": [account],
                "add_symbols": [bybit_odd_symbol()],
                "prices": {ODD_SYMBOL: "0.05"},
            }
        )
        self.dialect = Recording(self.sim)
        self.server = SimServer(self.dialect).start()
        self.creds = Credentials("main", KEY, SECRET, base_url=self.server.url, timeout=5)
        self.exchange = BybitExchange(
            self.creds, sleep=lambda _s: None, order_poll_delays=(0.0, 0.01, 0.01)
        )

    def plain(self) -> Any:
        session = HTTP(api_key=KEY, api_secret=SECRET, max_retries=1, retry_codes={-1})
        session.endpoint = self.server.url
        session.client.trust_env = False
        return session


@pytest.fixture
def bybit() -> Iterator[BybitVenue]:
    venue = BybitVenue()
    yield venue
    venue.exchange.close()
    threading.Thread(target=venue.server.stop, daemon=True).start()


@pytest.mark.parametrize("value", [ODD_SYMBOL, "XRPUSDT,ADAUSDT"])
def test_pybit_default_signing_is_rejected_for_values_that_need_encoding(
    bybit: BybitVenue, value: str
) -> None:
    """pybit signs the raw text; requests encodes non-ASCII when sending: 10004. (A comma
    passes unencoded through requests, so pybit's own form then matches, and dustsweep keeps
    it raw too.)"""
    session = bybit.plain()
    if value.isascii():
        session.get_open_orders(category="spot", symbol=value)  # same bytes both ways: passes
        return
    with pytest.raises(InvalidRequestError) as info:
        session.get_open_orders(category="spot", symbol=value)
    assert info.value.status_code == 10004


def test_dustsweep_session_signs_odd_values_as_sent(bybit: BybitVenue) -> None:
    session = new_session(bybit.creds, bybit.server.url, Clock())
    for symbol, link in ((ODD_SYMBOL, "dust-odd"), ("XRPUSDT", ODD_ID)):
        answer = session.get_open_orders(category="spot", symbol=symbol, orderLinkId=link)
        assert answer[0]["retCode"] == 0 and answer[0]["result"]["list"] == []
        assert f"orderLinkId={encode(link, QUERY_SAFE)}" in bybit.dialect.seen[-1].query
    query = bybit.dialect.seen[-1].query
    assert "odd%20id,%2B/%3D%C3%A9" in query  # what requests leaves alone stays raw


def test_a_non_ascii_symbol_order_is_found_and_settles(bybit: BybitVenue) -> None:
    """The order-status query of a non-ASCII symbol used to be rejected (10004), leaving the
    order pending for ever."""
    result = bybit.exchange.market_sell(ODD_SYMBOL, D("500"), "dust-odd-1")
    assert result.status == "filled" and result.filled_qty == D("500")
    found = bybit.exchange.find_order(ODD_SYMBOL, "dust-odd-1")
    assert found is not None and found.status == "filled" and found.final
    assert found.order_id == result.order_id
    queries = [r.query for r in bybit.dialect.seen if r.method == "GET" and "order" in r.path]
    assert queries and all(encode(ODD_SYMBOL, QUERY_SAFE) in q for q in queries)
