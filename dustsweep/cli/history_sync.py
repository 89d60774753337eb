"""``dustsweep history sync``: merge the exchanges' own conversion logs into the history."""

from __future__ import annotations

from collections.abc import Sequence

import click

from dustsweep.cli.options import EPILOG, Session, account_option, json_option
from dustsweep.errors import ExitCode


@click.command(epilog=EPILOG)
@account_option
@click.option(
    "--since",
    metavar="DATE",
    help="Read the logs from this UTC date or ISO time (default: the last sync, else a year).",
)
@json_option("Print one JSON summary.")
@click.pass_obj
def sync(session: Session, accounts: Sequence[str], since: str | None, as_json: bool) -> int:
    """Fetch the exchanges' own records (dust log, small-balance and Convert history) and
    merge them into the local history, once: conversions made on the web page, by a broker
    or on another machine are added, dustsweep's own are matched."""
    from dustsweep.render.common import print_json
    from dustsweep.render.history_sync import print_sync, sync_document
    from dustsweep.services.history_query import parse_when
    from dustsweep.services.history_sync import log_failures, sync_accounts, sync_exit_code
    from dustsweep.services.runs import money_moving_run
    from dustsweep.storage.records import run_outcome

    start = parse_when("--since", since) if since else None
    app = session.app()
    resolved = app.resolve(accounts)
    with money_moving_run(app, live=True) as ledger:
        run_id = ledger.begin_run("history sync", dry_run=False)
        results = sync_accounts(app, ledger, resolved, since=start, run_id=run_id)
        code = sync_exit_code(results)
        ledger.end_run(run_id, run_outcome(code))
    log_failures(results)
    if as_json:
        print_json(sync_document(results))
    else:
        print_sync(results)
    for r in results:
        if r.error is not None:
            click.echo(f"dustsweep: {r.name}: {r.error}", err=True)
    return int(code) if code else ExitCode.OK
