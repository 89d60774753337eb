"""Bybit small-balance conversions batch by batch (convert/native.py): more than two batches,
and the quote a batch is recorded under being the one executed.

Bybit quotes at most 20 coins at a time, each quote lives 30 s and executes asynchronously. The
real pybit adapter against the simulator; the exchange's time is the simulator's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dustsweep.convert.caps import quote_ttl_ms
from dustsweep.convert.execute import execute_conversion
from dustsweep.run.outcome import Status
from tests.convert.test_execute import DeskFactory
from tests.convert.test_execute import desk as desk  # the fixture
from tests.convert.test_execute_bybit import SB_EXECUTE, SB_HISTORY, bybit_section, dust

D = Decimal
WALLET = "/v5/account/wallet-balance"


def by_asset(lines: Any) -> dict[str, Any]:
    return {line.asset: line for line in lines}


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
