"""The command line: parse, call a service, render. The one place errors become exit codes.

Only click is imported at module level so that ``dustsweep --help`` stays fast; the exchange SDKs,
rich and pydantic are imported by the commands that need them. One module per command; the
options they share are defined once in ``cli.options``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from dustsweep import __version__
from dustsweep.cli.config_cmd import config_group
from dustsweep.cli.convert import convert
from dustsweep.cli.demo import demo
from dustsweep.cli.doctor import doctor
from dustsweep.cli.history import history
from dustsweep.cli.options import EPILOG, Session
from dustsweep.cli.scan import scan
from dustsweep.cli.sell import sell
from dustsweep.cli.sweep import sweep
from dustsweep.errors import DustsweepError, ExitCode

# Workflow order, not alphabetical: look, act, automate, review, fix, set up, try.
COMMAND_ORDER = ("scan", "sell", "convert", "sweep", "history", "doctor", "config", "demo")


class WorkflowGroup(click.Group):
    """Lists commands in workflow order with their whole first line (click cuts it at 45
    characters), and gives every command the global -v/-q/--no-color flags too, so that
    ``dustsweep sweep -q`` and ``dustsweep -q sweep`` mean the same."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        listed = [name for name in COMMAND_ORDER if name in self.commands]
        return listed + sorted(set(self.commands) - set(listed))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _set_flag(attribute: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    """A subcommand's copy of a global flag sets it on the session (or, for --no-color, in the
    environment every console reads)."""

    def callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if not value:
            return
        if attribute == "no_color":
            os.environ["NO_COLOR"] = "1"
            return
        session = ctx.find_object(Session)
        if session is not None:
            setattr(session, attribute, True)

    return callback


GLOBAL_FLAGS = (
    (("-v", "--verbose"), "verbose", "Debug log on stderr."),
    (("-q", "--quiet"), "quiet", "Errors only on stderr; sweep prints nothing when idle."),
    (("--no-color",), "no_color", "No colours (as NO_COLOR=1 does)."),
)


def add_global_flags(command: click.Command) -> None:
    """Give ``command`` (and its subcommands) the flags it does not define itself."""
    taken = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for opts, attribute, help_text in GLOBAL_FLAGS:
        if not taken & set(opts):
            command.params.append(
                click.Option(
                    list(opts),
                    is_flag=True,
                    expose_value=False,
                    callback=_set_flag(attribute),
                    help=help_text,
                )
            )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_global_flags(sub)


@click.group(
    cls=WorkflowGroup,
    epilog=EPILOG,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: $DUSTSWEEP_CONFIG, else the user config folder).",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug log on stderr.")
@click.option(
    "-q", "--quiet", is_flag=True, help="Errors only on stderr; sweep prints nothing when idle."
)
@click.option("--no-color", is_flag=True, help="No colours (as NO_COLOR=1 does).")
@click.version_option(__version__, prog_name="dustsweep")
@click.pass_context
def cli(
    ctx: click.Context, config_path: Path | None, verbose: bool, quiet: bool, no_color: bool
) -> None:
    """Find and clean up crypto dust in Binance and Bybit spot accounts."""
    if no_color:
        os.environ["NO_COLOR"] = "1"  # rich and every other console honour it
    ctx.obj = Session(config_path, dict(os.environ))
    ctx.obj.verbose, ctx.obj.quiet = verbose, quiet
    if ctx.invoked_subcommand is None:  # bare `dustsweep`: the help, exit 0
        click.echo(ctx.get_help())


for command in (scan, sell, convert, sweep, history, doctor, config_group, demo):
    add_global_flags(command)
    cli.add_command(command)


def help_for(ctx: click.Context | None) -> str:
    """``dustsweep <command> --help`` for the command a usage error is about."""
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(["dustsweep", *reversed(names), "--help"])


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run the command and turn every outcome into a documented exit code."""
    from dustsweep.services.startup import pause_collections

    pause_collections()  # until the SDKs are imported (services.startup)
    code = run(argv)
    from dustsweep.cli.finish import finish

    finish(int(code))


def run(argv: Sequence[str] | None = None) -> int:
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="dustsweep",  # also names the completion variable: _DUSTSWEEP_COMPLETE
            standalone_mode=False,
        )
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        # One line that says what is wrong and where to look, not click's usage block.
        click.echo(f"dustsweep: {exc.format_message()} (see '{help_for(exc.ctx)}')", err=True)
        return ExitCode.USAGE
    except click.ClickException as exc:
        click.echo(f"dustsweep: {exc.format_message()}", err=True)
        return ExitCode.USAGE
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("dustsweep: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except DustsweepError as exc:
        click.echo(f"dustsweep: {exc}", err=True)
        return exc.exit_code
    except Exception as exc:  # the one place an unexpected error is caught: no traceback
        if os.environ.get("DUSTSWEEP_DEBUG"):
            raise
        click.echo(
            f"dustsweep: unexpected error: {type(exc).__name__}: {exc} "
            "(set DUSTSWEEP_DEBUG=1 for a traceback)",
            err=True,
        )
        return ExitCode.UNEXPECTED
    return int(result or 0)
