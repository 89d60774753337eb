"""The one file-permission rule: a file that holds an API secret must not be readable by others.

Its own module because both the config loader (inline keys) and the credentials (the config an
account's secret came from) apply it, and neither should import the other for it.
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING

from dustsweep.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path


def refuse_if_readable(file: Path, where: str) -> None:
    try:
        mode = stat.S_IMODE(file.stat().st_mode)
    except OSError as exc:
        raise ConfigError(f"{file}: cannot check its permissions ({exc.strerror})") from None
    if os.name != "nt" and mode & 0o077:
        raise ConfigError(
            f"{file}: {where} has an inline API key but the file is readable by others "
            f"(mode {mode:04o}); run: chmod 600 {file.absolute()}"
        )
