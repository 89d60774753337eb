"""The TOML configuration: where it is found, what it may hold, and one-line errors about it.

The file is the only place a user describes accounts and policy, so every mistake in it must be
reported as ONE line that names the file, the field path and what is wrong (a cron mail with a
pydantic traceback helps nobody). pydantic is imported here and nowhere else; platformdirs only
when the default location is actually needed, so ``dustsweep --help`` stays fast.

API keys normally come from environment variables named in the file (``api_key_env``). Inline
keys are accepted only when the file is private (``chmod 600``): a world-readable secret is
refused rather than warned about, because cron jobs never read warnings. The same holds for a
Binance account's Ed25519/RSA private key file (``api_private_key_file``), which replaces the
HMAC secret; it is loaded here, so a bad file is a config error before anything is sent.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import stat
import tomllib
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    Strict,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from dustsweep.errors import ConfigError
from dustsweep.exchanges.base import Credentials

if TYPE_CHECKING:
    from dustsweep.core.policy import Policy
    from dustsweep.exchanges.signing import Signer

CONFIG_ENV = "DUSTSWEEP_CONFIG"
CONFIG_FILE_NAME = "config.toml"
EXAMPLE_FILE_NAME = "config.example.toml"
SECRET_FIELDS = frozenset({"api_key", "api_secret"})
REDACTED = "********"

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_TOML_POSITION = re.compile(r"^(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)$")


# --------------------------------------------------------------------------- field validators


def _fail(message: str) -> PydanticCustomError:
    """A validation error whose text is already the final, human message."""
    return PydanticCustomError("dustsweep", "{message}", {"message": message})


def _show(value: object) -> str:
    """A scalar as it would look in TOML, for "(got ...)"; never used for secret fields."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return json.dumps(text, ensure_ascii=False)
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _to_decimal(value: object) -> Decimal:
    """TOML strings ("0.01") and numbers (0.01) alike, via str() so a float never leaks in."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _fail(f"must be a number or a string holding one (got {_show(value)})")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _fail(f"not a number ({_show(value)})") from None
    if not number.is_finite():
        raise _fail(f"not a finite number ({_show(value)})")
    return number


def _at_least_zero(value: Decimal) -> Decimal:
    if value < 0:
        raise _fail(f"must be 0 or more (got {format(value, 'f')})")
    return value


def _below_half(value: Decimal) -> Decimal:
    if not 0 <= value < Decimal("0.5"):
        raise _fail(f"must be at least 0 and below 0.5 (got {format(value, 'f')})")
    return value


def _below_one(value: Decimal) -> Decimal:
    if not 0 <= value < 1:
        raise _fail(f"must be at least 0 and below 1 (got {format(value, 'f')})")
    return value


def _to_asset(value: object) -> str:
    """Asset names are compared upper-case everywhere; the user may write them any way."""
    if not isinstance(value, str):
        raise _fail(f'must be an asset name such as "USDT" (got {_show(value)})')
    asset = value.strip().upper()
    if not asset or any(ch.isspace() for ch in asset):
        raise _fail(f'must be an asset name such as "USDT" (got {_show(value)})')
    return asset


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    """Drop repeats but keep order (order of sell_quotes breaks ties between markets)."""
    return tuple(dict.fromkeys(values))


def _to_exchange(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _check_env_name(value: str) -> str:
    """A variable NAME. The value is never echoed: a key or secret pasted into ``*_env`` by
    mistake is the usual cause, and it would end up on the terminal or in a cron mail."""
    if not _ENV_NAME.fullmatch(value) or _looks_like_key(value):
        raise _fail(
            "must be the NAME of an environment variable (like BINANCE_API_KEY), not the key "
            "or secret itself; the value is not shown"
        )
    return value


def _looks_like_key(value: str) -> bool:
    """Exchange keys and secrets: long runs of mixed-case letters and digits (Binance 64,
    Bybit 18/36) or long hex. Variable names are words joined by "_"."""
    if "_" in value or len(value) < 16:
        return False
    has_digit = any(c.isdigit() for c in value)
    mixed_case = any(c.islower() for c in value) and any(c.isupper() for c in value)
    return has_digit and (mixed_case or len(value) >= 32)


def _check_account_name(value: str) -> str:
    if not _ACCOUNT_NAME.fullmatch(value):
        raise _fail(
            'must be 1-40 letters, digits, "-", "_" or ".", starting with a letter or digit '
            f"(got {_show(value)})"
        )
    return value


def _check_base_url(value: str) -> str:
    """An exchange host, e.g. a testnet or the simulator; never credentials or a query."""
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    try:
        _ = parts.port
    except ValueError:
        raise _fail(f"has an invalid port (got {_show(value)})") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise _fail(f"must be an http:// or https:// URL with a host (got {_show(value)})")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise _fail(f"must not have a query or fragment (got {_show(value)})")
    if parts.username is not None or parts.password is not None:
        raise _fail("must not contain a user name or password")
    return url


def _expand_path(value: Path, info: ValidationInfo) -> Path:
    """``~`` is expanded; a relative path is taken from the config file's folder, not the
    current directory, so cron and an interactive shell write to the same file."""
    path = value.expanduser()
    base = info.context.get("base_dir") if isinstance(info.context, dict) else None
    if not path.is_absolute() and isinstance(base, Path):
        path = base / path
    return path


Number = Annotated[Decimal, BeforeValidator(_to_decimal)]
NonNegative = Annotated[Number, AfterValidator(_at_least_zero)]
Asset = Annotated[str, BeforeValidator(_to_asset)]
Assets = Annotated[tuple[Asset, ...], AfterValidator(_unique)]
StrictInt = Annotated[int, Strict()]
EnvName = Annotated[str, Strict(), AfterValidator(_check_env_name)]


# --------------------------------------------------------------------------- models


class AccountConfig(BaseModel):
    """One ``[[accounts]]`` table: which exchange, where the keys are, how to talk to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Strict(), AfterValidator(_check_account_name)]
    exchange: Annotated[Literal["binance", "bybit"], BeforeValidator(_to_exchange)]
    api_key_env: EnvName | None = None
    api_secret_env: EnvName | None = None
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    # Ed25519 or RSA key generated by the user (Binance only), instead of the HMAC secret.
    api_private_key_file: Annotated[Path, AfterValidator(_expand_path)] | None = None
    api_private_key_pass_env: EnvName | None = None
    base_url: Annotated[str, Strict(), AfterValidator(_check_base_url)] | None = None
    convert_to: Asset | None = None
    recv_window_ms: Annotated[StrictInt, Field(ge=1, le=60000)] = 5000
    timeout_s: Annotated[float, Strict(), Field(gt=0, allow_inf_nan=False)] = 10.0

    @property
    def has_inline_secret(self) -> bool:
        return self.api_key is not None or self.api_secret is not None


