"""How wide a table is printed, so that no amount is ever cut.

rich shrinks a table that does not fit by wrapping and then ellipsising every column alike:
"12.3…" for an amount, one word per line for a reason, half a time in ``history``. And when
output is not a terminal (cron mail, a pipe, a file) rich assumes 80 columns. Every table of
every command is printed through ``print_table`` instead, which holds one rule: only the text
columns named by the caller (reasons, notes, errors) may wrap, and never narrower than
``TEXT_MIN``; every other column (amounts, symbols, statuses, times, ids) is exactly as wide as
its longest value. The text columns get the width that is left; when even that does not fit,
a terminal first leaves out the columns the caller marks as optional (named under the table), then
the table drops its borders and padding; when it still does not fit, a terminal gets one
paragraph per row ("Header value" pairs, broken between words) and a pipe or a file gets the
table wider than its nominal width, since nothing wraps there.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from typing import IO, TYPE_CHECKING, Any

from dustsweep.render.lines import print_indented

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Column, Table

TEXT_MIN = 24  # a wrapped reason keeps several words per line
PIPE_WIDTH = 160  # not a terminal and no COLUMNS: cron mail and files are read in wide windows


def output_width(stream: IO[str], environ: dict[str, str] | None = None) -> int | None:
    """The console width to use: None (rich asks the terminal, or honours COLUMNS) at a
    terminal or when COLUMNS is set; ``PIPE_WIDTH`` otherwise, instead of rich's 80."""
    env = os.environ if environ is None else environ
    if env.get("COLUMNS", "").isdigit():
        return None
    try:
        if stream.isatty():
            return None
    except (AttributeError, ValueError):
        pass
    return PIPE_WIDTH


def print_table(
    console: Console, table: Table, wrap: Collection[str] = (), drop: Sequence[str] = ()
) -> None:
    """Print ``table`` with every column whole but the ones whose header is in ``wrap``.

    ``drop``: headers of columns a terminal too narrow for the whole table may leave out, least
    useful first (what they hold is also in the reason text, or in ``--json``); a line under the
    table names them. They are dropped one by one only until the table fits, and only at a
    terminal: a pipe or a file gets every column. A text column with nothing in any row (a
    Note column when every order went through) is left out everywhere: it is all blank."""
    for column in [c for c in table.columns if _header(c) in wrap]:
        if table.row_count and not any(_cell_width(cell) for cell in column.cells):
            table.columns.remove(column)
    fixed = [c for c in table.columns if _header(c) not in wrap]
    texts = [c for c in table.columns if _header(c) in wrap]
    for column in fixed:
        column.no_wrap = True
        column.min_width = max(_longest(column), len(_header(column)))
    for column in texts:
        column.overflow = "fold"  # a long token (a list of symbols) breaks, never "…"
        column.min_width = min(_longest(column), TEXT_MIN)
    width = console.width
    dropped: list[str] = []
    if console.is_terminal:
        droppable = [c for name in drop for c in table.columns if _header(c) == name]
        while droppable and _too_wide(console, table, texts, width):
            column = droppable.pop(0)
            table.columns.remove(column)
            dropped.append(_header(column))
    if _too_wide(console, table, texts, width):
        _compact(table)
        width = max(width, _squeeze(table, texts, width))
    if width <= console.width:
        console.print(table)
        if dropped:
            print_indented(
                console, f"({', '.join(dropped)} left out at this width; --json has them)"
            )
        return
    if console.is_terminal:  # the terminal would break the long lines inside the numbers
        _print_records(console, table)
        return
    saved = console.width
    console.width = width  # wider than the screen: the terminal wraps the line, nothing is cut
    try:
        console.print(table, crop=False)
    finally:
        console.width = saved


def _too_wide(console: Console, table: Table, texts: list[Column], width: int) -> bool:
    return _natural(console, table) > width and _squeeze(table, texts, width) > width


def _print_records(console: Console, table: Table) -> None:
    """A table too wide for the terminal, one row per paragraph: its first column, then
    "Header value" pairs. Lines break between words, so never inside a number."""
    from rich.text import Text

    if table.title:
        console.print(table.title)
    columns = [(str(c.header), list(c.cells)) for c in table.columns]
    for index in range(table.row_count):
        cells = [(header, _as_text(cells[index])) for header, cells in columns]
        line = Text("  ").join(
            [cells[0][1], *(Text(f"{h} ").append_text(v) for h, v in cells[1:] if v.plain)]
        )
        console.print(line)


def _as_text(cell: Any) -> Any:
    from rich.text import Text

    return Text.from_markup(cell) if isinstance(cell, str) else cell


def _header(column: Column) -> str:
    return str(column.header)


def _cell_width(cell: Any) -> int:
    from rich.text import Text

    text = Text.from_markup(cell) if isinstance(cell, str) else cell
    if not isinstance(text, Text):
        return 0
    return max((line.cell_len for line in text.split()), default=0)


def _longest(column: Column) -> int:
    words = str(column.header).split() or [""]
    longest_word = max(len(w) for w in words)
    return max([longest_word, *(_cell_width(cell) for cell in column.cells)])


def _natural(console: Console, table: Table) -> int:
    from rich.measure import Measurement

    wide = console.options.update_width(1_000_000)
    return Measurement.get(console, wide, table).maximum


def _compact(table: Table) -> None:
    """No vertical borders and no padding: one space between columns."""
    from rich import box

    table.box = box.SIMPLE_HEAD
    table.padding = (0, 1, 0, 0)
    table.pad_edge = False
    table.show_edge = False


def _squeeze(table: Table, texts: list[Column], width: int) -> int:
    """Give the text columns what is left of ``width`` (at least ``TEXT_MIN`` each, at most
    their longest value); return the width the table then takes."""
    padding = table.padding[1] + table.padding[3]
    used = table._extra_width + sum(
        (c.min_width or 0) + padding for c in table.columns if c not in texts
    )
    left = width - used - padding * len(texts)
    for column in texts:
        share = max(left // max(len(texts), 1), column.min_width or 0)
        column.width = min(max(share, column.min_width or 0), _longest(column))
    return used + sum((c.width or 0) + padding for c in texts)
