"""``dustsweep doctor``: check each account's keys without trading."""

from __future__ import annotations

from collections.abc import Sequence

import click

from dustsweep.cli.options import EPILOG, Session, account_option
from dustsweep.errors import ExitCode


@click.command(epilog=EPILOG)
@account_option
@click.pass_obj
def doctor(session: Session, accounts: Sequence[str]) -> int:
    """Check each account's keys without trading: one line per check with what to fix.

    Exit 0 when every check passes (warnings allowed), 3 otherwise.
    """
    from dustsweep.services.doctor import run_doctor

    failed = False
    for account, rows in run_doctor(session.app(), accounts):
        for name, ok, detail in rows:
            warning = detail.lower().startswith("warning")
            mark = "ok  " if ok else ("warn" if warning else "FAIL")
            failed = failed or not (ok or warning)
            click.echo(f"{mark} {account.name} ({account.exchange}) {name}: {detail}")
    return ExitCode.EXCHANGE if failed else ExitCode.OK
