"""Small-balance conversion of the Binance dialect: dust->BNB and the newer dust-convert.

Both kinds share one cool-down per account and one log (``GET /sapi/v1/asset/dribblet``).
Eligibility follows binance-api.md §7: a free balance worth less than a threshold, priced,
not delisted, not the target itself. One ineligible asset fails the whole batch, as on the
real exchange, so a client must pass only what the preview listed.

Uncertain points, decided here: the preview never lists an asset the conversion would then
refuse (e.g. one worth less than the smallest BNB unit after the fee); for dust-convert the
ceiling is ``dribbletBase`` (10) in the quota asset (USDT), and its -5004 text names that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dustsweep.sim.binance.accounts import BinanceAccount
from dustsweep.sim.binance.market import MarketBook
from dustsweep.sim.binance.wire import (
    ZERO,
    BinanceError,
    fixed,
    floor_places,
    int_param,
    mandatory,
    plain,
    to_decimal,
)
from dustsweep.sim.core import SimClock

CONVERSION_KEYS = frozenset(
    {
        "fee_rate",
        "max_value",
        "cooldown_hours",
        "targets",
        "ineligible",
        "dribblet_base",
        "log_dust_convert",
    }
)
DEFAULT_TARGETS = ("BNB", "USDT", "USDC", "BTC", "ETH", "FDUSD")
QUOTA_ASSET = "USDT"  # the USD-like unit dust-convert values assets in (dribbletBase "10")
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class DustRules:
    """The scenario's ``conversion`` section."""

    fee_rate: Decimal = Decimal("0.02")
    max_btc: Decimal = Decimal("0.001")
    cooldown_ms: int = 6 * HOUR_MS
    targets: tuple[str, ...] = DEFAULT_TARGETS
    ineligible: frozenset[str] = frozenset()
    dribblet_base: Decimal = Decimal(10)
    # Binance does not document whether dust-convert conversions reach the dribblet log: False
    # leaves them out (the client must then settle a lost answer from the balances).
    log_dust_convert: bool = True

    @classmethod
    def from_scenario(cls, raw: Mapping[str, Any]) -> DustRules:
        unknown = set(raw) - CONVERSION_KEYS
        if unknown:
            raise ValueError(f"binance conversion: unknown keys {sorted(unknown)}")
        return cls(
            fee_rate=to_decimal(raw.get("fee_rate", "0.02"), "conversion.fee_rate"),
            max_btc=to_decimal(raw.get("max_value", "0.001"), "conversion.max_value"),
            cooldown_ms=int(Decimal(str(raw.get("cooldown_hours", 6))) * HOUR_MS),
            targets=tuple(str(t) for t in raw.get("targets", DEFAULT_TARGETS)),
            ineligible=frozenset(str(a) for a in raw.get("ineligible", ())),
            dribblet_base=to_decimal(raw.get("dribblet_base", 10), "conversion.dribblet_base"),
            log_dust_convert=bool(raw.get("log_dust_convert", True)),
        )


@dataclass(frozen=True)
class DustLine:
    """One asset's conversion: ``amount`` of ``asset`` -> ``gross`` target, ``fee``, ``net``."""

    asset: str
    amount: Decimal
    value: Decimal  # in BTC (dust->BNB) or in the quota asset (dust-convert)
    gross: Decimal
    fee: Decimal

    @property
    def net(self) -> Decimal:
        return self.gross - self.fee


