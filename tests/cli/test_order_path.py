"""Issue 10's figure for the order path: one sell order passes at most 8 project frames from
the click command to the SDK call (``tools/frames.py`` prints them).

The real SDK methods are wrapped, not replaced: the wrapper records the stack that led to the
call (this worker's frames, plus the main thread's and any account thread's, which are blocked
on the order pools meanwhile) and then calls the SDK, which talks to the simulator as usual.
"""

from __future__ import annotations

import sys
import threading
import traceback
from pathlib import Path
from typing import Any

import pytest

import dustsweep
from dustsweep.sim.demo import DEMO_SCENARIO
from tests.cli.test_scan import accounts_for, keys  # noqa: F401 - fixture
from tests.conftest import write_config

pytestmark = pytest.mark.usefixtures("keys")

PKG = Path(dustsweep.__file__).resolve().parent
MAX_FRAMES = 8
WRAPPERS = {"<lambda>", "<listcomp>", "<genexpr>"}  # only wrap the SDK call, as frames.py


def _stack_to_here() -> list[traceback.FrameSummary]:
    me = threading.get_ident()
    main = threading.main_thread().ident
    current = sys._current_frames()
    middle = [
        traceback.extract_stack(frame)
        for ident, frame in current.items()
        if ident not in (me, main)
        and any(t.ident == ident and t.name.startswith("account") for t in threading.enumerate())
    ]
    return (
        traceback.extract_stack(current[main or 0])
        + (middle[0] if middle else [])
        + traceback.extract_stack()[:-2]
    )


def _project_path(stack: list[traceback.FrameSummary]) -> list[str]:
    frames = [
        f
        for f in stack
        if Path(f.filename).resolve().is_relative_to(PKG) and f.name not in WRAPPERS
    ]
    start = next(i for i, f in enumerate(frames) if f.name == "sell")  # the click command
    return [f"{Path(f.filename).name}:{f.name}" for f in frames[start:]]


def test_every_sell_order_passes_at_most_8_project_frames(
    cli: Any, sim_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from binance.client import Client
    from pybit.unified_trading import HTTP

    paths: list[list[str]] = []

    def spy(cls: type, name: str) -> None:
        original = getattr(cls, name)

        def recorded(self: Any, *args: Any, **kwargs: Any) -> Any:
            paths.append(_project_path(_stack_to_here()))
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, recorded)

    spy(Client, "order_market_sell")
    spy(HTTP, "place_order")
    sim = sim_factory(DEMO_SCENARIO)
    config = write_config(tmp_path, accounts_for(sim), keep=["BNB"])
    result = cli("--config", str(config), "sell", "--yes", "--json")
    assert result.code == 0, result.err
    assert len(paths) >= 4  # both accounts' orders, and the follow-up sale, went out
    assert any("adapter.py:market_sell" in p for p in paths)
    for path in paths:
        assert path[0] == "sell.py:sell"
        assert len(path) <= MAX_FRAMES, " -> ".join(path)
