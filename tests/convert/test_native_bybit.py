"""Bybit small-balance conversions batch by batch (convert/native.py): more than two batches,
and the quote a batch is recorded under being the one executed.

Bybit quotes at most 20 coins at a time, each quote lives 30 s and executes asynchronously. The
real pybit adapter against the simulator; the exchange's time is the simulator's.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from dustsweep.convert.caps import quote_ttl_ms
from dustsweep.convert.execute import execute_conversion
from dustsweep.run.outcome import Status
from tests.convert.test_execute import DeskFactory
from tests.convert.test_execute import desk as desk  # the fixture
from tests.convert.test_execute_bybit import SB_EXECUTE, SB_HISTORY, bids, bybit_section, dust
from tests.convert.test_mutants_native import bybit_error
from tests.paths import SIM_DATA

D = Decimal
WALLET = "/v5/account/wallet-balance"
# Coins Bybit lists that the bundled snapshot does not: with them an account holds more than
# 40 small balances, three quotes' worth (Bybit quotes at most 20 coins at a time).
LISTED_SINCE = ("INJ", "JUP", "RUNE", "SEI", "TIA")


def by_asset(lines: Any) -> dict[str, Any]:
    return {line.asset: line for line in lines}


def listed(coin: str) -> dict[str, Any]:
    """``<coin>USDT`` as instruments-info describes it (XRPUSDT's rules, another coin)."""
    raw = json.loads((SIM_DATA / "bybit-instruments.json").read_text())
    (xrp,) = [dict(i) for i in raw if i["symbol"] == "XRPUSDT"]
    return {**xrp, "symbol": f"{coin}USDT", "baseCoin": coin}


def three_batches() -> tuple[dict[str, Any], list[str]]:
    """A Bybit section with 43 small balances (20 + 20 + 3 per quote), and the coins."""
    known = sorted(s[: -len("USDT")] for s in bids() if s.endswith("USDT"))
    known = [c for c in known if c not in {"USDC", "MNT"}]
    balances = {**dust(known, "0.2"), **{coin: "0.2" for coin in LISTED_SINCE}}  # 1 USDT each
    section = bybit_section(balances)
    section["add_symbols"] = [listed(coin) for coin in LISTED_SINCE]
    section["prices"] = {f"{coin}USDT": "1" for coin in LISTED_SINCE}
    return section, sorted(balances)


# -- more than two batches ----------------------------------------------------------------------


def test_every_batch_after_a_cooldown_is_skipped_with_a_line_of_its_own(
    desk: DeskFactory,
) -> None:
    """Bybit refuses the first batch: another conversion (made in its app meanwhile) is still
    processing, its cool-down. The second and the third batch are skipped unsent, every coin of
    all three with its own line: none is silently dropped."""
    section, coins = three_batches()
    d = desk("bybit", section)
    plan = d.plan("USDC")
    assert len(plan.conversions) == len(coins) == 43
    assert [len(p.lines) for p in plan.previews] == [20, 20, 3]
    busy = bybit_error(700021, "exist processing exchange order")
    d.server.faults.add("http", SB_EXECUTE, calls=1, status=200, body=busy)
    outcome = execute_conversion(plan, d.context())
    assert sorted(line.asset for line in outcome.lines) == coins  # one line per coin
    for line in outcome.lines:
        assert (line.status, line.cooldown, line.received_asset) == (Status.SKIPPED, True, "USDC")
        assert line.error == outcome.cooldown_message
    assert "exist processing exchange order" in (outcome.cooldown_message or "")
    assert d.count("POST", SB_EXECUTE) == 1  # neither later batch was sent
    assert d.dialect.account("main").conversions == []
    records = d.ledger.records(kind="conversion")
    assert len(records) == 20 and {r.status for r in records} == {"failed"}  # the first batch
    assert all(d.free(coin) > 0 for coin in coins)


# -- the quote recorded is the quote executed ---------------------------------------------------


def test_a_quote_that_ran_out_before_the_send_is_replaced_and_recorded_anew(
    desk: DeskFactory,
) -> None:
    """The balance read right before the send (the evidence) took so long that the quote had
    under a second left. It is not sent: the batch is quoted again and recorded under the new
    quote, so when the answer is lost (and the adapter's own look at the history fails too)
    the conversion is looked up by the quote that executed, and found."""
    d = desk("bybit", bybit_section(dust(["XRP", "ADA"])))
    plan = d.plan("USDT")
    ttl = quote_ttl_ms(d.exchange) or 0
    slow_read = d.count("GET", WALLET) + 1
    d.server.faults.add("action", WALLET, calls=slow_read, action=lambda: d.advance(ttl - 500))
    d.server.faults.add("lose", SB_EXECUTE, calls=1)
    looks = d.count("GET", SB_HISTORY)  # the adapter's own look (pybit retries it twice)
    d.server.faults.add("drop", SB_HISTORY, calls=(looks + 1, looks + 2, looks + 3))
    outcome = execute_conversion(plan, d.context(reconcile_window_s=10.0))
    (executed,) = d.dialect.account("main").conversions
    subs = {s.from_coin: s for s in executed.subs}
    lines = by_asset(outcome.lines)
    assert set(lines) == {"XRP", "ADA"}
    for asset, line in lines.items():
        assert (line.status, line.client_id) == (Status.CONVERTED, executed.tx_id)
        assert (line.received, line.fee) == (subs[asset].to_amount, subs[asset].fee)
    history = d.ledger.records(kind="conversion")
    converted = [r for r in history if r.status == "converted"]
    assert sorted(r.asset for r in converted) == ["ADA", "XRP"]
    assert {r.client_id for r in converted} == {executed.tx_id}
    given_up = [r for r in history if r.status == "failed"]
    assert sorted(r.asset for r in given_up) == ["ADA", "XRP"]
    (first_quote,) = {r.client_id for r in given_up}
    assert first_quote != executed.tx_id
    assert all((r.error or "").startswith("quote expired before execution: ") for r in given_up)
    assert not d.dialect.small_balance.quotes[first_quote].used  # never sent
    assert d.count("POST", SB_EXECUTE) == 1
    assert d.ledger.pending() == []