class DustDesk:
    """Previews, converts and logs small balances for every account."""

    def __init__(self, market: MarketBook, clock: SimClock, rules: DustRules) -> None:
        self.market = market
        self.clock = clock
        self.rules = rules
        self._next_tran_id = 2970932917
        self._next_batch_id = 45178372830

    # ---- eligibility -------------------------------------------------------------------------

    def line(self, account: BinanceAccount, asset: str, target: str | None) -> DustLine:
        """The conversion of ``asset`` into BNB (``target`` None: classic dust) or ``target``;
        raises the -500x error that would reject it."""
        free, locked = account.wallet.get(asset)
        if free <= 0:
            if locked > 0:
                raise BinanceError(-5002, "You have insufficient balance.")
            raise BinanceError(-5003, "You don't have this asset.")
        to_asset = target or "BNB"
        if asset == to_asset or asset in self.rules.ineligible:
            raise BinanceError(-5001, "Don't allow transfer to micro assets.")
        unit = "BTC" if target is None else QUOTA_ASSET
        ceiling = self.rules.max_btc if target is None else self.rules.dribblet_base
        unit_rate = self.market.rate(asset, unit)
        target_rate = self.market.rate(asset, to_asset)
        if unit_rate is None or target_rate is None:
            raise BinanceError(-5001, "Don't allow transfer to micro assets.")
        value = free * unit_rate
        if value >= ceiling:
            raise BinanceError(
                -5004,
                f"The residual balances of {asset} have exceeded {plain(ceiling)}{unit}, "
                "Please re-choose.",
            )
        gross = floor_places(free * target_rate)
        fee = floor_places(gross * self.rules.fee_rate)
        if gross - fee <= 0:
            raise BinanceError(
                -5005, f"The residual balances of {asset} is too low, Please re-choose."
            )
        return DustLine(asset, free, value, gross, fee)

    def _eligible(self, account: BinanceAccount, target: str | None) -> list[DustLine]:
        lines = []
        for asset in account.wallet.assets():
            try:
                lines.append(self.line(account, asset, target))
            except BinanceError:
                continue
        return lines

    # ---- classic dust -> BNB -----------------------------------------------------------------

    def dust_btc(self, account: BinanceAccount) -> dict[str, Any]:
        """POST /sapi/v1/asset/dust-btc: every small balance, USDT included, BNB excluded."""
        lines = self._eligible(account, None)
        return {
            "details": [
                {
                    "asset": line.asset,
                    "assetFullName": line.asset,
                    "amountFree": plain(line.amount),
                    "toBTC": fixed(line.value),
                    "toBNB": fixed(line.gross),
                    "toBNBOffExchange": fixed(line.net),
                    "exchange": fixed(line.fee),
                }
                for line in lines
            ],
            "totalTransferBtc": fixed(sum((floor_places(x.value) for x in lines), ZERO)),
            "totalTransferBNB": fixed(sum((x.gross for x in lines), ZERO)),
            "dribbletPercentage": plain(self.rules.fee_rate),
        }

    def dust(self, account: BinanceAccount, assets: Sequence[str]) -> dict[str, Any]:
        """POST /sapi/v1/asset/dust: all or nothing, once per cool-down."""
        return self._transfer(account, assets, None, fixed)

    # ---- dust-convert (any target) -----------------------------------------------------------

    def check_target(self, params: Mapping[str, str], *, default: str | None = None) -> str:
        """The targetAsset, or -1102 when missing or not a supported target.

        Binance documents no error for an unsupported target; -1102 ("... malformed.") is the
        generic answer Binance gives for a parameter value it will not take.
        """
        target = params.get("targetAsset") or default
        if not target or target not in self.rules.targets:
            raise mandatory("targetAsset")
        return target

    def query_convertible(self, account: BinanceAccount, target: str) -> dict[str, Any]:
        """POST /sapi/v1/asset/dust-convert/query-convertible-assets (BNB may be listed)."""
        lines = self._eligible(account, target)
        return {
            "details": [
                {
                    "asset": line.asset,
                    "assetFullName": line.asset,
                    "amountFree": plain(line.amount),
                    "exchange": plain(line.fee),
                    "toQuotaAssetAmount": plain(floor_places(line.value)),
                    "toTargetAssetAmount": plain(line.gross),
                    "toTargetAssetOffExchange": plain(line.net),
                }
                for line in lines
            ],
            "totalTransferQuotaAssetAmount": plain(
                sum((floor_places(x.value) for x in lines), ZERO)
            ),
            "totalTransferTargetAssetAmount": plain(sum((x.gross for x in lines), ZERO)),
            "dribbletPercentage": plain(self.rules.fee_rate),
            "dribbletBase": plain(self.rules.dribblet_base),
        }

    def convert(
        self, account: BinanceAccount, assets: Sequence[str], target: str, client_id: str | None
    ) -> dict[str, Any]:
        """POST /sapi/v1/asset/dust-convert/convert; a repeated clientId answers the first
        result again without converting twice."""
        if client_id and client_id in account.dust_convert_results:
            return account.dust_convert_results[client_id]
        body = self._transfer(account, assets, target, plain)
        if client_id:
            account.dust_convert_results[client_id] = body
        return body

    # ---- shared transfer and log -------------------------------------------------------------

    def _transfer(
        self,
        account: BinanceAccount,
        assets: Sequence[str],
        target: str | None,
        text: Callable[[Decimal], str],
    ) -> dict[str, Any]:
        """Convert every asset or none; ``text`` writes amounts as that endpoint does."""
        if not assets:
            raise mandatory("asset")
        now = self.clock.now_ms()
        last = account.last_dust_ms
        if last is not None and now - last < self.rules.cooldown_ms:
            raise BinanceError(-5006, "Only transfer once in 24 hours.")
        to_asset = target or "BNB"
        with account.wallet.lock:
            lines = [self.line(account, asset, target) for asset in assets]
            for line in lines:
                account.wallet.debit(line.asset, line.amount)
            account.wallet.credit(to_asset, sum((x.net for x in lines), ZERO))
        account.last_dust_ms = now
        account.update_ms = now
        results = []
        for line in lines:
            self._next_tran_id += 1
            results.append((self._next_tran_id, line))
        if target is None or self.rules.log_dust_convert:
            self._log(account, results, to_asset, now)
        return {
            "totalServiceCharge": text(sum((x.fee for x in lines), ZERO)),
            "totalTransfered": text(sum((x.net for x in lines), ZERO)),
            "transferResult": [
                {
                    "amount": text(line.amount),
                    "fromAsset": line.asset,
                    "operateTime": now,
                    "serviceChargeAmount": text(line.fee),
                    "tranId": tran_id,
                    "transferedAmount": text(line.net),
                }
                for tran_id, line in results
            ],
        }

    def _log(
        self,
        account: BinanceAccount,
        results: Sequence[tuple[int, DustLine]],
        to_asset: str,
        now: int,
    ) -> None:
        self._next_batch_id += 1
        account.dribblets.append(
            {
                "operateTime": now,
                "totalTransferedAmount": fixed(sum((x.net for _, x in results), ZERO)),
                "totalServiceChargeAmount": fixed(sum((x.fee for _, x in results), ZERO)),
                "transId": self._next_batch_id,
                "userAssetDribbletDetails": [
                    {
                        "transId": tran_id,
                        "serviceChargeAmount": plain(line.fee),
                        "amount": plain(line.amount),
                        "operateTime": now,
                        "transferedAmount": plain(line.net),
                        "fromAsset": line.asset,
                        "targetAsset": to_asset,
                    }
                    for tran_id, line in results
                ],
            }
        )

    def dribblet(self, account: BinanceAccount, params: Mapping[str, str]) -> dict[str, Any]:
        """GET /sapi/v1/asset/dribblet: the last 100 conversions, newest first."""
        start = int_param(params, "startTime")
        end = int_param(params, "endTime")
        rows = [
            row
            for row in sorted(account.dribblets, key=lambda r: -int(r["operateTime"]))
            if (start is None or row["operateTime"] >= start)
            and (end is None or row["operateTime"] <= end)
        ][:100]
        return {"total": len(rows), "userAssetDribblets": rows}
