"""Where the config file is found, reading it, and checks a schema cannot make (modes, keys)."""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dustsweep.config.messages import first_error
from dustsweep.config.modes import refuse_if_readable
from dustsweep.config.schema import AccountConfig, Config
from dustsweep.errors import ConfigError
from dustsweep.exchanges import EXCHANGES, capabilities_of

CONFIG_ENV = "DUSTSWEEP_CONFIG"


CONFIG_FILE_NAME = "config.toml"


_TOML_POSITION = re.compile(r"^(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)$")


def default_config_path() -> Path:
    """platformdirs' per-user config folder (e.g. ~/.config/dustsweep/config.toml)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("dustsweep")) / CONFIG_FILE_NAME


def resolve_config_path(path: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """Which file to read: the ``--config`` flag, else $DUSTSWEEP_CONFIG, else the per-user
    default."""
    environ = os.environ if env is None else env
    if path is not None:
        return Path(path).expanduser()
    from_env = environ.get(CONFIG_ENV, "").strip()
    if from_env:
        return Path(from_env).expanduser()
    return default_config_path()


def _source_of(path: Path | None, env: Mapping[str, str] | None) -> str:
    """Why this file was chosen, for "not found" messages. Callers often resolve the path
    first and pass it back in, so a given path that equals $DUSTSWEEP_CONFIG or the default
    is reported as coming from there."""
    environ = os.environ if env is None else env
    from_env = environ.get(CONFIG_ENV, "").strip()
    if path is None:
        return CONFIG_ENV if from_env else "default location"
    given = Path(path).expanduser()
    if from_env and given == Path(from_env).expanduser():
        return CONFIG_ENV
    if not from_env and given == default_config_path():
        return "default location"
    return "--config"


def _read_toml(path: Path, source: str) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if source == "default location":
            raise ConfigError(
                f"no config file at {path}; run 'dustsweep config init' to write the commented "
                f"example there, or pass --config PATH or set {CONFIG_ENV}"
            ) from None
        raise ConfigError(
            f"config file not found: {path} (from {source}); fix the path, or run "
            f"'dustsweep --config {path} config init' to write the commented example there"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {_toml_message(str(exc))}") from None


def _toml_message(message: str) -> str:
    """tomllib says "Msg (at line 3, column 7)"; we say "line 3, column 7: Msg"."""
    match = _TOML_POSITION.match(message.strip())
    if match is None:
        return message.strip()
    return f"line {match['line']}, column {match['col']}: {match['msg']}"


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read, validate and check the configuration; raise ConfigError with one line if wrong."""
    file = resolve_config_path(path, env)
    data = _read_toml(file, _source_of(path, env))
    try:
        config = Config.model_validate(data, context={"base_dir": file.parent})
    except ValidationError as exc:
        raise ConfigError(f"{file}: {first_error(exc)}") from None
    _check_semantics(config, file)
    _check_inline_secret_mode(config, file)
    config._path = file
    return config


def _check_semantics(config: Config, file: Path) -> None:
    """Rules that span fields, checked after the types so each names its exact field."""
    if not config.accounts:
        raise ConfigError(f"{file}: accounts: add at least one [[accounts]] table")
    seen: dict[str, int] = {}
    for index, account in enumerate(config.accounts):
        where = f"accounts[{index}]"
        if account.name in seen:
            raise ConfigError(
                f'{file}: {where}.name: "{account.name}" is already used by '
                f"accounts[{seen[account.name]}]; names must be unique"
            )
        seen[account.name] = index
        for field in ("api_key", "api_secret"):
            if getattr(account, field) is not None and getattr(account, f"{field}_env"):
                raise ConfigError(f"{file}: {where}.{field}: set {field} or {field}_env, not both")
        _check_private_key_fields(account, f"{file}: {where}")
    if config.sell_quotes is not None and not config.sell_quotes:
        raise ConfigError(f'{file}: sell_quotes: list at least one quote asset, e.g. ["USDT"]')


def _check_private_key_fields(account: AccountConfig, where: str) -> None:
    """``api_private_key_file`` replaces the secret, where the adapter accepts key files."""
    if account.api_private_key_file is None:
        if account.api_private_key_pass_env:
            raise ConfigError(
                f"{where}.api_private_key_pass_env: only used with api_private_key_file"
            )
        return
    if not capabilities_of(account.exchange).key_files:
        supported = " and ".join(n.capitalize() for n in EXCHANGES if capabilities_of(n).key_files)
        raise ConfigError(
            f"{where}.api_private_key_file: Ed25519/RSA key files are supported for {supported} "
            f"accounts only; use api_secret_env for a {account.exchange.capitalize()} account"
        )
    if account.api_secret is not None or account.api_secret_env:
        raise ConfigError(
            f"{where}.api_private_key_file: set api_private_key_file or "
            "api_secret/api_secret_env, not both"
        )


def file_is_private(path: Path) -> bool:
    """True when neither group nor others have any permission bit on the file."""
    if os.name == "nt":  # POSIX modes mean nothing there; NTFS ACLs are out of scope
        return True
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def _check_inline_secret_mode(config: Config, file: Path) -> None:
    for index, account in enumerate(config.accounts):
        if account.has_inline_secret:
            refuse_if_readable(file, f"accounts[{index}]")
            return
