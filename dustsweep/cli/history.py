"""``dustsweep history``: the local record of everything sold or converted."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from dustsweep.cli.options import (
    EPILOG,
    Session,
    account_option,
    csv_option,
    json_option,
    one_format,
)
from dustsweep.errors import ExitCode


@click.command(epilog=EPILOG)
@account_option
@json_option("Print a JSON list of records.")
@csv_option("Print CSV for a tax tool.")
@click.pass_obj
def history(session: Session, accounts: Sequence[str], as_json: bool, as_csv: bool) -> int:
    """Everything dustsweep sold or converted, from the local history."""
    one_format(as_json, as_csv)
    from dustsweep.render.common import make_console, print_json
    from dustsweep.render.history import print_history
    from dustsweep.services.history import executed, read_history
    from dustsweep.storage.records import write_csv

    records = read_history(session.state_dir(), accounts)
    if as_json:
        print_json([r.to_json() for r in records])
    elif as_csv:
        write_csv(executed(records), sys.stdout)
    else:
        print_history(make_console(), records)
    return ExitCode.OK
