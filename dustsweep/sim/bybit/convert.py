"""Bybit regular Convert ("coin exchange", /v5/asset/exchange/*), bybit-api.md §6.1.

Not a dust tool on the real exchange: its per-request minimum (``singleFromMinLimit``) is far
above dust size. The simulator keeps that rule (scenario ``conversion.single_from_min_value``,
default 10 USDT worth) so a client that tries it on dust meets 700006 as it would on Bybit.
Quotes live 15 s; execution is asynchronous like the small-balance flow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal
from typing import Any

from dustsweep.sim.bybit.accounts import SimAccount
from dustsweep.sim.bybit.conversion_rules import FUNDING, UTA, ConversionRules, convert_error
from dustsweep.sim.bybit.market import BybitMarket
from dustsweep.sim.bybit.wire import BybitError, IdMaker, num, parse_amount, quantize_down

ACCURACY = 8


@dataclass
class ConvertQuote:
    quote_tx_id: str
    account: str
    from_coin: str
    to_coin: str
    from_amount: Decimal
    to_amount: Decimal
    rate: Decimal
    expire_ms: int
    request_id: str
    used: bool = False


@dataclass
class ConvertRecord:
    quote: ConvertQuote
    created_ms: int
    settle_at_ms: int
    polls_left: int
    status: str = "processing"

    def observe(self, now: int) -> None:
        if self.status == "processing" and (now >= self.settle_at_ms or self.polls_left <= 0):
            self.status = "success"
        self.polls_left -= 1

    def to_json(self, user_id: int) -> dict[str, Any]:
        q = self.quote
        return {
            "accountType": UTA,
            "exchangeTxId": q.quote_tx_id,
            "userId": str(user_id),
            "fromCoin": q.from_coin,
            "fromCoinType": "crypto",
            "fromAmount": num(q.from_amount),
            "toCoin": q.to_coin,
            "toCoinType": "crypto",
            "toAmount": num(q.to_amount),
            "exchangeStatus": self.status,
            "extInfo": {},
            "convertRate": num(q.rate),
            "createdAt": str(self.created_ms),
        }


class CoinExchange:
    """query-coin-list, quote-apply, convert-execute, convert-result-query, history."""

    def __init__(self, market: BybitMarket, rules: ConversionRules, ids: IdMaker) -> None:
        self.market = market
        self.rules = rules
        self.ids = ids
        self.quotes: dict[str, ConvertQuote] = {}
        self.records: dict[str, list[ConvertRecord]] = {}

    def _usd(self, coin: str) -> Decimal | None:
        return self.market.usd_value(coin, self.rules.usd_prices)

    def _limit(self, value: Decimal, price: Decimal) -> str:
        amount = (value / price).quantize(Decimal(1).scaleb(-ACCURACY), rounding=ROUND_UP)
        return num(amount)

    def _coin_row(self, account: SimAccount, coin: str, price: Decimal) -> dict[str, Any]:
        balance = account.available(coin)
        return {
            "coin": coin,
            "fullName": coin,
            "icon": "",
            "iconNight": "",
            "accuracyLength": ACCURACY,
            "coinType": "crypto",
            "balance": num(balance),
            "uBalance": num(balance * price),
            "timePeriod": 0,
            "singleFromMinLimit": self._limit(self.rules.single_from_min_value, price),
            "singleFromMaxLimit": self._limit(self.rules.single_from_max_value, price),
            "singleToMinLimit": "0",
            "singleToMaxLimit": "0",
            "dailyFromMinLimit": "0",
            "dailyFromMaxLimit": "0",
            "dailyToMinLimit": "0",
            "dailyToMaxLimit": "0",
            "disableFrom": False,
            "disableTo": False,
        }

    def coin_list(self, account: SimAccount, params: Mapping[str, str]) -> dict[str, Any]:
        account_type = params.get("accountType")
        if account_type not in (UTA, FUNDING):
            raise convert_error(700000)
        if account_type == FUNDING:
            return {"coins": []}
        if (params.get("side") or "0") == "0":
            coins = [c for c in account.coins() if account.available(c) > 0]
        else:
            known = {
                str(i[k])
                for i in self.market.instruments.values()
                for k in ("baseCoin", "quoteCoin")
            }
            coins = sorted(known - {params.get("coin") or ""})
        rows = []
        for coin in coins:
            price = self._usd(coin)
            if price:
                rows.append(self._coin_row(account, coin, price))
        return {"coins": rows}

    def quote_apply(
        self, account: SimAccount, params: Mapping[str, Any], now: int
    ) -> dict[str, Any]:
        for key in ("accountType", "fromCoin", "toCoin", "requestCoin", "requestAmount"):
            if not params.get(key):
                raise convert_error(700000)
        if params["accountType"] not in (UTA, FUNDING):
            raise convert_error(700000)
        from_coin, to_coin = str(params["fromCoin"]), str(params["toCoin"])
        if str(params["requestCoin"]) != from_coin:
            raise convert_error(700002)
        if from_coin == to_coin:
            raise convert_error(700000)
        from_price, to_price = self._usd(from_coin), self._usd(to_coin)
        if not from_price or not to_price:
            raise convert_error(700013)
        try:
            amount = parse_amount(params["requestAmount"], "requestAmount")
        except BybitError as exc:
            raise convert_error(700000) from exc
        if amount * from_price < self.rules.single_from_min_value:
            raise convert_error(700006)
        if amount * from_price > self.rules.single_from_max_value:
            raise convert_error(700007)
        if params["accountType"] == FUNDING or amount > account.available(from_coin):
            raise convert_error(700005)
        rate = quantize_down(from_price / to_price * (1 - self.rules.convert_spread), 18)
        quote = ConvertQuote(
            quote_tx_id=self.ids.quote_id(now),
            account=account.name,
            from_coin=from_coin,
            to_coin=to_coin,
            from_amount=amount,
            to_amount=quantize_down(amount * rate, 18),
            rate=rate,
            expire_ms=now + self.rules.convert_quote_ttl_ms,
            request_id=str(params.get("requestId") or ""),
        )
        self.quotes[quote.quote_tx_id] = quote
        return {
            "quoteTxId": quote.quote_tx_id,
            "exchangeRate": num(rate),
            "fromCoin": from_coin,
            "fromCoinType": "crypto",
            "toCoin": to_coin,
            "toCoinType": "crypto",
            "fromAmount": num(amount),
            "toAmount": num(quote.to_amount),
            "expiredTime": str(quote.expire_ms),
            "requestId": quote.request_id,
            "extTaxAndFee": [],
        }

    def execute(self, account: SimAccount, params: Mapping[str, Any], now: int) -> dict[str, Any]:
        quote = self.quotes.get(str(params.get("quoteTxId") or ""))
        if quote is None:
            raise convert_error(700004)
        if quote.account != account.name:
            raise convert_error(700011)
        if quote.used:
            raise convert_error(700009)
        if now > quote.expire_ms:
            raise convert_error(700008)
        if quote.from_amount > account.available(quote.from_coin):
            raise convert_error(700005)
        quote.used = True
        with account.wallet.lock:
            account.wallet.debit(quote.from_coin, quote.from_amount)
            account.wallet.credit(quote.to_coin, quote.to_amount)
        record = ConvertRecord(quote, now, now + self.rules.settle_ms, self.rules.processing_polls)
        self.records.setdefault(account.name, []).append(record)
        return {"exchangeStatus": "processing", "quoteTxId": quote.quote_tx_id}

    def result(self, account: SimAccount, params: Mapping[str, str], now: int) -> dict[str, Any]:
        if not params.get("quoteTxId") or not params.get("accountType"):
            raise convert_error(700000)
        for record in self.records.get(account.name, []):
            if record.quote.quote_tx_id == params["quoteTxId"] and params["accountType"] == UTA:
                record.observe(now)
                return {"result": record.to_json(account.user_id)}
        raise convert_error(700004)

    def history(self, account: SimAccount, params: Mapping[str, str], now: int) -> dict[str, Any]:
        types = set((params.get("accountType") or UTA).split(","))
        try:
            index = int(params.get("index") or 1)
            limit = int(params.get("limit") or 20)
        except ValueError as exc:
            raise convert_error(700000) from exc
        if index < 1 or not 1 <= limit <= 100:
            raise convert_error(700000)
        rows = list(self.records.get(account.name, [])) if UTA in types else []
        rows.sort(key=lambda r: r.created_ms, reverse=True)
        chunk = rows[(index - 1) * limit : index * limit]
        for record in chunk:
            record.observe(now)
        return {"list": [r.to_json(account.user_id) for r in chunk]}
