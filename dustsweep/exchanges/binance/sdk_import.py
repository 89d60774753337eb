"""Import ``binance.client`` without running ``binance/__init__.py``.

python-binance's package ``__init__`` imports everything it offers: the asyncio client (and so
aiohttp), the websocket stream managers and depth caches. dustsweep uses only the synchronous
``binance.client.Client`` and ``binance.exceptions``; importing the package ``__init__`` costs
about 0.1-0.2 s of a scan that otherwise takes ~0.5 s (issue 12).

So the package object is created from its import spec *without executing it* (its
``__path__`` is all submodule imports need), and ``binance.client`` is imported from there.
This relies on the SDK's layout: ``binance/client.py`` and ``binance/exceptions.py`` as
submodules that do not need names from ``binance/__init__`` (true for 1.0.37 and pinned in
pyproject.toml; tests/exchanges/binance/test_sdk_import.py checks it). Should the layout ever
differ, the half-made package is removed again and the ordinary import runs: slower, never
broken. When ``binance`` was already imported (e.g. by a test), nothing changes.

``binance.helpers`` also imports dateparser and pytz (~0.09 s) for ``date_to_milliseconds``,
which dustsweep never calls: each gets a stand-in module that imports the real one on first
use of an attribute, i.e. never in a dustsweep run.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType


def import_client_module() -> ModuleType:
    """``binance.client``, imported the fast way when ``binance`` is not loaded yet."""
    if "binance" not in sys.modules:
        try:
            return _import_without_package_init()
        except Exception:  # the layout changed: undo, and take the ordinary road
            for name in [n for n in sys.modules if n == "binance" or n.startswith("binance.")]:
                del sys.modules[name]
    return importlib.import_module("binance.client")


LAZY = ("dateparser", "pytz")  # imported by binance.helpers, used only by date helpers


def lazy_import(name: str) -> None:
    """Put a stand-in for ``name`` in ``sys.modules`` that imports the real module on first
    attribute access and forwards to it. (The standard ``LazyLoader`` does not help here:
    Python 3.11's ``import`` statement reads ``__spec__`` of a module already in
    ``sys.modules``, which makes a lazy module load at once.)"""
    if name in sys.modules or importlib.util.find_spec(name) is None:
        return
    stand_in = ModuleType(name, f"stand-in for {name}: imported on first use")
    real: list[ModuleType] = []

    def load(attr: str) -> object:
        if not real:
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
            real.append(importlib.import_module(name))
        return getattr(real[0], attr)

    stand_in.__getattr__ = load  # type: ignore[method-assign]  # PEP 562 module __getattr__
    sys.modules[name] = stand_in


def _import_without_package_init() -> ModuleType:
    for name in LAZY:
        lazy_import(name)
    spec = importlib.util.find_spec("binance")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("python-binance is not installed as a package")
    package = importlib.util.module_from_spec(spec)  # __path__ set, __init__ not run
    sys.modules["binance"] = package
    client = importlib.import_module("binance.client")
    exceptions = importlib.import_module("binance.exceptions")
    # What dustsweep reaches through the package elsewhere (the SDK's own modules import
    # from their submodules, never from the package).
    package.client = client  # type: ignore[attr-defined]
    package.exceptions = exceptions  # type: ignore[attr-defined]
    package.Client = client.Client  # type: ignore[attr-defined]
    return client
