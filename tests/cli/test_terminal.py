"""At a real (pseudo-)terminal of 80 columns: `sell --json` prints the plan on stderr before it
asks, the question counts the follow-up sale, stdout stays one JSON document, and no number is
cut. The command runs as its own process, its stdin and stderr on a pty, stdout on a pipe."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest

from dustsweep.sim.demo import DEMO_SCENARIO
from tests.cli.test_scan import accounts_for
from tests.cli.test_scan import keys as keys
from tests.conftest import write_config

pytestmark = [
    pytest.mark.usefixtures("keys"),
    pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty"),
]


def read_until(fd: int, marker: bytes, timeout: float = 60.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            if marker.startswith(b"\x00"):  # read what there is
                return seen
            raise AssertionError(f"no {marker!r} on the terminal; got {seen[-2000:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            seen += chunk
    return seen


@pytest.mark.parametrize(
    ("as_json", "answer", "placed"),
    [(True, b"y\n", 4), (True, b"n\n", 0), (False, b"y\n", 4)],
)
def test_sell_at_a_terminal_shows_the_plan_then_asks_on_stderr(
    sim_factory: Any, tmp_path: Path, as_json: bool, answer: bytes, placed: int
) -> None:
    sim = sim_factory(DEMO_SCENARIO)
    config = write_config(tmp_path, accounts_for(sim)[:1], keep=["BNB"])
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 80, 0, 0))
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    process = subprocess.Popen(
        [sys.executable, "-m", "dustsweep", "--config", str(config), "sell"]
        + (["--json"] if as_json else []),
        stdin=slave,
        stderr=slave,
        stdout=subprocess.PIPE,
        env=env,
    )
    os.close(slave)
    try:
        before = read_until(master, b"[y/N]").decode()
        os.write(master, answer)
        out = process.stdout.read() if process.stdout else b""
        process.wait(timeout=120)
        after = read_until(master, b"\x00 never", timeout=2).decode(errors="replace")
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    if as_json:  # the plan goes to the terminal (stderr); stdout is the JSON document alone
        plan, doc = before, json.loads(out)
        orders = doc["accounts"][0]["orders"]
        assert sum(1 for o in orders if o["status"] == "filled") == placed
    else:
        plan = out.decode()
        assert "Received (net)" in plan and "Summary: received" in plan
    assert plan.index("sell plan") >= 0 and "Place 4 market order(s)?" in before
    assert "then the ETH received -> USDT on ETHUSDT" in plan  # 3 sales + the ETH received
    assert "…" not in plan
    for amount in ("12.3", "0.041", "0.00196513", "0.0012967"):  # the plan's, whole
        assert amount in plan
    if as_json:  # the plan on the 80-column terminal: what --json also has is left out, named
        assert "(Residual, Est. fee left out at this width; --json has them)" in plan
    else:  # the plan on stdout, a pipe: every column
        assert "0.0456" in plan and "0.0000012967" in plan and "left out" not in plan
    # Progress on the terminal while the orders run (per account: done of planned), but not
    # under --json.
    shown = "main: orders" in after and "4/4" in after
    assert shown is (not as_json and bool(placed)), after[-3000:]


def test_convert_plan_fits_80_columns_one_line_per_asset(sim_factory: Any, tmp_path: Path) -> None:
    """The route column names the route without its target (the title and the Receive column
    name it), so at 80 columns each asset's row stays one line and no number is cut."""
    sim = sim_factory(DEMO_SCENARIO)
    targets = {"binance": {"convert_to": "BNB"}, "bybit": {"convert_to": "USDT"}}
    config = write_config(tmp_path, accounts_for(sim, **targets), keep=["BNB"])
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 80, 0, 0))
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    command = [sys.executable, "-m", "dustsweep", "--no-color", "--config", str(config), "convert"]
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    try:
        screen = read_until(master, b"[y/N]").decode()
        os.write(master, b"n\n")
        process.wait(timeout=120)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    screen = re.sub(r"\x1b\[[0-9;]*m", "", screen)  # --no-color still makes headers bold
    lines = [line.rstrip() for line in screen.split("\n")]
    assert not [line for line in lines if len(line) > 80], screen
    rows = [line for line in lines if "native conversion" in line]
    assert len(rows) >= 2 and "…" not in screen
    for row in rows:  # asset, amount and both receive columns on the route's own line
        cells = [cell.strip() for cell in row.strip("│ ").split("│")]
        assert len(cells) == 5 and cells[2] == "native conversion", row
        assert all(cells) and not any(c.endswith(" to") for c in cells), row
    assert "convert to BNB" in screen and "convert to USDT" in screen
    # A reason that wraps keeps to its own column: no continuation line at the left edge.
    after_tables = [line for line in lines if line and line[0] not in "┏┃┡│└"]
    strays = [line for line in after_tables if not line.startswith("  ")]
    assert all(line.endswith(("convert to BNB", "convert to USDT", "[y/N]:")) for line in strays), (
        strays
    )
    assert any(line.startswith("  left ") for line in lines), screen
    continued = [line for line in lines if line.startswith("            ")]  # under the reason
    assert continued, screen
