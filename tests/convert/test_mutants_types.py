"""A conversion run's outcome (convert/types.py): its overall status, its lines by status and
its totals (what the summary line and the JSON document add up). Edges found by mutation
testing; pure."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dustsweep.convert.types import ConversionContext, ConversionOutcome
from dustsweep.run.outcome import ActionOutcome, Status

D = Decimal


def line(
    asset: str,
    status: Status,
    received: str | None = "0",
    fee: str | None = "0",
    *,
    target: str = "BNB",
    fee_asset: str | None = "BNB",
    cooldown: bool = False,
) -> ActionOutcome:
    return ActionOutcome(
        asset=asset,
        route="native",
        amount=D("1"),
        status=status,
        received_asset=target,
        received=None if received is None else D(received),
        fee=None if fee is None else D(fee),
        fee_asset=fee_asset,
        cooldown=cooldown,
    )


def test_totals_add_what_converted_per_asset_and_count_every_status() -> None:
    outcome = ConversionOutcome(
        target="BNB",
        lines=[
            line("XRP", Status.CONVERTED, "0.001", "0.00002"),
            line("TRX", Status.CONVERTED, "0.003", "0.00006"),
            line("ADA", Status.CONVERTED, "1.5", "0.03", target="USDT", fee_asset="USDT"),
            line("DOGE", Status.FAILED, "7", "7"),
            line("LTC", Status.SKIPPED, "9", "9", cooldown=True),
            line("UNI", Status.FAILED),
        ],
    )
    totals = outcome.totals()
    assert totals.received == {"BNB": D("0.004"), "USDT": D("1.5")}
    assert totals.fees == {"BNB": D("0.00008"), "USDT": D("0.03")}
    assert totals.counts == {"converted": 3, "failed": 2, "skipped": 1}
    assert totals.unreported == 0


def test_a_conversion_without_amounts_is_counted_as_unreported() -> None:
    outcome = ConversionOutcome(
        target="BNB",
        lines=[
            line("XRP", Status.CONVERTED, None, None),
            line("TRX", Status.CONVERTED, None, "0.1"),
            line("ADA", Status.CONVERTED, "2", "0.2", fee_asset=None),
            line("DOGE", Status.UNKNOWN, None, None),
        ],
    )
    totals = outcome.totals()
    assert totals.unreported == 2
    assert totals.received == {"BNB": D("2")}
    assert totals.fees == {"BNB": D("0.1")}  # a fee with no asset is not added anywhere
    assert totals.counts == {"converted": 3, "unknown": 1}


def test_nothing_converted_totals_nothing() -> None:
    totals = ConversionOutcome(target="BNB").totals()
    assert (totals.received, totals.fees, totals.counts, totals.unreported) == ({}, {}, {}, 0)


def test_lines_by_status() -> None:
    done, failed = line("XRP", Status.CONVERTED), line("TRX", Status.FAILED)
    outcome = ConversionOutcome(target="BNB", lines=[done, failed, line("ADA", Status.CONVERTED)])
    assert [x.asset for x in outcome.by_status("converted")] == ["XRP", "ADA"]
    assert outcome.by_status(Status.FAILED) == [failed]
    assert outcome.by_status("unknown") == []


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([Status.CONVERTED, Status.FAILED], "partial"),
        ([Status.CONVERTED, Status.UNKNOWN], "partial"),
        ([Status.CONVERTED, Status.SKIPPED], "converted"),
        ([Status.FAILED, Status.UNKNOWN], "failed"),
        ([Status.UNKNOWN, Status.SKIPPED], "unknown"),
        ([Status.PLANNED, Status.PLANNED], "planned"),
        ([Status.SKIPPED], "nothing"),
        ([], "nothing"),
    ],
)
def test_the_runs_status_in_one_word(statuses: list[Status], expected: str) -> None:
    outcome = ConversionOutcome(target="BNB", lines=[line("X", s) for s in statuses])
    assert outcome.status == expected


def test_a_run_the_cooldown_stopped_says_cooldown_unless_something_converted() -> None:
    stopped = [line("XRP", Status.SKIPPED, cooldown=True), line("TRX", Status.SKIPPED)]
    assert ConversionOutcome(target="BNB", lines=stopped).status == "cooldown"
    mixed = [*stopped, line("ADA", Status.CONVERTED)]
    assert ConversionOutcome(target="BNB", lines=mixed).status == "converted"


def test_the_exchanges_time_is_the_local_clock_plus_the_adapters_offset() -> None:
    class Clocked:  # only the field the context reads: no exchange is called
        clock_offset_ms = -1500.0

    ctx = ConversionContext(
        exchange=Clocked(),  # type: ignore[arg-type]
        ledger=None,  # type: ignore[arg-type]
        exchange_name="binance",
        account="main",
        now_ms=lambda: 1_795_000_002_000,
    )
    assert ctx.server_now_ms() == 1_795_000_000_500
    moment = ctx.server_now()
    assert moment.isoformat() == "2026-11-18T11:06:40.500000+00:00"