DEFAULT_SELL_QUOTES = ("USDT", "USDC", "FDUSD", "BTC", "BNB", "ETH")


class Config(BaseModel):
    """The whole file. Money settings are Decimal; asset names are upper-case."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quote: Asset = "USDT"
    dust_threshold: NonNegative = Decimal("10")
    keep: Assets = ()
    # None: the quote asset first, then the usual quotes (the default).
    sell_quotes: Assets | None = None
    notional_margin: Annotated[Number, AfterValidator(_below_half)] = Decimal("0.01")
    fee_rate: Annotated[Number, AfterValidator(_below_one)] = Decimal("0.001")
    rules_ttl_hours: Annotated[StrictInt, Field(ge=0)] = 24
    cooldown_hours: NonNegative = Decimal("6")
    max_value_per_run: NonNegative | None = None
    max_value_per_asset: NonNegative | None = None
    only: Assets = ()
    concurrency: Annotated[StrictInt, Field(ge=1, le=10)] = 4
    reconcile_window_s: Annotated[StrictInt, Field(ge=0, le=3600)] = 60
    log_file: Annotated[Path, AfterValidator(_expand_path)] | None = None
    accounts: tuple[AccountConfig, ...]

    _path: Path | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path | None:
        """The file this configuration was read from (None when built in code)."""
        return self._path

    @property
    def rules_ttl_seconds(self) -> int:
        return self.rules_ttl_hours * 3600

    @property
    def cooldown_seconds(self) -> int:
        return int(self.cooldown_hours * 3600)

    @property
    def effective_sell_quotes(self) -> tuple[str, ...]:
        """``sell_quotes`` as written, or the quote asset followed by the usual quotes."""
        if self.sell_quotes is not None:
            return tuple(self.sell_quotes)
        return (self.quote, *(q for q in DEFAULT_SELL_QUOTES if q != self.quote))

    def account_names(self) -> list[str]:
        return [account.name for account in self.accounts]

    def policy(self) -> Policy:
        """The planner's view of this configuration (bridges keep the Policy default)."""
        from dustsweep.core.policy import Policy

        return Policy(
            quote=self.quote,
            dust_threshold=self.dust_threshold,
            keep=frozenset(self.keep),
            sell_quotes=self.effective_sell_quotes,
            notional_margin=self.notional_margin,
            fee_rate=self.fee_rate,
        )


