"""``doctor``: check each account's keys and access without trading, one row per check."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dustsweep.config.secrets import credentials, select_accounts
from dustsweep.errors import DustsweepError
from dustsweep.run.pool import run_concurrently
from dustsweep.services.app import App

if TYPE_CHECKING:
    from dustsweep.config.schema import AccountConfig

Check = tuple[str, bool, str]  # (what was checked, passed, plain words)

# ``doctor --json``'s stable ids: the same id for the same check on every exchange, whatever
# words the adapter's row uses. A row not listed gets its words in snake_case.
CHECK_IDS = {
    "keys present": "keys",
    "keys accepted": "signature",
    "api key": "signature",
    "encoded values signed": "encoded_signature",
    "clock": "clock",
    "key permissions": "permissions",
    "reading allowed": "read_permission",
    "read balances": "read_permission",
    "spot trading allowed": "trade_permission",
    "spot trading": "trade_permission",
    "conversion permission": "convert_permission",
    "withdrawals disabled": "withdrawals",
    "withdrawals": "withdrawals",
    "IP restriction": "ip_restriction",
    "unified account": "unified_account",
    "conversion endpoint": "conversion_endpoint",
    "bnb_fees": "bnb_fees",
    "adapter": "adapter",
    "checks": "checks",
}


def check_id(name: str) -> str:
    """The stable snake_case id of a check row."""
    return CHECK_IDS.get(name) or "_".join(re.findall(r"[a-z0-9]+", name.lower()))


def status_of(ok: bool, detail: str) -> str:
    """ "ok", "warn" (passed, with a warning to read) or "fail"."""
    if detail.lower().startswith("warning"):
        return "warn"
    return "ok" if ok else "fail"


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
