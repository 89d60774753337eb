"""One simulated Bybit UTA account: keys, wallet, borrow, fees, permissions, and its records.

Balances live in a core ``Wallet`` so tests read them the same way for both exchanges:
``wallet.free`` is walletBalance - locked (what open orders do not hold) and ``wallet.locked`` is
``locked``. ``spot_borrow`` is kept apart because Bybit's walletBalance *includes* borrowed
coins (manual-borrow change, 2025): what may really be sold is walletBalance - locked -
spotBorrow, and a sale must never borrow.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dustsweep.sim.bybit.wire import ZERO, num
from dustsweep.sim.core import Wallet

if TYPE_CHECKING:
    from dustsweep.sim.bybit.order_model import BybitOrder, Execution
    from dustsweep.sim.bybit.smallbalance import SmallBalanceRecord

ACCOUNT_KEYS = frozenset(
    {"name", "api_key", "api_secret", "balances", "permissions", "fee_rate", "account_info"}
)

# GET /v5/user/query-api for a key made for a dust sweeper (bybit-api.md §7).
DEFAULT_KEY_INFO: dict[str, Any] = {
    "id": "2208369",
    "note": "sim",
    "apiKey": "",
    "readOnly": 0,
    "secret": "",
    "permissions": {
        "ContractTrade": [],
        "Spot": ["SpotTrade"],
        "Wallet": ["AccountTransfer"],
        "Options": [],
        "Derivatives": [],
        "CopyTrading": [],
        "BlockTrade": [],
        "Exchange": ["ExchangeHistory"],
        "NFT": [],
        "Affiliate": [],
        "Earn": [],
    },
    "ips": ["*"],
    "type": 1,
    "deadlineDay": 83,
    "expiredAt": "2026-12-31T00:00:00Z",
    "createdAt": "2025-10-13T03:20:45Z",
    "unified": 0,
    "uta": 1,
    "userID": 1448939,
    "inviterID": 0,
    "vipLevel": "No VIP",
    "mktMakerLevel": "0",
    "affiliateID": 0,
    "rsaPublicKey": "",
    "isMaster": True,
    "parentUid": "0",
    "kycLevel": "LEVEL_1",
    "kycRegion": "MYS",
}

DEFAULT_ACCOUNT_INFO: dict[str, Any] = {
    "marginMode": "REGULAR_MARGIN",
    "updatedTime": "1697078946000",
    "unifiedMarginStatus": 5,
    "dcpStatus": "OFF",
    "timeWindow": 0,
    "smpGroup": 0,
    "isMasterTrader": False,
    "spotHedgingStatus": "OFF",
}


@dataclass
class SimAccount:
    """Everything the exchange knows about one account; tests inspect it directly."""

    name: str
    api_key: str
    api_secret: str
    wallet: Wallet
    spot_borrow: dict[str, Decimal] = field(default_factory=dict)
    fee_rate: Decimal = Decimal("0.001")
    key_info: dict[str, Any] = field(default_factory=dict)
    account_info: dict[str, Any] = field(default_factory=dict)
    orders: list[BybitOrder] = field(default_factory=list)
    executions: list[Execution] = field(default_factory=list)
    conversions: list[SmallBalanceRecord] = field(default_factory=list)
    link_ids: set[str] = field(default_factory=set)
    user_id: int = 1448939

    @classmethod
    def from_scenario(cls, entry: Mapping[str, Any], index: int = 0) -> SimAccount:
        unknown = set(entry) - ACCOUNT_KEYS
        if unknown:
            raise ValueError(
                f"bybit account: unknown keys {sorted(unknown)}; allowed {sorted(ACCOUNT_KEYS)}"
            )
        wallet = Wallet()
        borrow: dict[str, Decimal] = {}
        for coin, value in dict(entry.get("balances") or {}).items():
            free, locked, spot_borrow = _parse_balance(coin, value)
            wallet.set(coin, free, locked)
            if spot_borrow:
                borrow[coin] = spot_borrow
        key_info = copy.deepcopy(DEFAULT_KEY_INFO)
        for key, value in dict(entry.get("permissions") or {}).items():
            if key == "permissions" and isinstance(value, Mapping):
                key_info["permissions"].update(copy.deepcopy(dict(value)))
            else:
                key_info[key] = copy.deepcopy(value)
        user_id = 1448939 + index
        key_info["apiKey"] = str(entry["api_key"])
        key_info["userID"] = user_id
        info = copy.deepcopy(DEFAULT_ACCOUNT_INFO)
        info.update(dict(entry.get("account_info") or {}))
        return cls(
            name=str(entry.get("name", f"account{index + 1}")),
            api_key=str(entry["api_key"]),
            api_secret=str(entry["api_secret"]),
            wallet=wallet,
            spot_borrow=borrow,
            fee_rate=Decimal(str(entry.get("fee_rate", "0.001"))),
            key_info=key_info,
            account_info=info,
            user_id=user_id,
        )

    # ----- balances ----------------------------------------------------------------------------

    def wallet_balance(self, coin: str) -> Decimal:
        """Bybit's walletBalance: what open orders hold included, borrowed coins included."""
        free, locked = self.wallet.get(coin)
        return free + locked

    def available(self, coin: str) -> Decimal:
        """walletBalance - locked - spotBorrow, never below zero: what may be sold now."""
        free, _locked = self.wallet.get(coin)
        return max(ZERO, free - self.spot_borrow.get(coin, ZERO))

    def coins(self) -> list[str]:
        return sorted(set(self.wallet.assets()) | set(self.spot_borrow))

    # ----- permissions -------------------------------------------------------------------------

    def can(self, group: str | None, permission: str | None, write: bool) -> bool:
        """Whether this key may call an endpoint that needs ``permission`` in ``group``."""
        if write and int(self.key_info.get("readOnly", 0)) != 0:
            return False
        if group is None or permission is None:
            return True
        granted = self.key_info.get("permissions", {}).get(group) or []
        return permission in granted


