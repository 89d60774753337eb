"""``dustsweep scan``: every balance with its value and verdict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from dustsweep.cli.options import (
    EPILOG,
    Session,
    account_option,
    all_option,
    csv_option,
    interactive_progress,
    json_option,
    one_format,
)

if TYPE_CHECKING:
    from dustsweep.services.app import AccountScan, App


@click.command(epilog=EPILOG)
@account_option
@all_option
@click.option("--refresh", is_flag=True, help="Reload market rules instead of using the cache.")
@json_option()
@csv_option("Print CSV rows.")
@click.pass_obj
def scan(
    session: Session,
    accounts: Sequence[str],
    show_all: bool,
    refresh: bool,
    as_json: bool,
    as_csv: bool,
) -> int:
    """List every balance with its value, its verdict and the reason for it."""
    one_format(as_json, as_csv)
    progress, status = interactive_progress(not (as_json or as_csv))
    app = session.app(progress)
    if status is not None:
        with status:
            scans = checked_scan(app, accounts, refresh)
    else:
        scans = checked_scan(app, accounts, refresh)
    return render_scans(app.config.quote, scans, show_all, as_json, as_csv)


def checked_scan(app: App, accounts: Sequence[str], refresh: bool) -> list[AccountScan]:
    """The config's ``quote`` is checked against the markets before the scan (exit 2)."""
    from dustsweep.services.names import NameCheck, check_names

    resolved = app.resolve(accounts)
    check_names(app, resolved, NameCheck(), refresh=refresh)
    return app.scan(accounts, refresh=refresh, resolved=resolved)


def render_scans(
    quote: str, scans: Sequence[AccountScan], show_all: bool, as_json: bool, as_csv: bool
) -> int:
    from dustsweep.render.common import make_console, print_json
    from dustsweep.render.scan import print_scan, scan_document, write_scan_csv
    from dustsweep.run.exit import outcome_code

    if as_json:
        print_json(scan_document(quote, scans), ready=True)  # JSON types only
    elif as_csv:
        write_scan_csv(scans)
    else:
        print_scan(make_console(), quote, scans, show_all)
    for scan in scans:
        if scan.error is not None:
            click.echo(f"dustsweep: {scan.name}: {scan.error}", err=True)
    return outcome_code([s.error for s in scans])
