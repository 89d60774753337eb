"""What the TOML configuration may hold: the pydantic models and their field validators."""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
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
    StrictBool,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from dustsweep.exchanges.names import EXCHANGE_NAMES

if TYPE_CHECKING:
    from dustsweep.core.policy import Policy


EXAMPLE_FILE_NAME = "config.example.toml"
SECRET_FIELDS = frozenset({"api_key", "api_secret"})


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


_ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


def _fail(message: str) -> PydanticCustomError:
    """A validation error whose text is already the final, human message."""
    return PydanticCustomError("dustsweep", "{message}", {"message": message})


def show(value: object) -> str:
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
        raise _fail(f"must be a number or a string holding one (got {show(value)})")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _fail(f"not a number ({show(value)})") from None
    if not number.is_finite():
        raise _fail(f"not a finite number ({show(value)})")
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
        raise _fail(f'must be an asset name such as "USDT" (got {show(value)})')
    asset = value.strip().upper()
    if not asset or any(ch.isspace() for ch in asset):
        raise _fail(f'must be an asset name such as "USDT" (got {show(value)})')
    return asset


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    """Drop repeats but keep order (order of sell_quotes breaks ties between markets)."""
    return tuple(dict.fromkeys(values))


def _to_exchange(value: object) -> str:
    """One of the exchanges with an adapter (``exchanges.names.EXCHANGE_NAMES``), any case."""
    name = value.strip().lower() if isinstance(value, str) else value
    if isinstance(name, str) and name in EXCHANGE_NAMES:
        return name
    quoted = [f'"{n}"' for n in EXCHANGE_NAMES]
    allowed = " or ".join([", ".join(quoted[:-1]), quoted[-1]]) if len(quoted) > 1 else quoted[0]
    raise _fail(f"must be {allowed} (got {show(name)})")


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
    """Exchange keys and secrets: long runs of mixed-case letters and digits (64, 18 or
    36 characters on the exchanges we know) or long hex. Variable names are words joined by "_"."""
    if "_" in value or len(value) < 16:
        return False
    has_digit = any(c.isdigit() for c in value)
    mixed_case = any(c.islower() for c in value) and any(c.isupper() for c in value)
    return has_digit and (mixed_case or len(value) >= 32)


def _check_account_name(value: str) -> str:
    if not _ACCOUNT_NAME.fullmatch(value):
        raise _fail(
            'must be 1-40 letters, digits, "-", "_" or ".", starting with a letter or digit '
            f"(got {show(value)})"
        )
    return value


def _check_base_url(value: str) -> str:
    """An exchange host, e.g. a testnet or the simulator; never credentials or a query."""
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    try:
        _ = parts.port
    except ValueError:
        raise _fail(f"has an invalid port (got {show(value)})") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise _fail(f"must be an http:// or https:// URL with a host (got {show(value)})")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise _fail(f"must not have a query or fragment (got {show(value)})")
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


def _above_zero(value: Decimal) -> Decimal:
    if value <= 0:
        raise _fail(f"must be a number above 0 (got {format(value, 'f')})")
    return value


Positive = Annotated[Number, AfterValidator(_above_zero)]


Asset = Annotated[str, BeforeValidator(_to_asset)]


Assets = Annotated[tuple[Asset, ...], AfterValidator(_unique)]


StrictInt = Annotated[int, Strict()]


EnvName = Annotated[str, Strict(), AfterValidator(_check_env_name)]


class AccountConfig(BaseModel):
    """One ``[[accounts]]`` table: which exchange, where the keys are, how to talk to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Strict(), AfterValidator(_check_account_name)]
    exchange: Annotated[str, BeforeValidator(_to_exchange)]
    api_key_env: EnvName | None = None
    api_secret_env: EnvName | None = None
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    # Ed25519 or RSA key generated by the user (where the adapter accepts key files), instead of
    # the HMAC secret.
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
    # issue 14: warn about held assets whose markets all close within this many hours, and
    # (when sell_before_delist) sell them whatever their size before the time.
    delist_warn_hours: Positive = Decimal("72")
    sell_before_delist: StrictBool = False
    log_file: Annotated[Path, AfterValidator(_expand_path)] | None = None
    # a live sweep also runs ``history sync`` (services.history_sync), so that no conversion
    # ages out of the exchanges' logs (Binance keeps the last 100 dust records)
    sync_history: StrictBool = True
    # how far back the first sync of an account reads (later syncs start where the last ended):
    # Bybit's small-balance log is read in 7-day windows at 5 requests a second, ~10 s a year
    first_sync_days: Annotated[StrictInt, Field(ge=1, le=3650)] = 365
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
