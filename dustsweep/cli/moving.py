"""Plan, confirm, execute, report: the pattern every money-moving command (sell, convert) follows.

The run's lock, history and record are the services' (services.runs); what is left here is
the command line's own part: asking at a terminal and printing.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from dustsweep.cli import options
from dustsweep.cli.options import Session

if TYPE_CHECKING:
    from rich.console import Console

    from dustsweep.services.app import App
    from dustsweep.services.names import NameCheck
    from dustsweep.storage.ledger import Ledger


@dataclasses.dataclass(frozen=True)
class MovingCommand:
    """What differs between the money-moving commands; ``run_moving`` is what they share."""

    name: str  # "sell" / "convert": the history's run name
    question: str  # asked at a terminal, with {n} actions
    dry_note: str
    make_run: Callable[[App, Ledger, bool], Any]  # (app, ledger, live) -> SellRun | ConvertRun
    print_plan: Callable[[Console, str, Sequence[Any]], None]
    print_results: Callable[[Console, Sequence[Any]], None]
    document: Callable[[bool, Sequence[Any]], Any]
    exit_code: Callable[[Sequence[Any], bool], int]
    names: NameCheck  # the assets named on the command line, checked before any request


def run_moving(
    session: Session,
    accounts: Sequence[str],
    command: MovingCommand,
    *,
    yes: bool,
    dry_run: bool,
    as_json: bool,
) -> int:
    """Trading is possible only with --yes or at a terminal (after the question), never with
    --dry-run; the lock is taken before the first request of such a run."""
    from dustsweep.render.common import make_console, print_json
    from dustsweep.render.progress import run_progress
    from dustsweep.services.names import check_names
    from dustsweep.services.runs import money_moving_run, recorded_run

    app = session.app()
    resolved = app.resolve(accounts)
    may_trade = not dry_run and (yes or options.stdin_is_terminal())
    execute = False
    with money_moving_run(app, live=may_trade) as ledger:
        check_names(app, resolved, command.names)
        run = command.make_run(app, ledger, may_trade)
        items = run.prepare(resolved)
        try:
            console = make_console()
            planned = sum(item.actions for item in items)
            if not as_json:
                command.print_plan(console, app.config.quote, items)
            execute = may_trade and planned > 0
            if execute and not yes:
                if as_json:  # the plan before the question; stdout keeps the one JSON document
                    command.print_plan(make_console(stderr=True), app.config.quote, items)
                execute = click.confirm(command.question.format(n=planned), default=False, err=True)
            dry = not may_trade or (planned > 0 and not execute)
            if execute:
                progress = run_progress(not as_json)
                run.progress = progress
                with (
                    progress or contextlib.nullcontext(),
                    recorded_run(ledger, command.name, run, lambda: command.exit_code(items, True)),
                ):
                    run.execute(items)
            if as_json:
                print_json(command.document(dry, items))
            elif execute:
                command.print_results(console, items)
            elif planned and dry:
                console.print(command.dry_note)
        finally:
            run.close(items)
    for item in items:
        if item.error is not None:
            click.echo(f"dustsweep: {item.name}: {item.error}", err=True)
        elif as_json and getattr(item, "cooldown", None) is not None:
            click.echo(f"dustsweep: {item.cooldown}", err=True)  # the table already says it
    # A dry run (no --yes without a terminal, --dry-run, or a declined question) is no failure of
    # what it planned; a run with nothing planned is not a dry run (a cool-down still says 5).
    return command.exit_code(items, not dry)
