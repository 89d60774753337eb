"""The error hierarchy and the one table of exit codes.

Commands raise these; only ``cli.main`` turns them into an exit status, so every code in the
README is produced in exactly one place.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit statuses (README "Exit codes")."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    EXCHANGE = 3
    PARTIAL = 4
    NOT_NOW = 5
    INTERRUPTED = 130


class DustsweepError(Exception):
    """Base class: carries the exit code the CLI should use and a one-line message."""

    exit_code: ExitCode = ExitCode.UNEXPECTED


class ConfigError(DustsweepError):
    """Bad configuration or usage: names the field and what is wrong."""

    exit_code = ExitCode.USAGE


class NotNowError(DustsweepError):
    """Possible later but not now: a cool-down, or another run holds the lock."""

    exit_code = ExitCode.NOT_NOW


class LockHeld(NotNowError):
    """Another dustsweep run holds the state folder's lock."""


class CooldownActive(NotNowError):
    """The exchange's small-balance conversion is in its cool-down."""

    def __init__(self, message: str, until_ms: int | None = None) -> None:
        super().__init__(message)
        self.until_ms = until_ms


class ExchangeError(DustsweepError):
    """Anything the exchange or the network did; translated at the adapter boundary."""

    exit_code = ExitCode.EXCHANGE

    def __init__(
        self, message: str, *, code: int | None = None, http_status: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status


class AuthError(ExchangeError):
    """Key, signature or permission rejected (Binance -2015/-1022/-2014, Bybit 10003-10005)."""


class NetworkError(ExchangeError):
    """No answer: connection refused or dropped, timeout. An order's outcome is unknown."""


class ServerError(ExchangeError):
    """The exchange answered 5xx or an 'unknown' error: for an order the outcome is unknown."""


class RateLimited(ExchangeError):
    """HTTP 429 / Binance -1003 / Bybit 10006: wait ``retry_after`` seconds before trying again."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        code: int | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, code=code, http_status=http_status)
        self.retry_after = retry_after


class Banned(ExchangeError):
    """HTTP 418 (Binance) or 403 (Bybit): the IP is banned; the run must stop."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        code: int | None = None,
        http_status: int | None = None,
        sent: bool = True,
    ) -> None:
        super().__init__(message, code=code, http_status=http_status)
        self.retry_after = retry_after
        # False: raised before sending (the ban was already known), so nothing can have run
        self.sent = sent


class ClockSkew(ExchangeError):
    """Binance -1021 / Bybit 10002: the local clock is outside the receive window."""


class OrderRejected(ExchangeError):
    """The exchange refused the order; nothing was executed.

    ``kind`` says why, so the executor can react without parsing messages again:
    ``filter`` (a lot-size or notional rule: cached rules are stale), ``halted`` (market closed),
    ``insufficient`` (the balance changed underneath), ``duplicate`` (client id already used),
    ``other``.
    """

    def __init__(
        self, message: str, *, kind: str, code: int | None = None, http_status: int | None = None
    ) -> None:
        super().__init__(message, code=code, http_status=http_status)
        self.kind = kind


class ConversionRejected(ExchangeError):
    """The exchange refused a conversion request (ineligible asset, target, expired quote...).

    ``kind``: ``ineligible``, ``unsupported_target``, ``expired``, ``insufficient``, ``cooldown``,
    ``other``.
    """

    def __init__(
        self, message: str, *, kind: str, code: int | None = None, http_status: int | None = None
    ) -> None:
        super().__init__(message, code=code, http_status=http_status)
        self.kind = kind
