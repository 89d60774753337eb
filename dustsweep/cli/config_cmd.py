"""``dustsweep config path|init|show``: where dustsweep keeps things, a commented starting
config, and the effective config with the source of every value (secrets masked)."""

from __future__ import annotations

from pathlib import Path

import click

from dustsweep.cli.options import EPILOG, Session
from dustsweep.errors import DustsweepError, ExitCode


@click.group("config", epilog=EPILOG)
def config_group() -> None:
    """Show where the config and state live, write an example config, show the config."""


@config_group.command("path", epilog=EPILOG)
@click.pass_obj
def config_path(session: Session) -> int:
    """Print the config file, state folder, history file and log file, one per line.

    The log file line is "-" when log_file is not set (or the config cannot be read)."""
    from dustsweep.services.config_info import paths

    try:
        log_file = session.config().log_file
    except DustsweepError:  # a missing or broken config still has a path worth printing
        log_file = None
    found = paths(session.config_path(), session.state_dir(), log_file)
    for path in (found.config, found.state, found.history):
        click.echo(str(path))
    click.echo(str(found.log) if found.log is not None else "-")
    return ExitCode.OK


@config_group.command("init", epilog=EPILOG)
@click.option(
    "--path",
    "target",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here (default: the config file dustsweep reads, see 'config path').",
)
@click.pass_obj
def config_init(session: Session, target: Path | None) -> int:
    """Write the commented example config (mode 600); never overwrites a file."""
    from dustsweep.services.config_info import write_example

    written = write_example(target or session.config_path())
    click.echo(f"wrote {written} (mode 600): add your accounts, then run 'dustsweep doctor'")
    return ExitCode.OK


@config_group.command("show", epilog=EPILOG)
@click.pass_obj
def config_show(session: Session) -> int:
    """Print the effective config as TOML, each value with where it came from (file,
    environment, default); secrets are masked."""
    from dustsweep.services.config_info import config_source, settings, state_source

    config = session.config()
    top, accounts = settings(config, session.env)
    click.echo(
        f"# config file: {config.path} ({config_source(session.config_path_arg, session.env)})"
    )
    click.echo(f"# state folder: {session.state_dir()} ({state_source(session.env)})")
    width = max(len(f"{s.key} = {s.value}") for s in [*top, *(r for a in accounts for r in a)])
    for rows, header in [(top, None), *((rows, "[[accounts]]") for rows in accounts)]:
        if header:
            click.echo(f"\n{header}")
        for row in rows:
            line = f"{row.key} = {row.value}"
            click.echo(f"{line.ljust(width)}  # {row.source}")
    return ExitCode.OK
