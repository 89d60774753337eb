"""The registry (``dustsweep.exchanges``) and the capabilities each adapter declares.

The core reads ``capabilities`` instead of exchange names, so the record must tell the truth
about the adapter: every flag that announces an optional method has that method, the record the
registry gives without the SDK is the very one the adapter class carries, and the figures match
the adapter code that enforces them.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields

import pytest

from dustsweep.exchanges import EXCHANGES, capabilities_of
from dustsweep.exchanges.base import Capabilities, OrderPacing
from dustsweep.exchanges.binance.adapter import BinanceExchange
from dustsweep.exchanges.bybit.adapter import BybitExchange

ADAPTERS = {"binance": BinanceExchange, "bybit": BybitExchange}
# flag -> the optional methods of ``base.Exchange`` it announces
METHODS = {
    "notional_price": ("notional_price",),
    "previews_in_batches": ("preview_conversion_all",),
    "quotes_exact_assets": ("quote_conversion",),
    "finds_conversion": ("find_conversion",),
    "conversion_log": ("conversions_since",),
    "rfq_convert": ("convert_pairs", "convert_quote", "convert_accept", "convert_status"),
    "rfq_status_by_quote": ("convert_status_by_quote",),
}


def test_every_registered_exchange_has_an_adapter_and_nothing_else() -> None:
    assert set(EXCHANGES) == set(ADAPTERS)


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_the_registry_gives_the_record_the_adapter_declares(name: str) -> None:
    adapter = ADAPTERS[name]
    assert capabilities_of(name) is adapter.capabilities
    assert isinstance(adapter.capabilities, Capabilities)
    assert EXCHANGES[name].adapter == f"{adapter.__module__}:{adapter.__qualname__}"
    assert adapter.name == name
    # the old attributes, kept until their consumers read the record
    assert adapter.native_targets == adapter.capabilities.native_targets
    assert adapter.convertible_target == adapter.capabilities.eligibility_target


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_a_flag_is_set_exactly_when_the_adapter_has_its_methods(name: str) -> None:
    adapter, caps = ADAPTERS[name], capabilities_of(name)
    for flag, methods in METHODS.items():
        present = [callable(getattr(adapter, m, None)) for m in methods]
        assert all(present) == getattr(caps, flag), (name, flag)
        assert any(present) == all(present), (name, flag)


def test_unknown_exchanges_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown exchange 'kraken'"):
        capabilities_of("kraken")


def test_the_declared_figures() -> None:
    binance, bybit = capabilities_of("binance"), capabilities_of("bybit")
    assert binance.order_pacing is None
    assert (binance.conversion_cooldown, binance.key_files) == (True, True)
    assert binance.eligibility_target == "BNB" and binance.native_targets == ()
    assert bybit.order_pacing == OrderPacing(orders=18, window_s=1.0)
    assert bybit.native_targets == ("MNT", "USDT", "USDC")
    assert (bybit.conversion_batch_limit, bybit.conversion_quote_ttl_ms) == (20, 30_000)
    assert (bybit.conversion_cooldown, bybit.key_files) == (False, False)
    assert {binance.ban_default_s, bybit.ban_default_s} == {600.0}
    assert {f.name for f in fields(Capabilities)} >= set(METHODS)


def test_reading_capabilities_imports_no_sdk() -> None:
    probe = (
        "import sys\n"
        "from dustsweep.exchanges import EXCHANGES, capabilities_of\n"
        "[capabilities_of(n) for n in EXCHANGES]\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'binance', 'pybit', 'requests'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_the_config_names_exactly_the_registered_exchanges() -> None:
    """The config schema checks ``exchange`` against ``names.EXCHANGE_NAMES`` (no registry
    import there): it must list every adapter the registry opens, in the same order."""
    from dustsweep.exchanges import EXCHANGES
    from dustsweep.exchanges.names import EXCHANGE_NAMES

    assert tuple(EXCHANGES) == EXCHANGE_NAMES