# --------------------------------------------------------------------------- finding the file


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
                f"no config file at {path}; create one there from {EXAMPLE_FILE_NAME} "
                f"(copy it and edit it), or pass --config PATH or set {CONFIG_ENV}"
            ) from None
        raise ConfigError(
            f"config file not found: {path} (from {source}); "
            f"create one from {EXAMPLE_FILE_NAME} or fix the path"
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


# --------------------------------------------------------------------------- loading


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read, validate and check the configuration; raise ConfigError with one line if wrong."""
    file = resolve_config_path(path, env)
    data = _read_toml(file, _source_of(path, env))
    try:
        config = Config.model_validate(data, context={"base_dir": file.parent})
    except ValidationError as exc:
        raise ConfigError(f"{file}: {_first_error(exc)}") from None
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
    """``api_private_key_file`` replaces the secret, on Binance accounts only."""
    if account.api_private_key_file is None:
        if account.api_private_key_pass_env:
            raise ConfigError(
                f"{where}.api_private_key_pass_env: only used with api_private_key_file"
            )
        return
    if account.exchange != "binance":
        raise ConfigError(
            f"{where}.api_private_key_file: Ed25519/RSA key files are supported for Binance "
            "accounts only; use api_secret_env for a Bybit account"
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
            _refuse_if_readable(file, f"accounts[{index}]")
            return


def _refuse_if_readable(file: Path, where: str) -> None:
    try:
        mode = stat.S_IMODE(file.stat().st_mode)
    except OSError as exc:
        raise ConfigError(f"{file}: cannot check its permissions ({exc.strerror})") from None
    if os.name != "nt" and mode & 0o077:
        raise ConfigError(
            f"{file}: {where} has an inline API key but the file is readable by others "
            f"(mode {mode:04o}); run: chmod 600 {file.absolute()}"
        )


# --------------------------------------------------------------------------- pydantic errors


def _location(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _first_error(exc: ValidationError) -> str:
    """The first problem, as "<field path>: <what is wrong>", plus how many more there are
    (one line: fixing one at a time is how people edit config files anyway)."""
    errors = exc.errors(include_url=False)
    # A misspelt key also makes its real field "missing": the typo is the useful report.
    errors.sort(key=lambda error: error["type"] != "extra_forbidden")
    first = _describe(errors[0])
    more = len(errors) - 1
    if more:
        first += f" (and {more} more problem{'s' if more > 1 else ''})"
    return first


def _describe(error: Any) -> str:
    loc: tuple[int | str, ...] = tuple(error["loc"])
    kind: str = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    where = _location(loc)
    prefix = f"{where}: " if where else ""
    secret = bool(loc) and loc[-1] in SECRET_FIELDS
    got = "" if secret else f" (got {_show(error.get('input'))})"
    return prefix + _what_is_wrong(kind, error, loc, got)


_SIMPLE_MESSAGES = {
    "string_type": "must be a string",
    "string_sub_type": "must be a string",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "dict_type": "must be a table",
    "path_type": "must be a file path",
}


def _what_is_wrong(kind: str, error: Any, loc: tuple[int | str, ...], got: str) -> str:
    ctx = error.get("ctx") or {}
    if kind in _SIMPLE_MESSAGES:
        return _SIMPLE_MESSAGES[kind] + got
    if kind == "dustsweep":
        return str(error["msg"])
    if kind == "missing":
        if loc == ("accounts",):
            return f"missing; add at least one [[accounts]] table (see {EXAMPLE_FILE_NAME})"
        return "missing (required)"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "one of the allowed values")).replace("'", '"')
        return f"must be {expected}{got}"
    if kind in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
        return _bound_message(kind, ctx) + got
    if kind in {"list_type", "tuple_type"}:
        if loc == ("accounts",):
            return "must be an array of tables: write [[accounts]], not [accounts]"
        return f'must be an array, e.g. ["BNB"]{got}'
    return f"{str(error['msg']).rstrip('.').lower()}{got}"


def _bound_message(kind: str, ctx: Mapping[str, object]) -> str:
    words = {
        "greater_than_equal": ("ge", "must be at least"),
        "greater_than": ("gt", "must be more than"),
        "less_than_equal": ("le", "must be at most"),
        "less_than": ("lt", "must be less than"),
    }
    key, phrase = words[kind]
    bound = ctx.get(key)
    if isinstance(bound, float) and bound.is_integer():
        bound = int(bound)
    return f"{phrase} {bound}"


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    key = str(loc[-1])
    parent = loc[:-1]
    known: Sequence[str]
    if parent and parent[0] == "accounts":
        known = list(AccountConfig.model_fields)
    else:
        known = list(Config.model_fields)
    hint = difflib.get_close_matches(key, known, n=1)
    where = _location(parent)
    prefix = f"{where}: " if where else ""
    suggestion = f' (did you mean "{hint[0]}"?)' if hint else ""
    return f'{prefix}unknown key "{key}"{suggestion}'


# --------------------------------------------------------------------------- accounts and keys


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
        _refuse_if_readable(config_path, where)
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


# --------------------------------------------------------------------------- showing it


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
