"""The command line: parse, call a service, render. The one place errors become exit codes.

Only click is imported at module level so that ``dustsweep --help`` stays fast; the exchange SDKs,
rich and pydantic are imported by the commands that need them. One module per command; the
options they share are defined once in ``cli.options``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import click

from dustsweep import __version__
from dustsweep.cli.convert import convert
from dustsweep.cli.demo import demo
from dustsweep.cli.doctor import doctor
from dustsweep.cli.history import history
from dustsweep.cli.options import EPILOG, Session
from dustsweep.cli.scan import scan
from dustsweep.cli.sell import sell
from dustsweep.cli.sweep import sweep
from dustsweep.errors import DustsweepError, ExitCode


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: $DUSTSWEEP_CONFIG, else the user config folder).",
)
@click.version_option(__version__, prog_name="dustsweep")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Find and clean up crypto dust in Binance and Bybit spot accounts."""
    ctx.obj = Session(config_path, dict(os.environ))


for command in (scan, sell, demo, history, convert, sweep, doctor):
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
        result = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
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
