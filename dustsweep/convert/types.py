"""What the conversion executor is handed and what it hands back.

Kept apart from the machinery so the CLI and the renderers can import these types cheaply.
Statuses per asset: ``planned`` (a dry run), ``converted``, ``failed`` (the exchange refused or
did not convert it), ``skipped`` (not attempted: no longer eligible, cool-down, an earlier
conversion still unresolved) and ``unknown`` (it may have happened: the ledger record stays
pending and the next run settles it with ``reconcile_pending_conversions``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dustsweep.core.models import ZERO
from dustsweep.run.context import RunContext
from dustsweep.run.exit import conversion_exit_code
from dustsweep.run.outcome import ActionOutcome, Status

if TYPE_CHECKING:
    from collections.abc import Callable
    from decimal import Decimal

    from dustsweep.errors import ExitCode

DEFAULT_CONVERT_POLL_S: tuple[float, ...] = (0.0, 0.5, 1.0, 1.0, 2.0, 2.0, 3.0, 5.0)
DEFAULT_COOLDOWN_S = 6 * 3600


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass(kw_only=True)
class ConversionContext(RunContext):
    """Everything one account's conversion run needs.

    ``cooldown_s`` (config ``cooldown_hours``) dates the end of a cool-down the exchange itself
    reports. ``sleep`` is every wait (reconciliation back-off, Convert status polls) and
    ``now_ms`` the local clock: both injectable so tests run fast. The exchange's own time is
    ``now_ms() + exchange.clock_offset_ms``.
    """

    cooldown_s: int = DEFAULT_COOLDOWN_S
    now_ms: Callable[[], int] = wall_clock_ms
    convert_poll_s: tuple[float, ...] = DEFAULT_CONVERT_POLL_S

    def server_now_ms(self) -> int:
        return self.now_ms() + int(self.exchange.clock_offset_ms)

    def server_now(self) -> datetime:
        """The exchange's time: conversion records are stamped with it, so their age and the
        exchange's log times are measured on one clock."""
        return datetime.fromtimestamp(self.server_now_ms() / 1000, UTC)


@dataclass(frozen=True, slots=True)
class OutcomeTotals:
    """Sums of what converted: received and fees per asset, and counts per status."""

    received: dict[str, Decimal]
    fees: dict[str, Decimal]
    counts: dict[str, int]
    unreported: int  # converted lines whose amounts the exchange did not report


@dataclass
class ConversionOutcome:
    """One account's conversion run (or the settling of earlier pending ones).

    ``lines``: one per planned asset. ``settled``: pending records of earlier runs settled
    first (``reconcile_pending_conversions``). ``cooldown_until_ms`` is set when the exchange's
    cool-down stopped (part of) the run; ``clock_offset_ms`` when the run had to re-measure
    the clock (the caller saves it).
    """

    target: str
    lines: list[ActionOutcome] = field(default_factory=list)
    settled: list[ActionOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cooldown_until_ms: int | None = None
    cooldown_message: str | None = None
    clock_offset_ms: int | None = None

    def by_status(self, status: str) -> list[ActionOutcome]:
        return [line for line in self.lines if line.status == status]

    @property
    def status(self) -> str:
        """``converted`` (all attempted converted), ``partial``, ``failed``, ``unknown``,
        ``cooldown``, ``planned`` or ``nothing``."""
        statuses = {line.status for line in self.lines}
        done = Status.CONVERTED in statuses
        bad = statuses & {Status.FAILED, Status.UNKNOWN}
        if done and bad:
            return "partial"
        if done:
            return Status.CONVERTED
        if Status.FAILED in bad:
            return Status.FAILED
        if bad:
            return Status.UNKNOWN
        if any(line.cooldown for line in self.lines):
            return "cooldown"
        if Status.PLANNED in statuses:
            return Status.PLANNED
        return "nothing"

    def totals(self) -> OutcomeTotals:
        received: dict[str, Decimal] = {}
        fees: dict[str, Decimal] = {}
        counts: dict[str, int] = {}
        unreported = 0
        for line in self.lines:
            counts[line.status] = counts.get(line.status, 0) + 1
            if line.status != Status.CONVERTED:
                continue
            if line.received is None:
                unreported += 1
            else:
                received[line.target] = received.get(line.target, ZERO) + line.received
            if line.fee is not None and line.fee_asset is not None:
                fees[line.fee_asset] = fees.get(line.fee_asset, ZERO) + line.fee
        return OutcomeTotals(received, fees, counts, unreported)

    @property
    def exit_code_hint(self) -> ExitCode:
        """The one exit-code policy's word on this outcome (``run.exit.conversion_exit_code``)."""
        return conversion_exit_code(self)
