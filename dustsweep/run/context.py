"""The one run context: what every route's run of one account shares.

Selling and converting each add only their own fields (``sell.types.ExecutionContext``,
``convert.types.ConversionContext``); reconciling pending records needs nothing more than this.
``sleep`` is every wait a run makes (back-off, Retry-After, status polls), injectable so tests
run fast; ``run_token`` makes this run's client ids unique.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dustsweep.run.ids import new_run_token

if TYPE_CHECKING:
    from collections.abc import Callable

    from dustsweep.exchanges.base import Exchange
    from dustsweep.storage.ledger import Ledger

DEFAULT_RECONCILE_WINDOW_S = 60.0  # how long to keep asking after a lost answer (Binance's
# -2013 lag has lasted up to a minute)


@dataclass(kw_only=True)
class RunContext:
    """One account's run: where it records, whom it talks to, how long it asks."""

    exchange: Exchange
    ledger: Ledger
    exchange_name: str
    account: str
    run_id: int | None = None
    sleep: Callable[[float], None] = time.sleep
    reconcile_window_s: float = DEFAULT_RECONCILE_WINDOW_S
    run_token: str = field(default_factory=new_run_token)
