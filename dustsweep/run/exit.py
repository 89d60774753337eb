"""The one exit-code policy: how the outcome of a run becomes a documented exit code.

0 done or nothing to do; 3 exchange, network or authentication error; 4 partly done; 5 not
possible now (cool-down). Every command's code comes from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dustsweep.errors import Banned, DustsweepError, ExitCode
from dustsweep.run.outcome import Status

if TYPE_CHECKING:  # the result types, read here; run/ never imports services or routes
    from collections.abc import Sequence

    from dustsweep.convert.types import ConversionOutcome
    from dustsweep.services.convert import AccountConvert
    from dustsweep.services.sell import AccountSell
    from dustsweep.services.sweep import SweepResult


def outcome_code(errors: Sequence[DustsweepError | None]) -> ExitCode:
    """0 when every account worked; 4 when some did; else the first error's own code."""
    failed = [e for e in errors if e is not None]
    if not failed:
        return ExitCode.OK
    if len(failed) < len(errors):
        return ExitCode.PARTIAL
    return failed[0].exit_code


def sell_exit_code(sells: Sequence[AccountSell], executed: bool) -> ExitCode:
    """0 all done or nothing to do; 4 some orders (or accounts) failed; 3 nothing could be done
    because of the exchange."""
    errors = [s.error for s in sells if s.error is not None]
    failed = 0
    filled = 0
    for sell in sells:
        # What an earlier run left pending is settled now; only a still-unknown one is a failure.
        failed += sum(1 for o in sell.reconciled if o.status == Status.UNKNOWN)
        outcomes = sell.result.outcomes if sell.result is not None else []
        if sell.result is not None and sell.result.banned:
            errors.append(Banned(sell.result.banned))
        failed += sum(1 for o in outcomes if o.status not in {"filled", "planned"})
        filled += sum(1 for o in outcomes if o.status in {Status.FILLED, Status.PARTIALLY_FILLED})
    worked = [s for s in sells if s.error is None]
    if not errors and not failed:
        return ExitCode.OK
    if errors and not worked:
        return errors[0].exit_code
    if errors and executed and not filled and not any(s.actions for s in worked):
        return ExitCode.PARTIAL
    if failed and not filled and errors:
        return ExitCode.EXCHANGE
    return ExitCode.PARTIAL


def convert_exit_code(items: Sequence[AccountConvert]) -> ExitCode:
    """0: everything eligible converted (or nothing to do); 4: a conversion (or an account)
    failed; 5: the cool-down stopped it; an account error alone keeps its own code."""
    errors = [i.error for i in items if i.error is not None]
    failed = any(
        line.status in {Status.FAILED, Status.UNKNOWN}
        for i in items
        for line in ((i.outcome.lines if i.outcome else []) + i.settled)
    )
    if failed:
        return ExitCode.PARTIAL
    if errors:
        # Accounts with nothing to do (no target configured...) do not count as having worked.
        busy = [i for i in items if i.error is not None or i.note is None]
        return errors[0].exit_code if len(errors) == len(busy) else ExitCode.PARTIAL
    if any(i.cooldown is not None for i in items):
        return ExitCode.NOT_NOW
    return ExitCode.OK


def sweep_exit_code(result: SweepResult) -> ExitCode:
    """0 when everything possible was done (or there was nothing to do; always for a dry run);
    4 when an account or an action failed; 5 when nothing at all was possible yet (cool-down);
    an error of every account keeps its own code."""
    errors = [a.error for a in result.accounts if a.error is not None]
    if errors and len(errors) == len(result.accounts):
        return errors[0].exit_code
    banned = [
        a for a in result.accounts if a.sell is not None and a.sell.result and a.sell.result.banned
    ]
    failed = done = 0
    cooldown = False
    for sweep in result.accounts:
        outcomes: list[Any] = []
        if sweep.sell is not None:
            outcomes += [o for o in sweep.sell.reconciled if o.status == Status.UNKNOWN]
            if sweep.sell.result is not None:
                outcomes += sweep.sell.result.outcomes
        failed += sum(1 for o in outcomes if o.status not in {"filled", "planned"})
        done += sum(1 for o in outcomes if o.status in {Status.FILLED, Status.PARTIALLY_FILLED})
        if sweep.convert is not None:
            lines = list(sweep.convert.settled)
            if sweep.convert.outcome is not None:
                lines += sweep.convert.outcome.lines
            failed += sum(1 for line in lines if line.status in {Status.FAILED, Status.UNKNOWN})
            done += sum(1 for line in lines if line.status == Status.CONVERTED)
            cooldown = cooldown or sweep.convert.cooldown is not None
    if errors or failed or banned:
        return ExitCode.PARTIAL
    if result.dry_run:
        return ExitCode.OK
    if cooldown and not done:
        return ExitCode.NOT_NOW
    return ExitCode.OK


def conversion_exit_code(outcome: ConversionOutcome) -> ExitCode:
    """One account's conversion run: 0 every eligible asset converted (assets left out on
    purpose are no failure); 4 a conversion failed or its outcome is unknown; 5 the cool-down
    stopped it."""
    if any(line.status in (Status.FAILED, Status.UNKNOWN) for line in outcome.lines):
        return ExitCode.PARTIAL
    if outcome.cooldown_until_ms is not None or any(line.cooldown for line in outcome.lines):
        return ExitCode.NOT_NOW
    return ExitCode.OK
