"""Shell completion (click's: ``_DUSTSWEEP_COMPLETE=bash_source dustsweep``): account names from
the config file and asset symbols from the cached market rules.

It runs on every Tab press, so it reads files only: no network, no exchange SDK, and no
validation (a config being edited still completes its account names). Anything unreadable
completes nothing rather than printing an error into the user's prompt.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import click
from click.shell_completion import CompletionItem


def complete_accounts(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The ``name`` of every ``[[accounts]]`` table of the config the command would read."""
    from dustsweep.config.load import resolve_config_path

    flag = ctx.find_root().params.get("config_path")
    try:
        path = resolve_config_path(flag if isinstance(flag, Path) else None, os.environ)
        raw = tomllib.loads(path.read_text("utf-8"))
        names = [str(a["name"]) for a in raw.get("accounts", []) if isinstance(a, dict)]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]


def complete_assets(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Every asset in the cached market rules (a scan fills the cache), upper-case."""
    from dustsweep.errors import DustsweepError
    from dustsweep.storage.state import cached_assets, state_dir

    try:
        assets = cached_assets(state_dir(os.environ))
    except DustsweepError:
        return []
    prefix = incomplete.upper()
    return [CompletionItem(a) for a in sorted(assets) if a.startswith(prefix)]
