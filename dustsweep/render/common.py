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


def print_json(document: Any, stream: IO[str] | None = None, *, ready: bool = False) -> None:
    """``document`` as ``json.dumps(indent=2)`` text, in one write. ``ready``: the document
    holds JSON types only already (``scan_document`` builds it so), so the ``jsonify`` walk
    over every row is skipped: a six-account scan's rows are most of its rendering time."""
    out = stream or sys.stdout
    out.write(dumps_indented(document if ready else jsonify(document)) + "\n")


def dumps_indented(value: Any, level: int = 0) -> str:
    """Exactly ``json.dumps(value, indent=2)``, several times faster on a scan's document.

    With ``indent`` the standard library encodes in pure Python, node by node; that was the
    largest CPU cost of a many-account scan (issue 12). Here only the nesting is walked in
    Python: a container of scalars (a row), or a list of such rows (an account's assets), goes
    to the C encoder in one call with "\\x00" as the separator, which is then replaced by the
    newline and indentation ``indent=2`` puts there. Encoded strings are ASCII-escaped, so a
    raw NUL, and a "}" or "{" right next to one, only ever come from the encoder itself.
    ``value`` must be what ``jsonify`` returns: str keys, JSON types only."""
    p0, p1, p2 = "  " * level, "  " * (level + 1), "  " * (level + 2)
    if isinstance(value, dict):
        if not value:
            return "{}"
        if all(isinstance(v, _SCALARS) for v in value.values()):
            inner = _FLAT.encode(value)[1:-1].replace("\x00", ",\n" + p1)
        else:
            key = json.encoder.encode_basestring_ascii
            inner = f",\n{p1}".join(
                f"{key(k)}: {dumps_indented(v, level + 1)}" for k, v in value.items()
            )
        return "{\n" + p1 + inner + "\n" + p0 + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        if all(isinstance(v, _SCALARS) for v in value):
            inner = _FLAT.encode(list(value))[1:-1].replace("\x00", ",\n" + p1)
        elif all(_is_row(v) for v in value):
            rows = _FLAT.encode(list(value))[2:-2]  # without "[{" and "}]"
            rows = rows.replace("}\x00{", "\n" + p1 + "},\n" + p1 + "{\n" + p2)
            inner = "{\n" + p2 + rows.replace("\x00", ",\n" + p2) + "\n" + p1 + "}"
        else:
            inner = f",\n{p1}".join(dumps_indented(v, level + 1) for v in value)
        return "[\n" + p1 + inner + "\n" + p0 + "]"
    return json.dumps(value)


_SCALARS = (str, int, float, bool, type(None))
_FLAT = json.JSONEncoder(separators=("\x00", ": "))  # C-accelerated: no ``indent``


def _is_row(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(v, _SCALARS) for v in value.values())
    )


def csv_cell(value: Any) -> str:
    """CSV text like the JSON's: "" for null, true/false for booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def make_console(stderr: bool = False) -> Console:
    """One rich Console; colour off when NO_COLOR is set or output is not a terminal. Not at a
    terminal it is ``PIPE_WIDTH`` wide rather than rich's 80 (render.width)."""
    import os

    from rich.console import Console

    from dustsweep.render.width import output_width

    return Console(
        stderr=stderr,
        no_color=bool(os.environ.get("NO_COLOR")),
        highlight=False,
        soft_wrap=False,
        width=output_width(sys.stderr if stderr else sys.stdout),
    )


def failed_line(title: str) -> str:
    """An account that failed, in a table's place: the reason itself is written once, on
    stderr, by the command (one problem, one line)."""
    return f"[bold]{title}[/bold]: [red]failed[/red] (the reason is on stderr)"


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
