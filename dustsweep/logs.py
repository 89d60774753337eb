"""Logging: to stderr (warnings, or errors only with --quiet) and, if ``log_file`` is set, to a
rotating file with the details of every action. Secrets never reach either: a filter masks the
configured keys and secrets in every record, whatever logged it.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from collections.abc import Iterable
from pathlib import Path

LOGGER = "dustsweep"
_MARK = "_dustsweep_handler"
# ``extra=FILE_ONLY``: a record for the log file only, because the command already says it on
# stderr once (one problem, one line).
FILE_ONLY = {"file_only": True}


def _not_file_only(record: logging.LogRecord) -> bool:
    return not getattr(record, "file_only", False)


class SecretFilter(logging.Filter):
    """Replace any configured secret that appears in a log message with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            masked = message
            for secret in self.secrets:
                masked = masked.replace(secret, "***")
            if masked != message:
                record.msg, record.args = masked, None
        return True


def configure_logging(
    *,
    log_file: Path | None,
    quiet: bool = False,
    verbose: bool = False,
    secrets: Iterable[str] = (),
) -> None:
    """Attach dustsweep's handlers (replacing ones from an earlier call in this process).
    ``verbose`` (-v) shows debug records on stderr; ``quiet`` (-q) only errors."""
    logger = logging.getLogger(LOGGER)
    for handler in list(logger.handlers):
        if getattr(handler, _MARK, False):
            logger.removeHandler(handler)
            handler.close()
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    mask = SecretFilter(secrets)
    stderr = logging.StreamHandler()
    stderr.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING)
    stderr.setFormatter(
        logging.Formatter(
            "dustsweep: [%(levelname)s] %(message)s" if verbose else "dustsweep: %(message)s"
        )
    )
    stderr.addFilter(_not_file_only)
    handlers: list[logging.Handler] = [stderr]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        # Private like the history: it names accounts, assets and amounts.
        os.close(os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        rotating = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=1_000_000, backupCount=5, encoding="utf-8"
        )
        rotating.setLevel(logging.INFO)
        rotating.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handlers.append(rotating)
    for handler in handlers:
        handler.addFilter(mask)
        setattr(handler, _MARK, True)
        logger.addHandler(handler)
