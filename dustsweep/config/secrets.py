"""Choosing accounts and reading their credentials (env, inline, key files); a redacted dump."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from dustsweep.config.modes import refuse_if_readable
from dustsweep.config.schema import SECRET_FIELDS, AccountConfig, Config
from dustsweep.errors import ConfigError
from dustsweep.exchanges.base import Credentials

if TYPE_CHECKING:
    from dustsweep.exchanges.signing import Signer


REDACTED = "********"


def select_accounts(config: Config, names: Sequence[str]) -> list[AccountConfig]:
    """The accounts named (in the order given), or all of them when ``names`` is empty."""
    if not names:
        return list(config.accounts)
    by_name = {account.name: account for account in config.accounts}
    chosen: list[AccountConfig] = []
    for name in dict.fromkeys(names):
        if name not in by_name:
            known = ", ".join(config.account_names())
            raise ConfigError(f'unknown account "{name}"; the config has: {known}')
        chosen.append(by_name[name])
    return chosen


def credentials(
    account: AccountConfig, config_path: Path | None, env: Mapping[str, str] | None = None
) -> Credentials:
    """The key pair for one account: from the environment variables it names, else inline
    (only from a private file). Errors name the account and the variable, never a value."""
    environ = os.environ if env is None else env
    where = f"accounts[{account.name}]"
    prefix = f"{config_path}: " if config_path is not None else ""
    if account.has_inline_secret and config_path is not None:
        refuse_if_readable(config_path, where)
    key = _secret(account, "api_key", environ, prefix + where)
    private_key = None
    if account.api_private_key_file is not None:
        secret = ""
        private_key = _private_key(account, account.api_private_key_file, environ, prefix + where)
    else:
        secret = _secret(account, "api_secret", environ, prefix + where)
    return Credentials(
        account=account.name,
        api_key=key,
        api_secret=secret,
        base_url=account.base_url,
        timeout=account.timeout_s,
        recv_window_ms=account.recv_window_ms,
        private_key=private_key,
    )


def _private_key(
    account: AccountConfig, path: Path, environ: Mapping[str, str], where: str
) -> Signer:
    """The Ed25519/RSA key in ``path``: only from a file its owner alone can read. Messages
    name the file and what is wrong with it, never what it holds."""
    from dustsweep.exchanges.signing import KeyFileError, load_private_key

    field = f"{where}.api_private_key_file"
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if os.name != "nt" and mode & 0o077:
            raise ConfigError(
                f"{field}: {path} is readable by others (mode {mode:04o}); "
                f"run: chmod 600 {path.absolute()}"
            )
        pem = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"{field}: cannot read {path} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{field}: {path} is not a PEM text file") from None
    passphrase = None
    env_name = account.api_private_key_pass_env
    if env_name:
        passphrase = environ.get(env_name)
        if not passphrase:
            state = "is not set" if passphrase is None else "is empty"
            raise ConfigError(
                f"{where}: environment variable {env_name} (api_private_key_pass_env) {state}"
            )
    try:
        return load_private_key(pem, passphrase)
    except KeyFileError as exc:
        raise ConfigError(f"{field}: {path} {exc}") from None


def _secret(account: AccountConfig, field: str, environ: Mapping[str, str], where: str) -> str:
    env_name: str | None = getattr(account, f"{field}_env")
    if env_name:
        value = environ.get(env_name)
        if value is None:
            raise ConfigError(f"{where}: environment variable {env_name} ({field}_env) is not set")
        if not value.strip():
            raise ConfigError(f"{where}: environment variable {env_name} ({field}_env) is empty")
        return value.strip()
    inline: SecretStr | None = getattr(account, field)
    if inline is not None and inline.get_secret_value():
        return inline.get_secret_value()
    example = f"{account.exchange.upper()}_{field.upper()}"
    raise ConfigError(
        f"{where}: no {field.replace('_', ' ').replace('api', 'API')}: set {field}_env to the "
        f'name of an environment variable that holds it (e.g. {field}_env = "{example}"), '
        f"or {field} in a chmod 600 file"
    )


def redacted_dump(config: Config) -> dict[str, Any]:
    """The configuration as JSON-able data for ``config show``: decimals as strings, paths as
    text, inline secrets replaced by a marker (their presence matters, their value never)."""
    data = config.model_dump(mode="python")
    data["accounts"] = [_redacted_account(account) for account in config.accounts]
    return {key: _plain(value) for key, value in data.items()}


def _redacted_account(account: AccountConfig) -> dict[str, Any]:
    data = account.model_dump(mode="python")
    for field in SECRET_FIELDS:
        data[field] = REDACTED if getattr(account, field) is not None else None
    return {key: _plain(value) for key, value in data.items()}


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
