"""``dustsweep doctor``: check each account's keys without trading."""

from __future__ import annotations

from collections.abc import Sequence

import click

from dustsweep.cli.options import EPILOG, Session, account_option, json_option
from dustsweep.errors import ExitCode


@click.command(epilog=EPILOG)
@account_option
@json_option("Print one JSON document: accounts, each with its checks.")
@click.pass_obj
def doctor(session: Session, accounts: Sequence[str], as_json: bool) -> int:
    """Check each account's keys without trading: one line per check with what to fix.

    Exit 0 when no check fails (warnings allowed), 3 otherwise.
    """
    from dustsweep.services.doctor import check_id, run_doctor, status_of

    results = run_doctor(session.app(), accounts)
    document = {
        "accounts": [
            {
                "name": account.name,
                "exchange": account.exchange,
                "checks": [
                    {"check": check_id(name), "status": status_of(ok, detail), "detail": detail}
                    for name, ok, detail in rows
                ],
            }
            for account, rows in results
        ]
    }
    failed = any(status_of(ok, detail) == "fail" for _, rows in results for _, ok, detail in rows)
    if as_json:
        from dustsweep.render.common import print_json

        print_json(document)
    else:
        marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
        for account, rows in results:
            for name, ok, detail in rows:
                mark = marks[status_of(ok, detail)]
                click.echo(f"{mark} {account.name} ({account.exchange}) {name}: {detail}")
    return ExitCode.EXCHANGE if failed else ExitCode.OK