def _parse_balance(coin: str, value: Any) -> tuple[Decimal, Decimal, Decimal]:
    """(free, locked, spotBorrow) from "1.2", {"free","locked"} or {"walletBalance",...}."""
    if not isinstance(value, Mapping):
        return Decimal(str(value)), ZERO, ZERO
    allowed = {"free", "locked", "walletBalance", "spotBorrow"}
    unknown = set(value) - allowed
    if unknown:
        raise ValueError(f"bybit balance {coin}: unknown keys {sorted(unknown)}")
    locked = Decimal(str(value.get("locked", "0")))
    borrow = Decimal(str(value.get("spotBorrow", "0")))
    if "walletBalance" in value:
        free = Decimal(str(value["walletBalance"])) - locked
        if free < 0:
            raise ValueError(f"bybit balance {coin}: locked exceeds walletBalance")
    else:
        free = Decimal(str(value.get("free", "0")))
    return free, locked, borrow


def coin_row(account: SimAccount, coin: str, usd_price: Decimal | None) -> dict[str, Any]:
    """One ``coin[]`` row of wallet-balance in the real field set (bybit-api.md §3.1)."""
    wallet_balance = account.wallet_balance(coin)
    borrow = account.spot_borrow.get(coin, ZERO)
    _free, locked = account.wallet.get(coin)
    equity = wallet_balance - borrow
    usd_value = equity * usd_price if usd_price is not None else ZERO
    return {
        "availableToBorrow": "",
        "bonus": "0",
        "accruedInterest": "0",
        "availableToWithdraw": "",
        "totalOrderIM": "0",
        "equity": num(equity),
        "totalPositionMM": "0",
        "usdValue": num(usd_value),
        "spotHedgingQty": "0",
        "unrealisedPnl": "0",
        "collateralSwitch": True,
        "borrowAmount": num(borrow),
        "totalPositionIM": "0",
        "walletBalance": num(wallet_balance),
        "cumRealisedPnl": "0",
        "locked": num(locked),
        "marginCollateral": True,
        "coin": coin,
        "spotBorrow": num(borrow),
        "colRes": "0",
        "free": "",
    }


def wallet_result(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``result`` of wallet-balance: one UNIFIED entry with USD totals over ``rows``."""
    total = sum((Decimal(r["usdValue"]) for r in rows), ZERO)
    return {
        "list": [
            {
                "totalEquity": num(total),
                "accountIMRate": "0",
                "accountIMRateByMp": "0",
                "totalMarginBalance": num(total),
                "totalInitialMargin": "0",
                "totalInitialMarginByMp": "0",
                "accountType": "UNIFIED",
                "totalAvailableBalance": num(total),
                "accountMMRate": "0",
                "accountMMRateByMp": "0",
                "totalPerpUPL": "0",
                "totalWalletBalance": num(total),
                "accountLTV": "0",
                "totalMaintenanceMargin": "0",
                "totalMaintenanceMarginByMp": "0",
                "coin": rows,
            }
        ]
    }
