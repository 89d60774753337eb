"""The scenario's ``conversion`` section, shared by both Bybit conversion routes.

Small-balance conversion (``smallbalance``, /v5/asset/covert/*) and the quote-based Convert
(``convert``, /v5/asset/exchange/*) read the same rules and answer with the same 7000xx codes
(bybit-api.md §6), so both live here rather than in either desk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dustsweep.sim.bybit.wire import ZERO, BybitError

UTA = "eb_convert_uta"
FUNDING = "eb_convert_funding"

CONVERSION_KEYS = frozenset(
    {
        "fee_rate",
        "max_value",
        "min_total",
        "max_total",
        "max_coins",
        "cooldown_hours",
        "targets",
        "ineligible",
        "fail_coins",
        "usd_prices",
        "settle_ms",
        "processing_polls",
        "quote_ttl_ms",
        "single_from_min_value",
        "single_from_max_value",
        "convert_spread",
        "convert_quote_ttl_ms",
    }
)


@dataclass
class ConversionRules:
    """Scenario ``conversion`` section (shared with the regular Convert endpoints)."""

    fee_rate: Decimal = Decimal("0.02")
    max_value: Decimal = Decimal(10)  # a coin is "small" below this USDT value
    min_total: Decimal = Decimal("0.00000001")
    max_total: Decimal = Decimal(200)
    max_coins: int = 20
    cooldown_ms: int = 0
    targets: tuple[str, ...] = ("MNT", "USDT", "USDC")
    ineligible: frozenset[str] = frozenset()
    fail_coins: frozenset[str] = frozenset()
    usd_prices: dict[str, Decimal] = field(default_factory=dict)
    settle_ms: int = 3000
    processing_polls: int = 1
    quote_ttl_ms: int = 30_000
    single_from_min_value: Decimal = Decimal(10)  # regular Convert: USDT value per request
    single_from_max_value: Decimal = Decimal(100_000)
    convert_spread: Decimal = ZERO
    convert_quote_ttl_ms: int = 15_000

    @classmethod
    def from_scenario(cls, raw: Mapping[str, Any] | None) -> ConversionRules:
        raw = dict(raw or {})
        unknown = set(raw) - CONVERSION_KEYS
        if unknown:
            allowed = sorted(CONVERSION_KEYS)
            raise ValueError(f"bybit conversion: unknown keys {sorted(unknown)}; allowed {allowed}")
        rules = cls()
        for key in ("fee_rate", "max_value", "min_total", "max_total", "convert_spread"):
            if key in raw:
                setattr(rules, key, Decimal(str(raw[key])))
        for key in ("single_from_min_value", "single_from_max_value"):
            if key in raw:
                setattr(rules, key, Decimal(str(raw[key])))
        for key in ("max_coins", "settle_ms", "processing_polls", "quote_ttl_ms"):
            if key in raw:
                setattr(rules, key, int(raw[key]))
        if "convert_quote_ttl_ms" in raw:
            rules.convert_quote_ttl_ms = int(raw["convert_quote_ttl_ms"])
        rules.cooldown_ms = int(Decimal(str(raw.get("cooldown_hours", 0))) * 3_600_000)
        if "targets" in raw:
            rules.targets = tuple(str(t) for t in raw["targets"])
        rules.ineligible = frozenset(str(c) for c in raw.get("ineligible", ()))
        rules.fail_coins = frozenset(str(c) for c in raw.get("fail_coins", ()))
        rules.usd_prices = {
            str(k): Decimal(str(v)) for k, v in (raw.get("usd_prices") or {}).items()
        }
        return rules


def convert_error(code: int) -> BybitError:
    messages = {
        700000: "params error",
        700002: "unsupported quote type",
        700004: "order not exist",
        700005: "balance insufficient",
        700006: "low amount limit",
        700007: "large amount limit",
        700008: "price timeout",
        700009: "quoteTxId already used",
        700011: "illegal operation",
        700013: "coin does not support convert",
        700021: "exist processing exchange order",
        700022: "operation not supported",
    }
    return BybitError(code, messages[code])
