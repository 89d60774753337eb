"""``doctor``: check each account's keys and access without trading, one row per check."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dustsweep.config.secrets import credentials, select_accounts
from dustsweep.errors import DustsweepError
from dustsweep.run.pool import run_concurrently
from dustsweep.services.app import App

if TYPE_CHECKING:
    from dustsweep.config.schema import AccountConfig

Check = tuple[str, bool, str]  # (what was checked, passed, plain words)


def check_account(app: App, account: AccountConfig) -> list[Check]:
    """One account's rows; nothing it raises stops the other accounts' checks."""
    try:
        creds = credentials(account, app.config_path, app.env)
    except DustsweepError as exc:
        return [("keys present", False, str(exc))]
    kind = creds.key_type  # HMAC secret, or an Ed25519/RSA private key file
    found = "secret" if kind == "HMAC" else f"{kind} private key"
    rows: list[Check] = [("keys present", True, f"key and {found} found (key type {kind})")]
    try:
        handle = app.open(account, creds)
    except DustsweepError as exc:
        return [*rows, ("adapter", False, str(exc))]
    try:
        rows += handle.exchange.check_access()
        if any(name == "clock" and ok for name, ok, _ in rows):
            offset = handle.exchange.clock_offset_ms
            app.offsets.save(account.exchange, handle.base_url, offset)
    except DustsweepError as exc:
        rows.append(("checks", False, str(exc)))
    finally:
        handle.close()
    return rows


def run_doctor(app: App, accounts: Sequence[str]) -> list[tuple[AccountConfig, list[Check]]]:
    """Every chosen account's checks, run concurrently, in the config's order."""
    chosen = select_accounts(app.config, list(accounts))
    results = run_concurrently([functools.partial(check_account, app, a) for a in chosen])
    return list(zip(chosen, results, strict=True))
