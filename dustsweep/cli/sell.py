"""``dustsweep sell``: market-sell small balances."""

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
@account_option
@to_option("Only sell on markets quoted in ASSET.")
@assets_option("Only these assets; named assets are sold even above the dust threshold.")
@max_value_option("Cap the total value this run may sell.")
@yes_option()
@dry_run_option()
@json_option()
@click.pass_obj
def sell(
    session: Session,
    accounts: Sequence[str],
    to: str | None,
    assets: Sequence[str],
    max_value: str | None,
    yes: bool,
    dry_run: bool,
    as_json: bool,
) -> int:
    """Market-sell every sellable small balance into the quote asset.

    Prints the plan first. At a terminal it asks before trading; without a terminal it only
    prints the plan unless --yes is given (a dry run is always safe to schedule).
    """
    from dustsweep.render.sell import print_sell_plan, print_sell_results, sell_document
    from dustsweep.run.exit import sell_exit_code
    from dustsweep.services.names import NameCheck
    from dustsweep.services.sell import SellOptions, SellRun

    options = SellOptions(
        to_asset=parse_asset(to, "--to") if to else None,
        assets=frozenset(parse_asset(a, "--asset") for a in assets),
        max_value=parse_amount(max_value, "--max-value"),
    )
    command = MovingCommand(
        name="sell",
        question="Place {n} market order(s)?",
        dry_note="Dry run: nothing was sold (--yes places the orders).",
        make_run=lambda app, ledger, live: SellRun(app, ledger, options, live=live),
        print_plan=print_sell_plan,
        print_results=print_sell_results,
        document=sell_document,
        exit_code=sell_exit_code,
        names=NameCheck(sell_assets=options.assets, sell_to=options.to_asset),
    )
    return run_moving(session, accounts, command, yes=yes, dry_run=dry_run, as_json=as_json)
