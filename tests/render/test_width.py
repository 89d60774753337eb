"""render/width.print_table: amounts are never cut, whatever the width; a terminal too narrow
for the whole table leaves out the optional columns, in the caller's order, and says so."""

from __future__ import annotations

import io
import re

from rich.console import Console
from rich.table import Table

from dustsweep.render.width import print_table

AMOUNTS = ["123456.78901234", "0.00000001", "98765.4321"]
HEADERS = ("Asset", "Free", "Locked", "Market", "Convert", "Reason")


def table() -> Table:
    out = Table(title="t")
    for header in HEADERS:
        out.add_column(header)
    for n, amount in enumerate(AMOUNTS):
        out.add_row(f"A{n}", amount, amount, f"A{n}USDT", "yes", "below the minimum order " * 2)
    return out


def render(width: int, terminal: bool, drop: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=terminal, color_system=None)
    print_table(console, table(), wrap={"Reason"}, drop=drop)
    return buffer.getvalue()


def header_line(text: str) -> str:
    return next(line for line in text.splitlines() if "Asset" in line)


def test_a_narrow_terminal_leaves_out_optional_columns_in_order_until_the_table_fits() -> None:
    text = render(64, True, drop=("Convert", "Market", "Locked"))
    assert all(len(line) <= 64 for line in text.splitlines())
    header = header_line(text)
    assert "Convert" not in header and "Asset" in header and "Reason" in header
    left_out = re.search(r"\((.*) left out at this width", text.replace("\n", " "))
    assert left_out is not None
    names = left_out.group(1).split(", ")
    assert names == ["Convert", "Market", "Locked"][: len(names)]  # in the caller's order
    for amount in AMOUNTS:
        assert amount in text  # whole


def test_nothing_is_left_out_when_the_table_fits() -> None:
    text = render(200, True, drop=("Convert", "Market", "Locked"))
    assert all(h in header_line(text) for h in HEADERS)
    assert "left out" not in text


def test_a_pipe_keeps_every_column_and_every_digit() -> None:
    text = render(64, False, drop=("Convert", "Market", "Locked"))
    assert all(h in text for h in HEADERS)
    assert "left out" not in text
    for amount in AMOUNTS:
        assert amount in text


def test_a_text_column_empty_in_every_row_is_left_out_and_one_with_text_is_kept() -> None:
    for filled in (False, True):
        out = Table(title="t")
        for header in ("Asset", "Sold", "Note"):
            out.add_column(header)
        out.add_row("A0", "1.5", "")
        out.add_row("A1", "0.00000001", "rejected: -2010" if filled else "")
        buffer = io.StringIO()
        console = Console(file=buffer, width=80, force_terminal=True, color_system=None)
        print_table(console, out, wrap={"Note"})
        text = buffer.getvalue()
        assert ("Note" in header_line(text)) is filled
        assert "0.00000001" in text and "1.5" in text
        assert ("rejected: -2010" in text) is filled
