"""The Bybit session class built from only the pybit endpoint groups dustsweep calls
(``exchanges/bybit/sdk_import``), and the pybit layout it relies on."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pybit.unified_trading

from dustsweep.exchanges.bybit import sdk_import
from tests.paths import REPO

PACKAGE = Path(sdk_import.__file__).resolve().parent

PROBE = """
import json, sys
from dustsweep.exchanges.bybit.wire import Session
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in
    {"pybit", "websocket", "python_socks", "simplejson", "wsaccel"})))
"""


def methods_the_adapter_calls() -> set[str]:
    """Every pybit method name the Bybit package passes to ``wire.call`` / ``_wire.call``."""
    pattern = re.compile(r"\bcall\(\s*\"([a-z_]+)\"")
    names: set[str] = set()
    for path in PACKAGE.glob("*.py"):
        names |= set(pattern.findall(path.read_text()))
    return names


def test_every_method_the_adapter_calls_exists_on_the_lean_session() -> None:
    called = methods_the_adapter_calls()
    assert {"get_wallet_balance", "place_order", "confirm_a_quote_small_balance"} <= called
    missing = [name for name in called if not callable(getattr(sdk_import.HTTP, name, None))]
    assert missing == []


def test_each_mixin_is_one_of_pybit_s_own_http_bases() -> None:
    """The layout relied on: pybit's ``HTTP`` is assembled from these very classes."""
    full = pybit.unified_trading.HTTP
    assert sdk_import.HTTP is not full  # the lean class was built, not the fallback
    lean_bases = sdk_import.HTTP.__mro__[1 : 1 + len(sdk_import.MIXINS)]
    assert [c.__name__ for c in lean_bases] == [name for _m, name in sdk_import.MIXINS]
    assert all(base in full.__mro__ for base in lean_bases)


def test_the_lean_session_takes_the_same_fields_as_pybit_s() -> None:
    lean = [(f.name, f.default) for f in dataclasses.fields(sdk_import.HTTP)]
    full = [(f.name, f.default) for f in dataclasses.fields(pybit.unified_trading.HTTP)]
    assert lean == full
    session = sdk_import.HTTP(api_key="k", api_secret="s", max_retries=1, retry_codes={-1})
    assert (session.max_retries, session.retry_codes, session.api_key) == (1, {-1}, "k")


def test_importing_the_wire_leaves_pybit_s_websocket_stack_unloaded() -> None:
    """Runs in a fresh interpreter: this test process has imported ``unified_trading``."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert "pybit._http_manager" in loaded
    assert "pybit.unified_trading" not in loaded
    assert not [m for m in loaded if m.split(".")[0] != "pybit"]
