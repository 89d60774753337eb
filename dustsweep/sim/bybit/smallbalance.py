"""Bybit "Convert Small Balances" (/v5/asset/covert/*, the path typo is Bybit's own).

Flow as documented (bybit-api.md §6.2): list the small coins, get a quote for up to 20 of them
into MNT/USDT/USDC (valid 30 s, 2 % fee in the target coin), execute it. Execution is
asynchronous: the execute call only says ``processing``; balances move at once, but the history
record turns final (``success`` / ``failure`` / ``partial_fulfillment``) only after a later
history query or after ``settle_ms`` of simulator time, so a client has to poll as on Bybit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dustsweep.sim.bybit.accounts import SimAccount
from dustsweep.sim.bybit.conversion_rules import FUNDING, UTA, ConversionRules, convert_error
from dustsweep.sim.bybit.market import BybitMarket
from dustsweep.sim.bybit.wire import ZERO, IdMaker, num, quantize_down

NOT_LISTED = frozenset({"USDT", "USDC"})  # never offered as small balances
_NO_TAX = {"totalAmount": "0", "feeCoin": "", "taxFeeItems": []}


@dataclass
class QuoteLine:
    from_coin: str
    support: int  # 1 convertible, 2 not
    amount: Decimal
    base_value: Decimal
    to_amount: Decimal = ZERO
    fee: Decimal = ZERO
    rate: Decimal = ZERO


@dataclass
class SmallBalanceQuote:
    quote_id: str
    account: str
    to_coin: str
    lines: list[QuoteLine]
    created_ms: int
    expire_ms: int
    used: bool = False


@dataclass
class SubRecord:
    from_coin: str
    from_amount: Decimal
    to_coin: str
    to_amount: Decimal
    fee: Decimal
    status: str  # success | failure


@dataclass
class SmallBalanceRecord:
    """One executed conversion as small-balance-history reports it."""

    tx_id: str
    to_coin: str
    subs: list[SubRecord]
    created_ms: int
    final_status: str
    settle_at_ms: int
    polls_left: int
    status: str = "processing"

    def observe(self, now: int) -> None:
        """A history query looked at this record: settle it when its time has come."""
        if self.status == "processing" and (now >= self.settle_at_ms or self.polls_left <= 0):
            self.status = self.final_status
        self.polls_left -= 1

    def to_json(self) -> dict[str, Any]:
        final = self.status != "processing"
        done = [s for s in self.subs if s.status == "success"] if final else []
        fee_total = sum((s.fee for s in done), ZERO)
        return {
            "accountType": UTA,
            "exchangeTxId": self.tx_id,
            "toCoin": self.to_coin,
            "toAmount": num(sum((s.to_amount for s in done), ZERO)),
            "subRecords": [
                {
                    "fromCoin": s.from_coin,
                    "fromAmount": num(s.from_amount),
                    "toCoin": s.to_coin,
                    "toAmount": num(s.to_amount) if final and s.status == "success" else "0",
                    "feeCoin": s.to_coin,
                    "feeAmount": num(s.fee) if final and s.status == "success" else "0",
                    "status": s.status if final else "processing",
                    "taxFeeInfo": dict(_NO_TAX),
                }
                for s in self.subs
            ],
            "status": self.status,
            "createdAt": str(self.created_ms // 1000 * 1000),
            "exchangeSource": "small_asset_uta",
            "feeCoin": self.to_coin,
            "totalFeeAmount": num(fee_total),
            "totalTaxFeeInfo": dict(_NO_TAX),
        }


class SmallBalanceConverter:
    """The four small-balance endpoints over the market (values) and the accounts."""

    def __init__(self, market: BybitMarket, rules: ConversionRules, ids: IdMaker) -> None:
        self.market = market
        self.rules = rules
        self.ids = ids
        self.quotes: dict[str, SmallBalanceQuote] = {}

    def usd(self, coin: str) -> Decimal | None:
        return self.market.usd_value(coin, self.rules.usd_prices)

    def _line(self, account: SimAccount, coin: str, to_coin: str | None) -> QuoteLine | None:
        """The quote line for one coin; None when the coin is not small (or not held)."""
        amount = account.available(coin)
        if amount <= 0 or coin in NOT_LISTED:
            return None
        price = self.usd(coin)
        value = amount * price if price is not None else ZERO
        if value >= self.rules.max_value:
            return None
        support = 1 if price is not None and coin not in self.rules.ineligible else 2
        line = QuoteLine(coin, support, amount, quantize_down(value, 18))
        to_price = self.usd(to_coin) if to_coin else None
        if support == 1 and to_price:
            gross = value / to_price
            line.fee = quantize_down(gross * self.rules.fee_rate, 18)
            line.to_amount = quantize_down(gross - line.fee, 18)
            line.rate = quantize_down(line.to_amount / amount, 18)
        return line

    def _check_cooldown(self, account: SimAccount, now: int) -> None:
        for record in account.conversions:
            if record.status == "processing" and now < record.settle_at_ms:
                raise convert_error(700021)
            if self.rules.cooldown_ms and now - record.created_ms < self.rules.cooldown_ms:
                raise convert_error(700021)

    # ----- GET /v5/asset/covert/small-balance-list --------------------------------------------

    def coin_list(self, account: SimAccount, params: Mapping[str, str]) -> dict[str, Any]:
        account_type = params.get("accountType")
        if account_type not in (UTA, FUNDING):
            raise convert_error(700000)
        wanted = params.get("fromCoin") or ""
        lines = (
            []
            if account_type == FUNDING
            else [self._line(account, c, None) for c in account.coins()]
        )
        return {
            "smallAssetCoins": [
                {
                    "fromCoin": line.from_coin,
                    "supportConvert": line.support,
                    "availableBalance": num(line.amount),
                    "baseValue": num(line.base_value),
                    "toCoin": "",
                    "toAmount": "",
                    "exchangeRate": "",
                    "feeInfo": None,
                    "taxFeeInfo": None,
                }
                for line in lines
                if line is not None and wanted in ("", line.from_coin)
            ],
            "supportToCoins": list(self.rules.targets),
        }

    # ----- POST /v5/asset/covert/get-quote -----------------------------------------------------

    def get_quote(self, account: SimAccount, params: Mapping[str, Any], now: int) -> dict[str, Any]:
        account_type = params.get("accountType")
        if account_type == FUNDING:
            raise convert_error(700022)
        coins = params.get("fromCoinList")
        valid_list = isinstance(coins, list) and all(isinstance(c, str) and c for c in coins)
        if account_type != UTA or not valid_list or not coins:
            raise convert_error(700000)
        assert isinstance(coins, list)
        if len(coins) > self.rules.max_coins or len(set(coins)) != len(coins):
            raise convert_error(700000)
        to_coin = str(params.get("toCoin") or "")
        if to_coin not in self.rules.targets or self.usd(to_coin) is None:
            raise convert_error(700002)
        if to_coin in coins:
            raise convert_error(700000)
        self._check_cooldown(account, now)
        lines: list[QuoteLine] = []
        for coin in coins:
            line = self._line(account, coin, to_coin)
            if line is None and account.available(coin) <= 0:
                raise convert_error(700005)
            if line is None:  # held but not small: listed as not convertible
                amount = account.available(coin)
                line = QuoteLine(coin, 2, amount, quantize_down(amount * (self.usd(coin) or 0), 18))
            lines.append(line)
        total = sum((ln.base_value for ln in lines if ln.support == 1), ZERO)
        if total < self.rules.min_total:
            raise convert_error(700006)
        if total > self.rules.max_total:
            raise convert_error(700007)
        quote = SmallBalanceQuote(
            self.ids.quote_id(now), account.name, to_coin, lines, now, now + self.rules.quote_ttl_ms
        )
        self.quotes[quote.quote_id] = quote
        return {"quoteId": quote.quote_id, "result": self._quote_json(quote)}

    def _quote_json(self, quote: SmallBalanceQuote) -> dict[str, Any]:
        rate = num(self.rules.fee_rate)
        fee_total = sum((ln.fee for ln in quote.lines), ZERO)
        return {
            "quoteCreateTime": str(quote.created_ms),
            "quoteExpireTime": str(quote.expire_ms),
            "exchangeCoins": [
                {
                    "fromCoin": ln.from_coin,
                    "supportConvert": ln.support,
                    "availableBalance": num(ln.amount),
                    "baseValue": num(ln.base_value),
                    "toCoin": quote.to_coin,
                    "toAmount": num(ln.to_amount),
                    "exchangeRate": num(ln.rate),
                    "feeInfo": {"feeCoin": quote.to_coin, "amount": num(ln.fee), "feeRate": rate},
                    "taxFeeInfo": dict(_NO_TAX),
                }
                for ln in quote.lines
            ],
            "totalFeeInfo": {"feeCoin": quote.to_coin, "amount": num(fee_total), "feeRate": rate},
            "totalTaxFeeInfo": dict(_NO_TAX),
        }

    # ----- POST /v5/asset/covert/small-balance-execute -----------------------------------------

    def execute(self, account: SimAccount, params: Mapping[str, Any], now: int) -> dict[str, Any]:
        quote_id = str(params.get("quoteId") or "")
        if not quote_id:
            raise convert_error(700000)
        quote = self.quotes.get(quote_id)
        if quote is None:
            raise convert_error(700004)
        if quote.account != account.name:
            raise convert_error(700011)
        if quote.used:
            raise convert_error(700009)
        if now > quote.expire_ms:
            raise convert_error(700008)
        self._check_cooldown(account, now)
        quote.used = True
        subs = [
            self._convert_line(account, quote.to_coin, ln) for ln in quote.lines if ln.support == 1
        ]
        outcomes = {s.status for s in subs}
        final = (
            "success"
            if outcomes == {"success"}
            else "failure"
            if outcomes == {"failure"}
            else "partial_fulfillment"
        )
        record = SmallBalanceRecord(
            quote_id,
            quote.to_coin,
            subs,
            now,
            final,
            now + self.rules.settle_ms,
            self.rules.processing_polls,
        )
        account.conversions.append(record)
        return {
            "quoteId": quote_id,
            "exchangeTxId": quote_id,
            "submitTime": str(now),
            "status": "processing",
            "msg": "",
        }

    def _convert_line(self, account: SimAccount, to_coin: str, line: QuoteLine) -> SubRecord:
        """Move one coin; what changed since the quote converts less (Bybit: "the executed
        amount may be less than availableBalance")."""
        amount = min(line.amount, account.available(line.from_coin))
        if line.from_coin in self.rules.fail_coins or amount <= 0:
            return SubRecord(line.from_coin, line.amount, to_coin, ZERO, ZERO, "failure")
        to_amount, fee = line.to_amount, line.fee
        if amount != line.amount:
            to_amount = quantize_down(line.to_amount * amount / line.amount, 18)
            fee = quantize_down(line.fee * amount / line.amount, 18)
        with account.wallet.lock:
            account.wallet.debit(line.from_coin, amount)
            account.wallet.credit(to_coin, to_amount)
        return SubRecord(line.from_coin, amount, to_coin, to_amount, fee, "success")

    # ----- GET /v5/asset/covert/small-balance-history ------------------------------------------

    def history(self, account: SimAccount, params: Mapping[str, str], now: int) -> dict[str, Any]:
        account_type = params.get("accountType") or UTA
        if account_type not in (UTA, FUNDING):
            raise convert_error(700000)
        try:
            page = int(params.get("cursor") or 1)
            size = int(params.get("size") or 50)
            start = int(params.get("startTime") or 0)
            end = int(params.get("endTime") or 0)
        except ValueError as exc:
            raise convert_error(700000) from exc
        if page < 1 or not 1 <= size <= 100:
            raise convert_error(700000)
        quote_id = params.get("quoteId") or ""
        rows = [] if account_type == FUNDING else list(account.conversions)
        rows = [
            r
            for r in rows
            if (not quote_id or r.tx_id == quote_id)
            and r.created_ms >= start
            and (not end or r.created_ms <= end)
        ]
        rows.sort(key=lambda r: r.created_ms, reverse=True)
        chunk = rows[(page - 1) * size : page * size]
        for record in chunk:
            record.observe(now)
        return {
            "cursor": str(page),
            "size": str(size),
            "lastPage": str(max(1, -(-len(rows) // size))),
            "totalCount": str(len(rows)),
            "records": [r.to_json() for r in chunk],
        }
