"""``BybitExchange.quote_conversion``: a fresh small-balance quote for exactly the coins asked,
through the real pybit client against the project's Bybit simulator on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from dustsweep.errors import ConversionRejected
from dustsweep.exchanges.base import Credentials
from dustsweep.exchanges.bybit.adapter import BybitExchange
from dustsweep.sim.bybit.dialect import BybitSim
from dustsweep.sim.server import SimServer
from tests.paths import SIM_DATA

KEY = "quote-key-51f0a2"
SECRET = "quote-secret-08be93"
DATA = SIM_DATA
SB_QUOTE = "/v5/asset/covert/get-quote"
SB_EXECUTE = "/v5/asset/covert/small-balance-execute"


def dust(coins: list[str], value: str = "0.5") -> dict[str, str]:
    """Balances worth about ``value`` USDT each at the bundled bids."""
    body = json.loads((DATA / "bybit-tickers.json").read_text())
    bids = {t["symbol"]: Decimal(t["bid1Price"]) for t in body["result"]["list"]}
    return {
        c: format((Decimal(value) / bids[f"{c}USDT"]).quantize(Decimal("1e-8")), "f") for c in coins
    }


@dataclass
class Env:
    sim: BybitSim
    server: SimServer
    exchange: BybitExchange

    def count(self, method: str, path: str) -> int:
        return self.server.faults.count(method, path)

    def free(self, coin: str) -> Decimal:
        return Decimal(self.sim.account("main").wallet.get(coin)[0])


@pytest.fixture
def bybit() -> Iterator[Callable[..., Env]]:
    made: list[Env] = []

    def make(balances: dict[str, str], **conversion: Any) -> Env:
        account = {"name": "main", "api_key": KEY, "api_secret": SECRET, "balances": balances}
        sim = BybitSim.from_scenario({"accounts": [account], "conversion": conversion})
        server = SimServer(sim).start()
        creds = Credentials("main", KEY, SECRET, base_url=server.url)
        exchange = BybitExchange(
            creds, sleep=lambda _s: None, conversion_poll_delays=(0.0, 0.01, 0.01)
        )
        made.append(Env(sim, server, exchange))
        return made[-1]

    yield make
    for env in made:
        env.exchange.close()
        threading.Thread(target=env.server.stop, daemon=True).start()


def test_the_quote_covers_exactly_the_coins_asked_and_is_executed_as_it_is(bybit: Any) -> None:
    held = dust(["XRP", "ADA", "DOGE"])
    env = bybit(held)
    preview = env.exchange.quote_conversion("usdt", ["XRP", "ADA"])
    assert preview.target == "USDT" and preview.quote_id is not None
    assert preview.expires_ms is not None and preview.expires_ms > env.sim.clock.now_ms()
    quoted = env.sim.small_balance.quotes[preview.quote_id]
    assert [ln.from_coin for ln in quoted.lines] == ["XRP", "ADA"]  # DOGE is held, not asked
    by_coin = {ln.from_coin: ln for ln in quoted.lines}
    for line in preview.lines:
        assert line.amount == Decimal(held[line.asset])
        assert (line.net, line.fee) == (by_coin[line.asset].to_amount, by_coin[line.asset].fee)
    result = env.exchange.convert(preview, ["ADA", "XRP"], "conv-1")
    assert result.status == "converted" and result.transfer_id == preview.quote_id
    assert env.count("POST", SB_QUOTE) == 1  # the quote was used, not asked again
    assert env.free("XRP") == env.free("ADA") == 0
    assert env.free("DOGE") == Decimal(held["DOGE"])


def test_every_call_is_a_new_quote_and_repeats_are_sent_once(bybit: Any) -> None:
    env = bybit(dust(["XRP", "ADA"]))
    first = env.exchange.quote_conversion("USDC", ["XRP", "XRP"])  # the exchange refuses repeats
    second = env.exchange.quote_conversion("USDC", ["XRP"])
    assert [x.asset for x in first.lines] == [x.asset for x in second.lines] == ["XRP"]
    assert first.quote_id != second.quote_id
    assert env.count("POST", SB_QUOTE) == 2


def test_a_coin_bybit_will_not_convert_is_refused_not_dropped(bybit: Any) -> None:
    env = bybit(dust(["XRP", "ADA"]), ineligible=["ADA"])
    with pytest.raises(ConversionRejected) as info:
        env.exchange.quote_conversion("USDT", ["XRP", "ADA"])
    assert info.value.kind == "ineligible" and "ADA" in str(info.value)
    assert "'main'" in str(info.value) and KEY not in str(info.value)
    assert env.count("POST", SB_EXECUTE) == 0
    assert [x.asset for x in env.exchange.quote_conversion("USDT", ["XRP"]).lines] == ["XRP"]


@pytest.mark.parametrize(
    ("target", "assets", "kind", "words"),
    [
        ("BNB", ["XRP"], "unsupported_target", "MNT, USDT, USDC"),
        ("USDT", [], "other", "no assets"),
        ("USDT", [f"C{i}" for i in range(21)], "other", "at most 20"),
    ],
)
def test_requests_bybit_would_refuse_never_leave_the_machine(
    bybit: Any, target: str, assets: list[str], kind: str, words: str
) -> None:
    env = bybit(dust(["XRP"]))
    with pytest.raises(ConversionRejected) as info:
        env.exchange.quote_conversion(target, assets)
    assert info.value.kind == kind and words in str(info.value)
    assert env.server.requests == []


def test_a_quote_in_its_last_second_is_refused_as_expired_not_swapped(bybit: Any) -> None:
    """The caller recorded the quote id as the conversion's id: an adapter that quoted again
    here would execute a quote nobody looks up after a lost answer. Nothing is sent."""
    env = bybit(dust(["XRP", "ADA"]))
    preview = env.exchange.quote_conversion("USDT", ["XRP", "ADA"])
    assert preview.expires_ms is not None
    env.sim.clock.advance(preview.expires_ms - env.sim.clock.now_ms() - 900)
    env.exchange.sync_clock()
    with pytest.raises(ConversionRejected) as refused:
        env.exchange.convert(preview, ["XRP", "ADA"], "conv-9")
    assert refused.value.kind == "expired"
    assert f"quote {preview.quote_id} expires in less than 1000 ms: not sent" in str(refused.value)
    assert env.count("POST", SB_EXECUTE) == 0 and env.count("POST", SB_QUOTE) == 1
    assert env.sim.account("main").conversions == []
