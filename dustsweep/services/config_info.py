"""``dustsweep config``: where things live, writing the example config, and the effective config
with where each value came from. Secrets are never shown: only whether they are set.

The example config ships inside the package (``dustsweep/config/config.example.toml``, equal
to the repository's top-level copy) so that ``config init`` works from a wheel or pipx install.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dustsweep.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from dustsweep.config.schema import Config

MASK = "********"
STATE_ENV = "DUSTSWEEP_HOME"


def example_config() -> str:
    """The commented example config shipped with the package."""
    return resources.files("dustsweep.config").joinpath("config.example.toml").read_text("utf-8")


def write_example(path: Path) -> Path:
    """Write the example to ``path`` (folders made as needed), mode 600 from the first byte;
    never over an existing file: its keys and settings would be lost."""
    path = path.expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(
            f"config init: {path} already exists; it was not changed (edit it, or write "
            "elsewhere with --path)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"config init: cannot write {path} ({exc.strerror or exc})") from None
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(example_config())
    os.chmod(path, 0o600)  # O_CREAT's mode is filtered by the umask; 600 is what we promise
    return path


@dataclass(frozen=True)
class Paths:
    """``config path``: the files dustsweep reads and writes (None: no log file is set)."""

    config: Path
    state: Path
    history: Path
    log: Path | None


def paths(config_path: Path, state_dir: Path, log_file: Path | None) -> Paths:
    from dustsweep.storage.ledger import LEDGER_FILE_NAME

    return Paths(config_path, state_dir, state_dir / LEDGER_FILE_NAME, log_file)


@dataclass(frozen=True)
class Setting:
    """One line of ``config show``: the key, its effective value as TOML, where it came from."""

    key: str
    value: str
    source: str  # "file", "default", "environment (NAME)", "environment (NAME, not set)"


def config_source(flag: Path | None, env: Mapping[str, str]) -> str:
    if flag is not None:
        return "--config"
    return (
        "environment (DUSTSWEEP_CONFIG)" if env.get("DUSTSWEEP_CONFIG", "").strip() else "default"
    )


def state_source(env: Mapping[str, str]) -> str:
    return f"environment ({STATE_ENV})" if env.get(STATE_ENV, "").strip() else "default"


def settings(config: Config, env: Mapping[str, str]) -> tuple[list[Setting], list[list[Setting]]]:
    """The top-level settings and each account's, in schema order: what the file says, what
    the defaults fill in, and which secrets the environment provides (masked)."""
    assert config.path is not None
    raw = tomllib.loads(config.path.read_text("utf-8"))
    top = [s for s in _fields(config, raw, skip={"accounts"})]
    accounts = []
    for account, raw_account in zip(config.accounts, raw.get("accounts", []), strict=True):
        rows = list(_fields(account, raw_account, skip=set()))
        rows += _secrets_from_env(account.api_key_env, account.api_secret_env, env)
        accounts.append(rows)
    return top, accounts


def _fields(model: BaseModel, raw: Mapping[str, Any], skip: set[str]) -> Iterator[Setting]:
    from dustsweep.config.schema import SECRET_FIELDS

    for key in type(model).model_fields:
        if key in skip:
            continue
        value = getattr(model, key)
        if key == "sell_quotes" and value is None:
            value = model.effective_sell_quotes  # type: ignore[attr-defined]
        source = "file" if key in raw else "default"
        if value is None:
            continue  # not set, no default: nothing to show
        shown = f'"{MASK}"' if key in SECRET_FIELDS else _toml(value)
        yield Setting(key, shown, source)


def _secrets_from_env(
    key_env: str | None, secret_env: str | None, env: Mapping[str, str]
) -> list[Setting]:
    rows = []
    for key, name in (("api_key", key_env), ("api_secret", secret_env)):
        if name:
            is_set = bool(env.get(name))
            rows.append(
                Setting(
                    key,
                    f'"{MASK}"' if is_set else "(not set)",
                    f"environment ({name})" if is_set else f"environment ({name}, not set)",
                )
            )
    return rows


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f'"{format(value, "f")}"'
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
