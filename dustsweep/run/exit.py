"""The one exit-code policy: how the outcome of a run becomes a documented exit code.

Every command (sell, convert, sweep, and one account's conversion) reduces its result to one
neutral ``Tally`` per account and calls ``exit_code``; the rules, in the order they apply:

1. Every account that was not skipped ended with an error: the first error's own code (3
   exchange or authentication, 2 ...); "not now" (5: a saved ban) only when every error is one.
   A skipped account (nothing applicable: e.g. the exchange cannot convert to that target) does
   not count as having worked; an account that worked and found nothing to do does.
2. Else, an account errored (other than "not now"), an action failed or its outcome is
   unknown, or a ban cut the run short: 4.
3. Else, an account could not run now (a ban saved by an earlier run has not ended), while the
   others worked: 5, so that cron tries again later; the line on stderr gives the ban's end.
4. Else, a dry run: 0.
5. Else, a cool-down stopped a conversion and nothing at all was done in the run (no fill, no
   conversion, in any account): 5.
6. Else 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dustsweep.errors import ExitCode
from dustsweep.run.outcome import Status

if TYPE_CHECKING:  # the result types, read here; run/ never imports services or routes
    from collections.abc import Iterable, Sequence

    from dustsweep.convert.types import ConversionOutcome
    from dustsweep.errors import DustsweepError
    from dustsweep.run.outcome import ActionOutcome
    from dustsweep.services.convert import AccountConvert
    from dustsweep.services.sell import AccountSell
    from dustsweep.services.sweep import AccountSweep, SweepResult

_DONE = frozenset({Status.FILLED, Status.PARTIALLY_FILLED, Status.CONVERTED})
_FAILED_CONVERSION = frozenset({Status.FAILED, Status.UNKNOWN})


@dataclass
class Tally:
    """One account's run, as the policy sees it, whatever the route.

    ``done``: actions that moved money (fills, conversions); ``failed``: actions that failed,
    were only partly filled, or whose outcome is unknown; ``skipped``: nothing was applicable
    to this account; ``banned``: a ban cut its run short; ``cooldown``: a conversion cool-down
    stopped it."""

    error: DustsweepError | None = None
    skipped: bool = False
    done: int = 0
    failed: int = 0
    banned: bool = False
    cooldown: bool = False


def exit_code(tallies: Sequence[Tally], *, dry_run: bool = False) -> ExitCode:
    """The code for a run of these accounts (the rules are in the module docstring)."""
    worked = [t for t in tallies if not t.skipped or t.error is not None]
    errors = [t.error for t in worked if t.error is not None]
    not_now = [e for e in errors if e.exit_code == ExitCode.NOT_NOW]
    if errors and len(errors) == len(worked):  # a real error outranks a "not now"
        return next((e for e in errors if e not in not_now), errors[0]).exit_code
    if len(not_now) < len(errors) or any(t.failed or t.banned for t in tallies):
        return ExitCode.PARTIAL
    if not_now:
        return ExitCode.NOT_NOW
    if dry_run:
        return ExitCode.OK
    if any(t.cooldown for t in tallies) and not any(t.done for t in tallies):
        return ExitCode.NOT_NOW
    return ExitCode.OK


def outcome_code(errors: Sequence[DustsweepError | None]) -> ExitCode:
    """A run that only reads (scan): accounts that worked or the error that stopped each."""
    return exit_code([Tally(error=e) for e in errors])


# -- each route's result, reduced to tallies -----------------------------------------------


def _add_orders(tally: Tally, outcomes: Iterable[ActionOutcome]) -> None:
    for outcome in outcomes:
        if outcome.status not in {Status.FILLED, Status.PLANNED}:
            tally.failed += 1  # rejected, skipped, unknown, or only partly filled
        if outcome.status in _DONE:
            tally.done += 1


def _add_conversions(tally: Tally, lines: Iterable[ActionOutcome]) -> None:
    for line in lines:
        if line.status in _FAILED_CONVERSION:
            tally.failed += 1
        elif line.status in _DONE:
            tally.done += 1
        tally.cooldown = tally.cooldown or line.cooldown


def _add_settled(tally: Tally, settled: Iterable[ActionOutcome]) -> None:
    """Records an earlier run left pending, settled now: one still unknown is a failure, one
    found done was done by that earlier run, not this one (it does not lift a cool-down's 5)."""
    tally.failed += sum(1 for line in settled if line.status == Status.UNKNOWN)


def sell_tally(sell: AccountSell) -> Tally:
    tally = Tally(error=sell.error)
    _add_settled(tally, sell.reconciled)
    if sell.result is not None:
        _add_orders(tally, sell.result.outcomes)
        tally.banned = sell.result.banned is not None
    return tally


def conversion_tally(outcome: ConversionOutcome) -> Tally:
    tally = Tally(cooldown=outcome.cooldown_until_ms is not None)
    _add_conversions(tally, outcome.lines)
    return tally


def convert_tally(item: AccountConvert) -> Tally:
    # An account with nothing to do here (no target configured, a target its exchange cannot
    # convert to) was skipped: it did not work, and it did not fail.
    tally = Tally(error=item.error, skipped=item.note is not None)
    tally.cooldown = item.cooldown is not None
    _add_settled(tally, item.settled)
    if item.outcome is not None:
        _add_conversions(tally, item.outcome.lines)
        tally.cooldown = tally.cooldown or item.outcome.cooldown_until_ms is not None
    return tally


def sweep_tally(sweep: AccountSweep) -> Tally:
    tally = Tally(error=sweep.error)
    for part in (
        sell_tally(sweep.sell) if sweep.sell is not None else None,
        convert_tally(sweep.convert) if sweep.convert is not None else None,
    ):
        if part is not None:
            tally.done += part.done
            tally.failed += part.failed
            tally.banned = tally.banned or part.banned
            tally.cooldown = tally.cooldown or part.cooldown
    return tally


def sell_exit_code(sells: Sequence[AccountSell], executed: bool) -> ExitCode:
    return exit_code([sell_tally(s) for s in sells], dry_run=not executed)


def convert_exit_code(items: Sequence[AccountConvert], executed: bool = True) -> ExitCode:
    return exit_code([convert_tally(i) for i in items], dry_run=not executed)


def sweep_exit_code(result: SweepResult) -> ExitCode:
    return exit_code([sweep_tally(a) for a in result.accounts], dry_run=result.dry_run)


def conversion_exit_code(outcome: ConversionOutcome) -> ExitCode:
    """One account's conversion run (``ConversionOutcome.exit_code_hint``)."""
    return exit_code([conversion_tally(outcome)])
