"""Lines printed around the tables (reasons, totals, notes): at a terminal their wrapped lines
keep to their own column instead of falling back to the left edge, where they would read like new
entries; in a pipe or a file each stays one line, for grep."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def print_hanging(console: Console, head: str, body: str, indent: int = 2) -> None:
    """``  head body`` with the body's wrapped lines under its own start, not at column 0.

    The reasons an asset is left or skipped run to two or three lines at 80 columns; lines
    that fall back to the left edge read like new entries. A borderless grid keeps the asset
    name in its own column and wraps only the reason. Not at a terminal: one line."""
    if not console.is_terminal:  # cron mail, a pipe: one line per entry, for grep
        console.print(f"{' ' * indent}{head} {body}", soft_wrap=True)
        return
    from rich.table import Table

    grid = Table.grid(padding=(0, 1, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(f"{' ' * indent}{head}", body)
    console.print(grid)


def print_indented(console: Console, text: str) -> None:
    """``text`` two columns in, its wrapped lines too (a plain print wraps them to column 0).
    Not at a terminal it stays one line, for grep."""
    if not console.is_terminal:
        console.print(f"  {text}", soft_wrap=True)
        return
    from rich.padding import Padding

    console.print(Padding(text, (0, 0, 0, 2), expand=False))
