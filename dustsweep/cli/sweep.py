"""``dustsweep sweep``: the unattended job for cron."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import click

from dustsweep.cli.options import (
    EPILOG,
    Session,
    account_option,
    dry_run_option,
    json_option,
    yes_option,
)


@click.command(epilog=EPILOG)
@account_option
@yes_option("Trade (without it sweep only prints the plan).")
@dry_run_option("Only print the plan, even with --yes.")
@json_option("Print one JSON summary.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing when there is nothing to do.")
@click.pass_obj
def sweep(
    session: Session,
    accounts: Sequence[str],
    yes: bool,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
) -> int:
    """The unattended job for cron: sell what can be sold, convert what the exchange will
    convert (each account's convert_to), leave the rest with its reason.

    Without --yes it never trades; with --yes it never asks.
    """
    from dustsweep.render.common import make_console, print_json
    from dustsweep.render.progress import run_progress
    from dustsweep.render.sweep import print_sweep, sweep_document
    from dustsweep.run.exit import sweep_exit_code
    from dustsweep.services.names import NameCheck, check_names
    from dustsweep.services.runs import money_moving_run
    from dustsweep.services.sweep import Sweep, log_summary, nothing_to_report

    quiet = session.quiet = quiet or session.quiet  # `sweep -q` or `dustsweep -q sweep`
    app = session.app()
    resolved = app.resolve(accounts)
    live = yes and not dry_run
    progress = run_progress(live and not (as_json or quiet))
    with money_moving_run(app, live=live) as ledger, progress or contextlib.nullcontext():
        check_names(app, resolved, NameCheck())  # the config's quote
        result = Sweep(app, ledger, live=live, progress=progress).run(resolved)
    code = sweep_exit_code(result)
    for line in result.delist_warnings:  # stderr even with --quiet: what cron mail is for
        click.echo(f"dustsweep: {line}", err=True)
    if quiet and nothing_to_report(result):
        return code
    log_summary(result)
    if as_json:
        print_json(sweep_document(result))
    else:
        print_sweep(make_console(), app.config.quote, result)
    for account in result.accounts:
        if account.error is not None:
            click.echo(f"dustsweep: {account.name}: {account.error}", err=True)
    return code
