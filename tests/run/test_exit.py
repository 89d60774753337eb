"""The one exit-code policy (run/exit.py), rule by rule, over neutral per-account tallies."""

from __future__ import annotations

import pytest

from dustsweep.errors import ConfigError, ExchangeError, ExitCode, NotNowError
from dustsweep.run.exit import Tally, exit_code


def test_every_working_account_errored_keeps_the_first_errors_own_code() -> None:
    tallies = [Tally(error=ExchangeError("down")), Tally(error=ConfigError("bad"))]
    assert exit_code(tallies) is ExitCode.EXCHANGE


def test_an_error_that_means_not_now_keeps_5() -> None:
    # e.g. a ban an earlier run saved, or the lock: the line gives the time
    assert exit_code([Tally(error=NotNowError("banned until 12:00Z"))]) is ExitCode.NOT_NOW


def test_an_account_that_cannot_run_now_beside_working_ones_is_5_for_cron_to_retry() -> None:
    # a saved ban on one host; the accounts on other hosts did their work (or had none)
    saved_ban = Tally(error=NotNowError("banned until 12:00Z"))
    assert exit_code([saved_ban, Tally(done=3)]) is ExitCode.NOT_NOW
    assert exit_code([saved_ban, Tally()], dry_run=True) is ExitCode.NOT_NOW  # before rule 4
    # anything worse elsewhere still wins: an error, a failed or unknown action, a ban met now
    assert exit_code([saved_ban, Tally(error=ExchangeError("down")), Tally()]) is ExitCode.PARTIAL
    # every account errored: a real error outranks "not now", whichever came first
    assert exit_code([saved_ban, Tally(error=ExchangeError("down"))]) is ExitCode.EXCHANGE
    assert exit_code([saved_ban, Tally(failed=1, done=2)]) is ExitCode.PARTIAL
    assert exit_code([Tally(error=NotNowError("banned"), failed=1), Tally()]) is ExitCode.PARTIAL


def test_skipped_accounts_do_not_count_as_having_worked() -> None:
    tallies = [Tally(skipped=True), Tally(error=ExchangeError("down"))]
    assert exit_code(tallies) is ExitCode.EXCHANGE


def test_an_account_with_nothing_to_do_counts_as_having_worked() -> None:
    tallies = [Tally(), Tally(error=ExchangeError("down"))]
    assert exit_code(tallies) is ExitCode.PARTIAL


@pytest.mark.parametrize(
    "tally", [Tally(failed=1, done=0), Tally(failed=1, done=3), Tally(banned=True, done=1)]
)
def test_a_failed_or_unknown_action_or_a_ban_is_partial(tally: Tally) -> None:
    assert exit_code([tally]) is ExitCode.PARTIAL
    assert exit_code([tally], dry_run=True) is ExitCode.PARTIAL  # rule 2 before the dry run's rule


def test_errors_and_failed_orders_with_nothing_filled_are_partial_not_exchange() -> None:
    tallies = [Tally(error=ExchangeError("down")), Tally(failed=2, done=0)]
    assert exit_code(tallies) is ExitCode.PARTIAL


def test_a_dry_run_is_ok_even_in_a_cooldown() -> None:
    assert exit_code([Tally(cooldown=True)], dry_run=True) is ExitCode.OK


def test_a_cooldown_with_nothing_done_anywhere_is_not_now() -> None:
    assert exit_code([Tally(cooldown=True), Tally()]) is ExitCode.NOT_NOW


def test_a_cooldown_is_ok_once_anything_was_done_in_any_account() -> None:
    assert exit_code([Tally(cooldown=True), Tally(done=1)]) is ExitCode.OK
    assert exit_code([Tally(cooldown=True, done=2)]) is ExitCode.OK


def test_nothing_at_all_is_ok() -> None:
    assert exit_code([]) is ExitCode.OK
    assert exit_code([Tally(skipped=True)]) is ExitCode.OK
