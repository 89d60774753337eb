"""Edges of the exit-code policy found by mutation testing: how each route's result becomes a
tally (what counts as done, as failed, as a ban or a cool-down) and the code of whole runs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dustsweep.convert.types import ConversionOutcome
from dustsweep.errors import CooldownActive, ExchangeError, ExitCode
from dustsweep.run.exit import (
    Tally,
    conversion_exit_code,
    conversion_tally,
    convert_exit_code,
    convert_tally,
    exit_code,
    outcome_code,
    sell_exit_code,
    sell_tally,
    sweep_exit_code,
    sweep_tally,
)
from dustsweep.run.outcome import ActionOutcome, Status
from dustsweep.sell.types import SellResult
from dustsweep.services.convert import AccountConvert
from dustsweep.services.sell import AccountSell
from dustsweep.services.sweep import AccountSweep, SweepResult


def order(status: Status) -> ActionOutcome:
    return ActionOutcome(asset="ADA", route="sell", amount=Decimal("3"), status=status)


def conversion(status: Status, *, cooldown: bool = False) -> ActionOutcome:
    return ActionOutcome(
        asset="ADA", route="native", amount=Decimal("3"), status=status, cooldown=cooldown
    )


def sells(*outcomes: ActionOutcome, banned: str | None = None) -> AccountSell:
    return AccountSell(
        name="main", exchange="binance", result=SellResult(outcomes=list(outcomes), banned=banned)
    )


# -- orders --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "done", "failed"),
    [
        (Status.FILLED, 1, 0),
        (Status.PLANNED, 0, 0),
        (Status.PARTIALLY_FILLED, 1, 1),
        (Status.REJECTED, 0, 1),
        (Status.SKIPPED, 0, 1),
        (Status.UNKNOWN, 0, 1),
    ],
)
def test_each_order_status_counts_as_done_failed_or_neither(
    status: Status, done: int, failed: int
) -> None:
    tally = sell_tally(sells(order(status), order(status)))
    assert (tally.done, tally.failed) == (2 * done, 2 * failed)
    assert tally.banned is False


def test_a_sale_that_filled_everything_exits_0_and_one_rejected_order_exits_4() -> None:
    assert sell_exit_code([sells(order(Status.FILLED))], executed=True) is ExitCode.OK
    mixed = sells(order(Status.FILLED), order(Status.REJECTED))
    assert sell_exit_code([mixed], executed=True) is ExitCode.PARTIAL


def test_a_ban_mid_sale_is_partial_even_when_every_order_filled() -> None:
    banned = sells(order(Status.FILLED), banned="418: IP banned until 12:00Z")
    assert sell_tally(banned).banned is True
    assert sell_exit_code([banned], executed=True) is ExitCode.PARTIAL


def test_a_sell_dry_run_is_0_and_a_sale_that_errored_keeps_its_own_code() -> None:
    planned = sells(order(Status.PLANNED))
    assert sell_exit_code([planned], executed=False) is ExitCode.OK
    errored = AccountSell(name="main", exchange="binance", error=ExchangeError("down"))
    tally = sell_tally(errored)
    assert tally.error is errored.error
    assert (tally.done, tally.failed, tally.banned) == (0, 0, False)
    assert sell_exit_code([errored], executed=True) is ExitCode.EXCHANGE


def test_records_an_earlier_run_left_pending_count_as_failed_only_while_still_unknown() -> None:
    sale = sells(order(Status.FILLED))
    sale.reconciled = [order(Status.UNKNOWN), order(Status.FILLED), order(Status.UNKNOWN)]
    tally = sell_tally(sale)
    assert (tally.done, tally.failed) == (1, 2)
    sale.reconciled = [order(Status.FILLED)]
    assert sell_exit_code([sale], executed=True) is ExitCode.OK


def test_a_read_only_run_is_0_unless_every_account_errored() -> None:
    assert outcome_code([None, None]) is ExitCode.OK
    assert outcome_code([None, ExchangeError("down")]) is ExitCode.PARTIAL
    assert outcome_code([ExchangeError("down"), ExchangeError("down")]) is ExitCode.EXCHANGE


def test_a_skipped_account_that_errored_still_counts_as_having_worked() -> None:
    assert exit_code([Tally(skipped=True, error=ExchangeError("down"))]) is ExitCode.EXCHANGE


# -- conversions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "done", "failed"),
    [
        (Status.CONVERTED, 1, 0),
        (Status.FAILED, 0, 1),
        (Status.UNKNOWN, 0, 1),
        (Status.SKIPPED, 0, 0),
        (Status.PLANNED, 0, 0),
    ],
)
def test_each_conversion_status_counts_as_done_failed_or_neither(
    status: Status, done: int, failed: int
) -> None:
    outcome = ConversionOutcome(target="BNB", lines=[conversion(status), conversion(status)])
    tally = conversion_tally(outcome)
    assert (tally.done, tally.failed, tally.cooldown) == (2 * done, 2 * failed, False)


def test_a_line_skipped_for_the_cooldown_makes_the_conversion_a_cooldown() -> None:
    outcome = ConversionOutcome(
        target="BNB",
        lines=[conversion(Status.SKIPPED, cooldown=True), conversion(Status.SKIPPED)],
    )
    assert conversion_tally(outcome).cooldown is True
    assert conversion_exit_code(outcome) is ExitCode.NOT_NOW
    outcome.lines.append(conversion(Status.CONVERTED))
    assert conversion_exit_code(outcome) is ExitCode.OK


def test_a_conversion_stopped_by_the_exchanges_cooldown_is_5_and_a_failed_one_4() -> None:
    stopped = ConversionOutcome(target="BNB", cooldown_until_ms=1_700_000_000_000)
    assert conversion_tally(stopped).cooldown is True
    assert conversion_exit_code(stopped) is ExitCode.NOT_NOW
    assert conversion_tally(ConversionOutcome(target="BNB")).cooldown is False
    assert conversion_exit_code(ConversionOutcome(target="BNB")) is ExitCode.OK
    failed = ConversionOutcome(target="BNB", lines=[conversion(Status.FAILED)])
    assert conversion_exit_code(failed) is ExitCode.PARTIAL


def account_convert(**kwargs: object) -> AccountConvert:
    return AccountConvert(name="main", exchange="binance", target="BNB", **kwargs)  # type: ignore[arg-type]


def test_an_account_with_a_note_was_skipped_and_one_without_was_not() -> None:
    skipped = convert_tally(account_convert(note="no target configured"))
    assert skipped.skipped is True
    assert convert_tally(account_convert()).skipped is False
    # a skipped account beside one that errored: the error's own code, not partial
    items = [
        account_convert(note="cannot convert to BNB"),
        account_convert(error=ExchangeError("x")),
    ]
    assert convert_exit_code(items) is ExitCode.EXCHANGE


def test_an_account_in_its_cooldown_before_planning_exits_5_unless_a_dry_run() -> None:
    item = account_convert(cooldown=CooldownActive("cool-down until 12:00Z", until_ms=1))
    tally = convert_tally(item)
    assert tally.cooldown is True
    assert (tally.done, tally.failed) == (0, 0)
    assert convert_exit_code([item]) is ExitCode.NOT_NOW
    assert convert_exit_code([item], executed=False) is ExitCode.OK
    assert convert_tally(account_convert()).cooldown is False


def test_a_converted_line_lifts_the_cooldown_but_a_settled_one_does_not() -> None:
    outcome = ConversionOutcome(
        target="BNB",
        lines=[conversion(Status.CONVERTED), conversion(Status.SKIPPED, cooldown=True)],
    )
    item = account_convert(outcome=outcome)
    tally = convert_tally(item)
    assert (tally.done, tally.failed, tally.cooldown) == (1, 0, True)
    assert convert_exit_code([item]) is ExitCode.OK

    settled_only = account_convert(
        outcome=ConversionOutcome(target="BNB", cooldown_until_ms=5),
        settled=[conversion(Status.CONVERTED)],
    )
    tally = convert_tally(settled_only)
    assert (tally.done, tally.failed, tally.cooldown) == (0, 0, True)
    assert convert_exit_code([settled_only]) is ExitCode.NOT_NOW


def test_settled_records_still_unknown_and_failed_lines_make_a_conversion_partial() -> None:
    item = account_convert(
        settled=[conversion(Status.UNKNOWN), conversion(Status.CONVERTED)],
        outcome=ConversionOutcome(
            target="BNB", lines=[conversion(Status.UNKNOWN), conversion(Status.CONVERTED)]
        ),
    )
    tally = convert_tally(item)
    assert (tally.done, tally.failed, tally.cooldown) == (1, 2, False)
    assert convert_exit_code([item]) is ExitCode.PARTIAL


# -- sweeps --------------------------------------------------------------------------------


def sweep(sell: AccountSell | None, convert: AccountConvert | None) -> AccountSweep:
    return AccountSweep(
        name="main", exchange="binance", convert_to="BNB", sell=sell, convert=convert
    )


def test_a_sweep_adds_up_both_halves() -> None:
    sale = sells(order(Status.FILLED), order(Status.REJECTED), order(Status.FILLED))
    conv = account_convert(
        outcome=ConversionOutcome(
            target="BNB", lines=[conversion(Status.CONVERTED), conversion(Status.FAILED)]
        )
    )
    tally = sweep_tally(sweep(sale, conv))
    assert (tally.done, tally.failed, tally.banned, tally.cooldown) == (3, 2, False, False)
    assert tally.error is None


def test_a_sweep_with_only_one_half_counts_that_half() -> None:
    tally = sweep_tally(sweep(sells(order(Status.FILLED)), None))
    assert (tally.done, tally.failed) == (1, 0)
    conv = account_convert(
        outcome=ConversionOutcome(target="BNB", lines=[conversion(Status.FAILED)])
    )
    tally = sweep_tally(sweep(None, conv))
    assert (tally.done, tally.failed) == (0, 1)
    empty = sweep_tally(sweep(None, None))
    assert (empty.done, empty.failed, empty.banned, empty.cooldown) == (0, 0, False, False)


def test_a_ban_in_the_sale_half_or_a_cooldown_in_the_convert_half_carries_to_the_sweep() -> None:
    banned = sweep(sells(order(Status.FILLED), banned="418"), account_convert())
    assert sweep_tally(banned).banned is True
    assert sweep_tally(banned).cooldown is False
    cooling = sweep(sells(), account_convert(cooldown=CooldownActive("cool-down", until_ms=None)))
    assert sweep_tally(cooling).cooldown is True
    assert sweep_tally(cooling).banned is False
    assert sweep_exit_code(SweepResult(dry_run=False, accounts=[banned])) is ExitCode.PARTIAL
    assert sweep_exit_code(SweepResult(dry_run=False, accounts=[cooling])) is ExitCode.NOT_NOW
    assert sweep_exit_code(SweepResult(dry_run=True, accounts=[cooling])) is ExitCode.OK


def test_a_sweep_whose_sale_errored_keeps_the_errors_code() -> None:
    failed = AccountSell(name="main", exchange="binance", error=ExchangeError("down"))
    result = SweepResult(dry_run=False, accounts=[sweep(failed, None)])
    assert sweep_tally(result.accounts[0]).error is failed.error
    assert sweep_exit_code(result) is ExitCode.EXCHANGE
