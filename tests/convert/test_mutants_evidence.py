"""Balance evidence for lost conversions: the edges found by mutation testing (issue 9).

``judge_balances`` decides, from the balances alone, whether a conversion whose answer was lost
executed: every asset at zero (at most 1 % of the amount left) AND the target credited by the
expected net within 10 %. Anything else that moved is ambiguous (left pending, never re-sent);
nothing moved at all means it never executed. These are pure rules, tested as such; the
``Finder`` tests run the real python-binance adapter against the simulator.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from dustsweep.convert.evidence import (
    BalanceProof,
    BalanceVerdict,
    Fact,
    Finder,
    facts_from_result,
    is_derived_id,
    judge_balances,
    proof_from_records,
)
from dustsweep.convert.execute import execute_conversion
from dustsweep.core.models import ConversionLine, ConversionResult
from tests.convert.test_execute import DeskFactory, binance_section
from tests.convert.test_execute import desk as desk  # the fixture

D = Decimal
TAIL = "left pending, never sent again: check the exchange's history"


def proof(before: str, **expected: str | None) -> BalanceProof:
    return BalanceProof(D(before), {a: None if v is None else D(v) for a, v in expected.items()})


def ambiguous(why: str) -> BalanceVerdict:
    return BalanceVerdict(ambiguous=f"the balances cannot tell whether it executed ({why}); {TAIL}")


# -- judge_balances: converted -------------------------------------------------------------------


def test_one_asset_gone_and_the_expected_credit_is_converted_with_that_credit() -> None:
    verdict = judge_balances(
        {"XRP": D("0"), "BNB": D("1.002")}, "BNB", {"XRP": D("5")}, proof("1", XRP="0.002")
    )
    assert verdict == BalanceVerdict(facts={"XRP": Fact("XRP", "converted", D("5"), D("0.002"))})


def test_several_assets_converted_leave_the_split_of_the_credit_unknown() -> None:
    verdict = judge_balances(
        {"XRP": D("0"), "TRX": D("0"), "BNB": D("0.5")},
        "BNB",
        {"XRP": D("5"), "TRX": D("7")},
        proof("0.2", XRP="0.1", TRX="0.2"),
    )
    assert verdict.ambiguous is None
    assert verdict.facts == {
        "XRP": Fact("XRP", "converted", D("5"), None),
        "TRX": Fact("TRX", "converted", D("7"), None),
    }


def test_an_asset_missing_from_the_balances_counts_as_zero() -> None:
    """Exchanges drop a coin at zero from the balance list: that is "gone", not unknown."""
    verdict = judge_balances({"USDC": D("3")}, "USDC", {"XRP": D("5")}, proof("2", XRP="1"))
    assert verdict.facts == {"XRP": Fact("XRP", "converted", D("5"), D("1"))}


def test_a_target_missing_from_the_balances_counts_as_zero() -> None:
    verdict = judge_balances({"XRP": D("5")}, "USDC", {"XRP": D("5")}, proof("0", XRP="1"))
    assert verdict == BalanceVerdict()  # nothing moved: the target is still at 0


@pytest.mark.parametrize("left", ["0", "0.5", "1"])  # 1 % of 100 is the most that may stay
def test_up_to_one_percent_left_over_still_counts_as_gone(left: str) -> None:
    verdict = judge_balances(
        {"XRP": D(left), "BNB": D("2")}, "BNB", {"XRP": D("100")}, proof("1", XRP="1")
    )
    assert verdict.facts is not None and verdict.facts["XRP"].status == "converted"


def test_more_than_one_percent_left_over_is_ambiguous() -> None:
    verdict = judge_balances(
        {"XRP": D("1.01"), "BNB": D("2")}, "BNB", {"XRP": D("100")}, proof("1", XRP="1")
    )
    assert verdict == ambiguous("XRP not at zero (rose again from elsewhere, or never converted)")


@pytest.mark.parametrize("credit", ["0.9", "1", "1.1"])  # the expected 1, within 10 %
def test_a_credit_within_ten_percent_of_the_expected_net_is_converted(credit: str) -> None:
    verdict = judge_balances(
        {"XRP": D("0"), "BNB": D("10") + D(credit)}, "BNB", {"XRP": D("5")}, proof("10", XRP="1")
    )
    assert verdict.facts == {"XRP": Fact("XRP", "converted", D("5"), D(credit))}


@pytest.mark.parametrize("credit", ["0.899", "1.101"])
def test_a_credit_outside_ten_percent_of_the_expected_net_is_ambiguous(credit: str) -> None:
    verdict = judge_balances(
        {"XRP": D("0"), "BNB": D("10") + D(credit)}, "BNB", {"XRP": D("5")}, proof("10", XRP="1")
    )
    assert verdict == ambiguous(f"BNB credited by {credit}, expected about 1")


# -- judge_balances: nothing moved, or ambiguous ---------------------------------------------------


def test_balances_exactly_as_before_mean_nothing_moved() -> None:
    verdict = judge_balances(
        {"XRP": D("5"), "TRX": D("7"), "BNB": D("1")},
        "BNB",
        {"XRP": D("5"), "TRX": D("7")},
        proof("1", XRP="0.1", TRX="0.2"),
    )
    assert verdict == BalanceVerdict()


def test_a_target_credited_from_elsewhere_while_the_assets_stayed_is_ambiguous() -> None:
    verdict = judge_balances(
        {"XRP": D("5"), "BNB": D("1.5")}, "BNB", {"XRP": D("5")}, proof("1", XRP="0.1")
    )
    assert verdict == ambiguous("XRP not at zero (rose again from elsewhere, or never converted)")


def test_assets_gone_without_any_credit_is_ambiguous_not_nothing_moved() -> None:
    verdict = judge_balances(
        {"XRP": D("0"), "TRX": D("0"), "BNB": D("1")},
        "BNB",
        {"XRP": D("5"), "TRX": D("7")},
        proof("1", XRP="0.1", TRX="0.2"),
    )
    assert verdict == ambiguous("BNB credited by 0, expected about 0.3")


def test_one_asset_gone_and_one_intact_names_the_one_not_at_zero() -> None:
    verdict = judge_balances(
        {"XRP": D("0"), "TRX": D("7"), "BNB": D("1.1")},
        "BNB",
        {"XRP": D("5"), "TRX": D("7")},
        proof("1", XRP="0.1", TRX="0.2"),
    )
    assert verdict == ambiguous("TRX not at zero (rose again from elsewhere, or never converted)")


def test_every_asset_that_rose_again_is_named_in_order() -> None:
    verdict = judge_balances(
        {"XRP": D("9"), "ADA": D("8"), "BNB": D("1.3")},
        "BNB",
        {"XRP": D("5"), "ADA": D("7")},
        proof("1", XRP="0.1", ADA="0.2"),
    )
    assert verdict == ambiguous(
        "ADA, XRP not at zero (rose again from elsewhere, or never converted)"
    )


def test_an_unknown_expected_net_never_settles_as_converted() -> None:
    verdict = judge_balances(
        {"XRP": D("0"), "TRX": D("0"), "BNB": D("1.3")},
        "BNB",
        {"XRP": D("5"), "TRX": D("7")},
        proof("1", XRP="0.1", TRX=None),
    )
    assert verdict == ambiguous("BNB credited by 0.3, expected about unknown")


def test_an_expected_net_of_zero_proves_nothing() -> None:
    verdict = judge_balances(
        {"XRP": D("0"), "BNB": D("1")}, "BNB", {"XRP": D("5")}, proof("1", XRP="0")
    )
    assert verdict == ambiguous("BNB credited by 0, expected about 0")


# -- the proof and its helpers --------------------------------------------------------------------


def test_expected_total_sums_the_nets_and_is_unknown_when_any_is() -> None:
    assert proof("0", XRP="0.1", TRX="0.25").expected_total == D("0.35")
    assert proof("0", XRP="0.1", TRX=None).expected_total is None
    assert proof("0", XRP=None, TRX="0.1").expected_total is None
    assert proof("0").expected_total is None  # no asset: nothing is expected


def test_the_proof_is_rebuilt_from_pending_records_only_when_they_agree() -> None:
    rebuilt = proof_from_records([("XRP", D("2"), D("0.1")), ("TRX", D("2"), None)])
    assert rebuilt == BalanceProof(D("2"), {"XRP": D("0.1"), "TRX": None})
    assert proof_from_records([("XRP", D("2"), D("0.1")), ("TRX", D("3"), D("0.1"))]) is None
    assert proof_from_records([("XRP", None, D("0.1"))]) is None  # no balance kept
    assert proof_from_records([]) is None


def test_only_our_own_prefixed_ids_are_derived() -> None:
    assert is_derived_id("ds-0a1b2c3d4e-cvBNB")
    assert not is_derived_id("dsx-0a1b")  # the prefix and its dash
    assert not is_derived_id("1234567890abcdef")  # an exchange's quote id
    assert not is_derived_id(None)


# -- facts_from_result ---------------------------------------------------------------------------


def line(asset: str, status: str, transfer_id: str | None = None) -> ConversionLine:
    return ConversionLine(asset, D("5"), D("0.2"), D("0.004"), status, transfer_id)


def test_each_reported_line_becomes_a_fact_with_its_own_or_the_batch_id() -> None:
    result = ConversionResult(
        "BNB",
        "T-batch",
        "partial",
        (line("XRP", "converted", "T-xrp"), line("TRX", "converted"), line("ADA", "failed")),
    )
    facts = facts_from_result(result, ["XRP", "TRX", "ADA"])
    assert facts == {
        "XRP": Fact("XRP", "converted", D("5"), D("0.2"), D("0.004"), "T-xrp"),
        "TRX": Fact("TRX", "converted", D("5"), D("0.2"), D("0.004"), "T-batch"),
        "ADA": Fact("ADA", "failed", D("5"), D("0"), D("0"), "T-batch"),
    }


def test_a_line_in_an_unknown_state_is_pending_with_nothing_received() -> None:
    result = ConversionResult("USDT", "Q1", "pending", (line("XRP", "processing"),))
    (fact,) = facts_from_result(result, ["XRP"]).values()
    assert fact == Fact("XRP", "pending", D("5"), D("0"), D("0"), "Q1")


@pytest.mark.parametrize(("batch", "status"), [("pending", "pending"), ("converted", "failed")])
def test_an_asset_missing_from_the_result_is_failed_once_the_result_is_final(
    batch: str, status: str
) -> None:
    result = ConversionResult("USDT", "Q1", batch, (line("XRP", "converted"),))
    facts = facts_from_result(result, ["ADA", "XRP"])  # the missing one first: XRP still read
    assert facts == {
        "ADA": Fact("ADA", status, transfer_id="Q1"),
        "XRP": Fact("XRP", "converted", D("5"), D("0.2"), D("0.004"), "Q1"),
    }


# -- Finder: the exchange asked through the real adapters ----------------------------------------


def test_without_a_log_a_recent_conversion_and_fallen_balances_say_which_converted(
    desk: DeskFactory,
) -> None:
    """Bybit without a quote id: only the time of its last conversion and the balances."""
    from tests.convert.test_execute_bybit import bybit_section, dust

    held = dust(["XRP", "ADA"])
    d = desk("bybit", bybit_section(held))
    execute_conversion(d.plan("USDT", assets=frozenset({"XRP"})), d.context())
    assert d.free("XRP") == 0
    last = d.exchange.last_conversion_ms()
    assert last is not None
    finder = Finder(d.context())
    amounts = {"XRP": D(held["XRP"]), "ADA": D(held["ADA"])}
    assert finder.lookup("USDT", amounts, None, last) == {
        "XRP": Fact("XRP", "converted"),
        "ADA": Fact("ADA", "failed"),  # still all there
    }
    assert finder.lookup("USDT", amounts, None, last + 1) is None  # nothing since then
    assert finder.lookup("USDT", {"ADA": D(held["ADA"])}, None, last) is None  # nothing fell


def test_a_logged_conversion_counts_only_for_its_own_target_and_assets(desk: DeskFactory) -> None:
    d = desk()
    execute_conversion(d.plan("BNB", assets=frozenset({"TRX"})), d.context())
    finder = Finder(d.context())
    ask = {"XRP": D("0.5")}
    assert finder.lookup("BNB", ask, None, 0) is None  # a BNB conversion, of TRX only
    found = finder.lookup("BNB", {"TRX": D("3.7")}, None, 0)
    assert found is not None and found["TRX"].status == "converted"
    assert found["TRX"].received == D("0.001813")
    d2 = desk("binance", binance_section())
    execute_conversion(d2.plan("USDC", assets=frozenset({"TRX"})), d2.context())
    finder2 = Finder(d2.context())
    assert finder2.lookup("BNB", {"TRX": D("3.7")}, None, 0) is None  # converted into USDC
    assert finder2.lookup("USDC", {"TRX": D("3.7")}, None, 0) is not None


@pytest.mark.parametrize(
    ("past_ms", "absent"),
    [
        (2_000, "the exchange has no record of it and the balances are intact"),
        (2_001, "quote Q-1 expired with no record of it"),
    ],
)
def test_a_quote_counts_as_dead_only_two_seconds_after_it_expired(
    desk: DeskFactory, past_ms: int, absent: str
) -> None:
    d = desk()
    ctx = d.context(reconcile_window_s=0.0, now_ms=lambda: 1_800_000_000_000)
    expires = ctx.server_now_ms() - past_ms
    found = Finder(ctx).wait("BNB", {"XRP": D("0.5")}, "Q-1", 0, expires)
    assert (found.facts, found.absent) == ({}, absent)


# -- what the history records ------------------------------------------------------------------


def test_a_conversion_proven_by_the_balances_says_its_amounts_were_not_reported(
    desk: DeskFactory,
) -> None:
    d = desk("binance", binance_section(conversion={"log_dust_convert": False}))
    plan = d.plan("USDC")
    d.server.faults.add("lose", "/sapi/v1/asset/dust-convert/convert", calls=1)
    outcome = execute_conversion(plan, d.context(reconcile_window_s=1.0))
    for line in outcome.lines:
        assert line.status == "converted" and line.received is None and line.fee is None
    for record in d.records().values():
        assert record.status == "converted" and record.received_qty is None
        assert record.error == "amounts not reported by the exchange"
    assert outcome.totals().unreported == 2


def test_a_coin_bybit_failed_keeps_the_batch_id_in_the_history(desk: DeskFactory) -> None:
    from tests.convert.test_execute_bybit import bybit_section, dust

    d = desk("bybit", bybit_section(dust(["XRP", "ADA"]), fail_coins=["ADA"]))
    execute_conversion(d.plan("USDT"), d.context())
    (executed,) = d.dialect.account("main").conversions
    records = d.records()
    assert (records["ADA"].status, records["ADA"].order_id) == ("failed", executed.tx_id)
    assert (records["XRP"].status, records["XRP"].order_id) == ("converted", executed.tx_id)
    assert records["ADA"].error == "the exchange did not convert it"


def test_a_conversion_still_processing_keeps_its_id_on_the_pending_record(
    desk: DeskFactory,
) -> None:
    from tests.convert.test_execute_bybit import SB_EXECUTE, SB_HISTORY, bybit_section, dust

    section = bybit_section(dust(["XRP"]), settle_ms=10_000_000, processing_polls=1_000)
    d = desk("bybit", section)
    plan = d.plan("USDT")
    d.server.faults.add("lose", SB_EXECUTE, calls=1)
    d.server.faults.add("drop", SB_HISTORY, calls=(1, 2, 3))
    (line,) = execute_conversion(plan, d.context(reconcile_window_s=1.0)).lines
    (record,) = d.ledger.pending()
    (executed,) = d.dialect.account("main").conversions
    assert line.transfer_id == record.order_id == executed.tx_id
    assert record.error == line.error == "submitted, outcome not known yet: the next run settles it"


def test_a_pending_record_whose_asset_is_all_still_there_is_closed_as_never_executed(
    desk: DeskFactory,
) -> None:
    from dustsweep.convert.settle import reconcile_pending_conversions

    d = desk()
    d.ledger.add(
        exchange="binance",
        account="main",
        kind="conversion",
        asset="XRP",
        qty=D("0.5"),  # exactly what is held: untouched
        received_asset="BNB",
        market="native",
        client_id="ds-0a1b2c3d4e-cvBNB",
        time=d.context().server_now(),
    )
    (line,) = reconcile_pending_conversions(d.context())
    assert line.status == "failed"
    assert line.error == (
        "not converted: the exchange has no record of it and the balances are intact"
    )
    assert d.ledger.pending() == []


def test_tiny_amounts_in_the_ambiguous_line_are_written_without_exponents() -> None:
    verdict = judge_balances(
        {"XRP": D("0"), "BNB": D("1.0000001")}, "BNB", {"XRP": D("5")}, proof("1", XRP="0.00000005")
    )
    assert verdict == ambiguous("BNB credited by 0.0000001, expected about 0.00000005")


def test_a_bybit_record_settled_by_the_fallen_balance_keeps_the_amount_asked(
    desk: DeskFactory,
) -> None:
    """No quote id on the record: Bybit's last conversion time and the fallen balance prove it,
    without amounts; the record keeps the amount it asked for."""
    from dustsweep.convert.settle import reconcile_pending_conversions
    from tests.convert.test_execute_bybit import bybit_section, dust

    held = dust(["XRP"])
    d = desk("bybit", bybit_section(held))
    sent = d.context().server_now()
    execute_conversion(d.plan("USDT"), d.context())
    d.ledger.add(
        exchange="bybit",
        account="main",
        kind="conversion",
        asset="XRP",
        qty=D(held["XRP"]),
        received_asset="USDT",
        market="native",
        client_id="ds-0a1b2c3d4e-cvUSDT",
        time=sent,
    )
    (line,) = reconcile_pending_conversions(d.context())
    assert (line.status, line.amount, line.received) == ("converted", D(held["XRP"]), None)
    record = next(r for r in d.ledger.records(kind="conversion") if r.id == line.record_id)
    assert record.qty == D(held["XRP"])
    assert record.error == "amounts not reported by the exchange"
