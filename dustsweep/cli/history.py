"""``dustsweep history``: the local record of everything sold or converted, filtered, totalled
or exported for a tax tool; ``history sync`` (``cli.history_sync``) fills it from the
exchanges' own logs."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from dustsweep.cli.completion import complete_assets
from dustsweep.cli.history_sync import sync
from dustsweep.cli.options import (
    EPILOG,
    Session,
    account_option,
    csv_option,
    json_option,
    one_format,
)
from dustsweep.errors import ExitCode

if TYPE_CHECKING:
    from dustsweep.services.history_query import HistoryFilter

FORMATS = (
    "table",
    "json",
    "csv",
    "koinly",
    "cointracker",
    "coinledger",
    "blockpit",
    "cointracking",
)


@click.group(epilog=EPILOG, invoke_without_command=True)
@account_option
@click.option("--since", metavar="DATE", help="From this UTC date or ISO time on.")
@click.option("--until", metavar="DATE", help="Up to this UTC date (inclusive) or ISO time.")
@click.option(
    "--asset",
    "assets",
    multiple=True,
    metavar="ASSET",
    shell_complete=complete_assets,
    help="Only records of it; repeat it for several.",
)
@click.option(
    "--kind", type=click.Choice(["sell", "conversion"]), help="Only sales or conversions."
)
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Only the N most recent.")
@click.option("--totals", is_flag=True, help="Per asset: sent, received, fees, value when sent.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="table (default), json, csv, or a tax tool's import CSV.",
)
@json_option("Print a JSON list of records (= --format json).")
@csv_option("Print CSV for a tax tool (= --format csv).")
@click.pass_context
def history(
    ctx: click.Context,
    accounts: Sequence[str],
    since: str | None,
    until: str | None,
    assets: Sequence[str],
    kind: str | None,
    limit: int | None,
    totals: bool,
    fmt: str | None,
    as_json: bool,
    as_csv: bool,
) -> int:
    """Everything dustsweep sold or converted, and what a sync found in the exchanges' logs.

    Exports (csv and the tax formats) hold only executed records."""
    if ctx.invoked_subcommand is not None:
        return ExitCode.OK
    one_format(as_json, as_csv)
    short = "json" if as_json else "csv" if as_csv else None
    if short and fmt and fmt != short:
        raise click.UsageError(f"--{short} and --format {fmt} cannot be used together")
    fmt = fmt or short or "table"
    from dustsweep.services.history_query import HistoryFilter, parse_when

    selection = HistoryFilter(
        since=parse_when("--since", since) if since else None,
        until=parse_when("--until", until, end_of_day=True) if until else None,
        assets=frozenset(a.upper() for a in assets),
        kind=kind,
        limit=limit,
    )
    session: Session = ctx.obj
    show(session, accounts, selection, fmt, totals)
    return ExitCode.OK


def show(
    session: Session, accounts: Sequence[str], selection: HistoryFilter, fmt: str, totals: bool
) -> None:
    """Read, filter and print in the chosen form."""
    from dustsweep.render.common import make_console, print_json
    from dustsweep.render.history import print_history
    from dustsweep.render.history_export import (
        TAX_FORMATS,
        print_totals,
        totals_document,
        write_tax_csv,
    )
    from dustsweep.services.history import executed, read_history
    from dustsweep.services.history_query import totals as compute_totals
    from dustsweep.storage.records import write_csv

    all_records = read_history(session.state_dir(), ())
    if accounts:  # a name neither configured nor in the history is a typo (exit 2)
        from dustsweep.services.names import check_account_names

        check_account_names(session.config(), accounts, also={r.account for r in all_records})
    records = selection.apply([r for r in all_records if not accounts or r.account in accounts])
    if totals:
        rows = compute_totals(records)
        if fmt == "json":
            print_json(totals_document(rows))
        elif fmt == "table":
            print_totals(make_console(), rows)
        else:
            raise click.UsageError(f"--totals prints a table or JSON, not --format {fmt}")
    elif fmt == "json":
        print_json([r.to_json() for r in records])
    elif fmt == "csv":
        write_csv(executed(records), sys.stdout)
    elif fmt in TAX_FORMATS:
        write_tax_csv(fmt, executed(records), sys.stdout)
    else:
        print_history(make_console(), records)


history.add_command(sync)
