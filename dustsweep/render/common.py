"""Formatting every command's output shares: plain decimals, JSON, CSV cells, one Console."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterable
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def dec(value: Decimal | None) -> str | None:
    """A decimal as plain text, or None."""
    if value is None:
        return None
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


_PLAIN = frozenset({str, int, bool, float})


def jsonify(value: Any) -> Any:
    """Make a value JSON-ready: Decimals as strings, enums as their value, dataclasses as dicts."""
    if value is None or type(value) in _PLAIN:  # most leaves: no further checks (exact types,
        return value  # so str-based enums still become their value below)
    if isinstance(value, Decimal):
        return dec(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonify(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, frozenset, set)):
        return [jsonify(v) for v in value]
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str):
        return value.value
    return value


def print_json(document: Any, stream: IO[str] | None = None) -> None:
    out = stream or sys.stdout
    out.write(json.dumps(jsonify(document), indent=2) + "\n")  # one write, not one per token


def csv_cell(value: Any) -> str:
    """CSV text like the JSON's: "" for null, true/false for booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def make_console(stderr: bool = False) -> Console:
    """One rich Console; colour off when NO_COLOR is set or output is not a terminal."""
    import os

    from rich.console import Console

    return Console(
        stderr=stderr,
        no_color=bool(os.environ.get("NO_COLOR")),
        highlight=False,
        soft_wrap=False,
    )


def money(value: Decimal | None, places: int = 2) -> str:
    """A value for people: rounded for reading (the JSON keeps every digit); '?' if unknown."""
    if value is None:
        return "?"
    if value != 0 and abs(value) < Decimal("0.01"):
        return "<0.01"
    return f"{value:,.{places}f}"


def _d(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def sum_by_asset(pairs: Iterable[tuple[str | None, Decimal]]) -> dict[str, str | None]:
    totals: dict[str, Decimal] = {}
    for asset, amount in pairs:
        if asset is not None and amount:
            totals[asset] = totals.get(asset, Decimal(0)) + amount
    return {a: dec(v) for a, v in sorted(totals.items())}


def iso_ms(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO-8601 UTC (rounded up to the second), or None."""
    if ms is None:
        return None
    from datetime import UTC, datetime

    seconds = -(-ms // 1000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
