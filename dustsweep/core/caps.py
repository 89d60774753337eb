"""The value caps every route shares: ``max_value_per_asset`` and the run's ``--max-value``
(``max_value_per_run``), and the ``Skip`` that says why an asset was left out.

Its own module so the sell plan and the conversion plan apply the caps the same way without the
conversion plan depending on the sell plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol, TypeVar

from dustsweep.core.lots import plain
from dustsweep.core.models import ZERO

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from decimal import Decimal

MAX_VALUE_REASON = "over the --max-value cap"


class _OfAsset(Protocol):
    @property
    def asset(self) -> str: ...


_Item = TypeVar("_Item", bound=_OfAsset)


class Skip(NamedTuple):
    """An asset left out of the plan, with the reason in plain words."""

    asset: str
    reason: str


def per_asset_cap_reason(value: Decimal | None, cap: Decimal | None, quote: str) -> str | None:
    """Why an action worth ``value`` breaks ``max_value_per_asset`` (None: it does not).
    Shared by selling and converting."""
    if cap is None:
        return None
    if value is None:
        return "value unknown, so the --max-value-per-asset cap cannot be checked"
    if value > cap:
        return f"worth {plain(value)} {quote}, over the --max-value-per-asset cap {plain(cap)}"
    return None


def apply_run_cap(
    items: Sequence[_Item], cap: Decimal | None, value_of: Callable[[_Item], Decimal | None]
) -> tuple[list[_Item], list[Skip]]:
    """Keep items (already in value order) while the running total stays within ``cap``.

    Shared by the sell plan and the conversion plan so that ``--max-value`` and
    ``max_value_per_run`` mean the same on every route. An item of unknown value is never
    kept under a cap (the cap could not be checked).
    """
    if cap is None:
        return list(items), []
    kept: list[_Item] = []
    skipped: list[Skip] = []
    running = ZERO
    stopped = False  # once one item would pass the cap, the walk stops: no skipping ahead
    for item in items:
        value = value_of(item)
        if value is None:
            skipped.append(
                Skip(item.asset, "value unknown, so the --max-value cap cannot be checked")
            )
        elif stopped or running + value > cap:
            stopped = True
            skipped.append(Skip(item.asset, MAX_VALUE_REASON))
        else:
            running += value
            kept.append(item)
    return kept, skipped
