"""``dustsweep convert``: the exchange's own conversion of small balances."""

from __future__ import annotations

from collections.abc import Sequence

import click

from dustsweep.cli.moving import MovingCommand, run_moving
from dustsweep.cli.options import (
    EPILOG,
    Session,
    account_option,
    assets_option,
    dry_run_option,
    json_option,
    max_value_option,
    parse_amount,
    parse_asset,
    to_option,
    yes_option,
)


@click.command(epilog=EPILOG)
@to_option("Target asset: BNB, USDT, USDC, MNT... (default: each account's convert_to).")
@account_option
@assets_option("Only these assets (a named asset may be worth more than dust_threshold).")
@max_value_option("Cap the total value this run may convert.")
@yes_option()
@dry_run_option()
@json_option()
@click.pass_obj
def convert(
    session: Session,
    to: str | None,
    accounts: Sequence[str],
    assets: Sequence[str],
    max_value: str | None,
    yes: bool,
    dry_run: bool,
    as_json: bool,
) -> int:
    """Convert small balances through the exchange's own small-balance conversion.

    Into --to, else each account's convert_to; an account whose exchange cannot convert into
    the target is skipped with a note. Shows what the exchange will accept, what you receive
    and what it costs, then converts after confirmation. Only balances worth at most
    dust_threshold (or of unknown worth that the exchange lists) unless named with --asset.
    Exit 5 inside the exchange's cool-down.
    """
    from dustsweep.render.convert import convert_document, print_convert_plan, print_convert_results
    from dustsweep.run.exit import convert_exit_code
    from dustsweep.services.convert import ConvertOptions, ConvertRun
    from dustsweep.services.names import NameCheck

    options = ConvertOptions(
        target=parse_asset(to, "--to") if to else None,
        assets=frozenset(parse_asset(a, "--asset") for a in assets),
        max_value=parse_amount(max_value, "--max-value"),
    )
    command = MovingCommand(
        name="convert",
        question="Convert {n} asset(s)?",
        dry_note="Dry run: nothing was converted (--yes converts).",
        make_run=lambda app, ledger, live: ConvertRun(app, ledger, options, live=live),
        print_plan=print_convert_plan,
        print_results=print_convert_results,
        document=convert_document,
        exit_code=convert_exit_code,
        names=NameCheck(convert_to=options.target),
    )
    return run_moving(session, accounts, command, yes=yes, dry_run=dry_run, as_json=as_json)
