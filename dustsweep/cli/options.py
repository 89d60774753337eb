"""What every command shares: the session the group hands over, the options defined once
(as sqlite-utils does), and parsing of amounts and asset symbols into one-line usage errors."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from dustsweep.config.schema import Config
    from dustsweep.services.app import App

F = TypeVar("F", bound=Callable[..., Any])

# Kept as written (\b), each line within 78 columns: help output wraps cleanly at 80.
EPILOG = """\b
Exit codes: 0 done or nothing to do · 1 unexpected error ·
2 usage or config error · 3 exchange, network or authentication error ·
4 partly done · 5 not possible now · 130 interrupted.
"""


class Session:
    """What the group passes to commands: where the config is, loaded on first use."""

    def __init__(self, config_path: Path | None, env: Mapping[str, str]) -> None:
        self.config_path_arg = config_path
        self.env = env
        self.quiet = False  # -q: errors only on stderr; sweep prints nothing when idle
        self.verbose = False  # -v: debug log on stderr

    def config_path(self) -> Path:
        from dustsweep.config.load import resolve_config_path

        return resolve_config_path(self.config_path_arg, self.env)

    def config(self) -> Config:
        from dustsweep.config.load import load_config

        return load_config(self.config_path(), self.env)

    def state_dir(self) -> Path:
        from dustsweep.storage.state import state_dir

        return state_dir(self.env)

    def app(self, progress: Callable[[str, str], None] | None = None) -> App:
        from dustsweep.services.app import App

        config, path, state = self.config(), self.config_path(), self.state_dir()
        return App(config, path, self.env, state, progress, quiet=self.quiet, verbose=self.verbose)


# ---- shared options: defined once, applied by name ---------------------------------------------


def account_option(f: F) -> F:
    from dustsweep.cli.completion import complete_accounts

    return click.option(
        "--account",
        "accounts",
        multiple=True,
        metavar="NAME",
        shell_complete=complete_accounts,
        help="Only this account; repeat it for several (default: all).",
    )(f)


def json_option(help: str = "Print one JSON document.") -> Callable[[F], F]:
    return click.option("--json", "as_json", is_flag=True, help=help)


def csv_option(help: str) -> Callable[[F], F]:
    return click.option("--csv", "as_csv", is_flag=True, help=help)


def all_option(f: F) -> F:
    return click.option(
        "--all", "show_all", is_flag=True, help="Show every balance, not only small ones."
    )(f)


def yes_option(help: str = "Do not ask for confirmation.") -> Callable[[F], F]:
    return click.option("--yes", "-y", is_flag=True, help=help)


def dry_run_option(help: str = "Only print the plan.") -> Callable[[F], F]:
    return click.option("--dry-run", is_flag=True, help=help)


def assets_option(help: str) -> Callable[[F], F]:
    from dustsweep.cli.completion import complete_assets

    return click.option(
        "--asset", "assets", multiple=True, metavar="SYM", shell_complete=complete_assets, help=help
    )


def to_option(help: str) -> Callable[[F], F]:
    """``--to ASSET`` (sell's quote, convert's target), completed from the cached rules."""
    from dustsweep.cli.completion import complete_assets

    return click.option("--to", metavar="ASSET", shell_complete=complete_assets, help=help)


def max_value_option(help: str) -> Callable[[F], F]:
    return click.option("--max-value", metavar="AMOUNT", help=help)


def one_format(as_json: bool, as_csv: bool) -> None:
    if as_json and as_csv:
        raise click.UsageError("--json and --csv cannot be used together")


# ---- parsing ------------------------------------------------------------------------------------


def stdin_is_terminal() -> bool:
    """Can we ask the user? (Tests replace this to simulate a terminal.)"""
    return sys.stdin is not None and sys.stdin.isatty()


def parse_amount(value: str | None, option: str) -> Decimal | None:
    """A non-negative decimal from the command line, or a one-line usage error."""
    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise click.UsageError(f"{option}: not a number ({value!r})") from None
    if not amount.is_finite() or amount < 0:
        raise click.UsageError(f"{option}: must be a number >= 0 (got {value!r})")
    return amount


def parse_asset(value: str, option: str) -> str:
    asset = value.strip().upper()
    if not asset or not asset.isalnum():
        raise click.UsageError(f"{option}: not an asset symbol ({value!r})")
    return asset


def interactive_progress(enabled: bool) -> tuple[Callable[[str, str], None] | None, Any]:
    """A rich status line on stderr at a terminal; nothing otherwise."""
    if not enabled or not sys.stderr.isatty():
        return None, None
    from dustsweep.render.common import make_console

    status = make_console(stderr=True).status("starting…")
    lines: dict[str, str] = {}

    def progress(account: str, message: str) -> None:
        lines[account] = message
        status.update(" · ".join(f"{a}: {m}" for a, m in lines.items()))

    return progress, status
