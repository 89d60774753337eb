"""The fast import of ``binance.client`` (``exchanges/binance/sdk_import``) and the SDK layout
it relies on. Each case runs in a fresh interpreter: this test process has long imported the
whole ``binance`` package, which would hide what the fast path does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata

from tests.paths import REPO

PROBE = """
import json, sys
from dustsweep.exchanges.binance.adapter import _sdk
parts = _sdk()
import binance
print(json.dumps({
    "client_base": [c.__module__ + "." + c.__name__ for c in parts.client.__mro__[1:3]],
    "exceptions": [parts.api_error.__module__, parts.request_error.__module__],
    "loaded": sorted(m for m in sys.modules if m.split(".")[0] in {"binance", "aiohttp"}),
    "init_ran": hasattr(binance, "AsyncClient"),
    "date_parser_loaded": "dateparser.parser" in sys.modules,
    "date_helper": __import__("binance.helpers").helpers.date_to_milliseconds("1 Jan 2020"),
}))
"""


def probe() -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_sdk_loads_client_without_package_init_async_client_or_aiohttp() -> None:
    result = probe()
    assert result["client_base"] == ["binance.client.Client", "binance.base_client.BaseClient"]
    assert result["exceptions"] == ["binance.exceptions", "binance.exceptions"]
    assert result["init_ran"] is False
    # dateparser (imported by binance.helpers) is a stand-in until used; used, it works
    assert result["date_parser_loaded"] is False
    assert result["date_helper"] == 1577836800000
    loaded = result["loaded"]
    assert isinstance(loaded, list)
    assert "binance.client" in loaded
    assert not [m for m in loaded if m.startswith("aiohttp")]
    assert "binance.async_client" not in loaded
    assert "binance.ws.streams" not in loaded


def test_installed_python_binance_is_in_the_pinned_range() -> None:
    """sdk_import relies on 1.0.x's layout; pyproject.toml pins >=1.0.37,<1.1."""
    version = tuple(int(part) for part in metadata.version("python-binance").split(".")[:3])
    assert (1, 0, 37) <= version < (1, 1, 0)


def test_the_fast_path_falls_back_when_binance_is_already_loaded() -> None:
    """Here ``binance`` was imported whole: the function returns that package's client."""
    import binance.client

    from dustsweep.exchanges.binance.sdk_import import import_client_module

    assert import_client_module() is binance.client
