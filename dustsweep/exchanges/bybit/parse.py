"""Bybit V5 payloads -> dustsweep domain types. Pure functions, no SDK, no I/O.

Kept apart from the adapter so every rule that turns Bybit's strings into money can be tested
against the real snapshots without a network. Anything malformed raises ``ValueError`` /
``KeyError`` / ``TypeError``; the adapter reports that as a ServerError (unknown answer).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from dustsweep.core.models import (
    ZERO,
    Balance,
    ConversionLine,
    ConversionPreview,
    ConversionResult,
    DustCandidate,
    MarketRules,
    OrderResult,
)
from dustsweep.exchanges.amounts import BadAmount
from dustsweep.exchanges.amounts import amount as checked_amount

Json = Mapping[str, Any]

# Bybit orderStatus -> OrderResult.status. Cancelled/Deactivated with a fill become
# partially_filled in ``order_status`` (a market order cut by the price band).
ORDER_STATUS = {
    "New": "new",
    "PartiallyFilled": "new",
    "Untriggered": "new",
    "Triggered": "new",
    "Created": "new",
    "Filled": "filled",
    "PartiallyFilledCanceled": "partially_filled",
    "Cancelled": "cancelled",
    "Deactivated": "cancelled",
    "Rejected": "rejected",
}

CONVERSION_STATUS = {
    "success": "converted",
    "failure": "failed",
    "failed": "failed",
    "partial_fulfillment": "partial",
}


def dec(value: object, what: str = "amount") -> Decimal:
    """A finite amount as Decimal; missing or "" counts as 0 (Bybit's empty fields).
    NaN, Infinity and text raise ``BadAmount`` (a ValueError) naming ``what``."""
    if isinstance(value, float):
        # Only if a server sent a JSON number: str() gives back its shortest decimal text.
        value = str(value)
    return checked_amount(value, what)


def positive_or_none(value: object) -> Decimal | None:
    """A limit that may be absent: "", missing or 0 all mean "no limit"."""
    amount = dec(value)
    return amount if amount > 0 else None


def result_of(envelope: Json) -> Json:
    """The ``result`` object of a V5 envelope (pybit already raised on retCode != 0)."""
    result = envelope["result"]
    if not isinstance(result, Mapping):
        raise TypeError("result is not an object")
    return result


def server_time_ms(envelope: Json) -> int:
    """Server time of /v5/market/time: timeNano (ns) is the most precise, then the envelope."""
    result = envelope.get("result") or {}
    if result.get("timeNano"):
        return int(result["timeNano"]) // 1_000_000
    if envelope.get("time"):
        return int(envelope["time"])
    return int(result["timeSecond"]) * 1000


def balances(result: Json) -> list[Balance]:
    """Non-zero coins of the UNIFIED wallet; free = walletBalance - locked - spotBorrow (>= 0).

    Subtracting spotBorrow keeps a sale from borrowing: since the 2025 manual-borrow change the
    walletBalance of a borrowed coin includes the borrowed amount.
    """
    out: list[Balance] = []
    for account in result.get("list") or []:
        for coin in account.get("coin") or []:
            name = str(coin["coin"])
            locked = max(dec(coin.get("locked"), f"{name} locked"), ZERO)
            wallet = dec(coin.get("walletBalance"), f"{name} walletBalance")
            free = wallet - locked - dec(coin.get("spotBorrow"), f"{name} spotBorrow")
            balance = Balance(asset=name, free=max(free, ZERO), locked=locked)
            if balance.total > 0:
                out.append(balance)
    return out


def market(item: Json) -> MarketRules:
    """One spot instrument. maxMarketOrderQty (2025+) wins over the deprecated maxOrderQty."""
    lot = item.get("lotSizeFilter") or {}
    max_qty = positive_or_none(lot.get("maxMarketOrderQty")) or positive_or_none(
        lot.get("maxOrderQty")
    )
    return MarketRules(
        symbol=str(item["symbol"]),
        base=str(item["baseCoin"]),
        quote=str(item["quoteCoin"]),
        trading=item.get("status") == "Trading",
        market_orders=True,
        step=dec(lot.get("basePrecision")),
        min_qty=dec(lot.get("minOrderQty")),
        max_qty=max_qty,
        min_notional=dec(lot.get("minOrderAmt")),
        max_notional=None,  # maxOrderAmt is deprecated and no longer checked (DOC 2025-10)
        step_rule="basePrecision",
        min_qty_rule="minOrderQty",
        min_notional_rule="minOrderAmt",
    )


def markets(items: Iterable[Json]) -> list[MarketRules]:
    return [market(item) for item in items]


def prices(items: Iterable[Json]) -> dict[str, Decimal]:
    """symbol -> bid1Price (what a market sell hits); an empty or zero bid leaves it out."""
    out: dict[str, Decimal] = {}
    for item in items:
        bid = dec(item.get("bid1Price"))
        if bid > 0:
            out[str(item["symbol"])] = bid
    return out


def supports_convert(coin: Json) -> bool:
    """supportConvert is 1 (yes) / 2 (no); tolerate it as a string."""
    return str(coin.get("supportConvert")) == "1"


def convertible_coins(result: Json) -> list[Json]:
    """The small-balance-list entries Bybit says it can convert, in the exchange's order."""
    return [c for c in result.get("smallAssetCoins") or [] if supports_convert(c)]


def fee_from_detail(row: Json, symbol: str) -> tuple[Decimal, str] | None:
    """The fee of an order from cumFeeDetail {coin: amount}; None when the row has none.

    A spot sell pays in the quote coin, so with several coins the quote coin is preferred.
    """
    detail = row.get("cumFeeDetail")
    if not isinstance(detail, Mapping) or not detail:
        return None
    entries = [(str(coin), dec(amount)) for coin, amount in detail.items()]
    for coin, amount in entries:
        if symbol.endswith(coin) and amount != 0:
            return amount, coin
    for coin, amount in entries:
        if amount != 0:
            return amount, coin
    coin, amount = entries[0]
    return amount, coin


def fee_from_executions(items: Iterable[Json]) -> tuple[Decimal, str | None]:
    """Sum of execFee over an order's fills, with their feeCurrency."""
    total = ZERO
    asset: str | None = None
    for fill in items:
        total += dec(fill.get("execFee"))
        asset = asset or (str(fill["feeCurrency"]) if fill.get("feeCurrency") else None)
    return total, asset


def order_status(row: Json) -> str:
    raw = str(row.get("orderStatus", ""))
    status = ORDER_STATUS.get(raw, "new")
    if status == "cancelled" and dec(row.get("cumExecQty")) > 0:
        return "partially_filled"
    return status


def order(row: Json, symbol: str, fee: tuple[Decimal, str | None] | None) -> OrderResult:
    """One order row of /v5/order/realtime or /history. ``fee`` overrides when given.

    A negative amount, or a fill without proceeds, is an answer that cannot be read: the order
    is then looked up again rather than booked as a sale that received nothing."""
    filled = dec(row.get("cumExecQty"), "cumExecQty")
    proceeds = dec(row.get("cumExecValue"), "cumExecValue")
    if fee is None:
        fee = fee_from_detail(row, symbol) or (dec(row.get("cumExecFee"), "cumExecFee"), None)
    amount, asset = fee
    for field, value in (("cumExecQty", filled), ("cumExecValue", proceeds), ("fee", amount)):
        if value < 0:
            raise BadAmount(f"{field} = {format(value, 'f')!r} is negative")
    ordered = dec(row.get("qty"), "qty")
    base_units = row.get("marketUnit") in (None, "", "baseCoin")
    if row.get("orderStatus") == "Filled" and base_units and row.get("qty") and filled != ordered:
        shown = repr(row.get("cumExecQty"))
        raise BadAmount(f"cumExecQty = {shown} for a Filled order of {format(ordered, 'f')}")
    if filled > 0 and proceeds <= 0:
        shown = repr(row.get("cumExecValue"))
        raise BadAmount(f"cumExecValue = {shown} for {format(filled, 'f')} executed")
    return OrderResult(
        symbol=str(row.get("symbol") or symbol),
        client_id=str(row.get("orderLinkId", "")),
        order_id=str(row["orderId"]) if row.get("orderId") else None,
        status=order_status(row),
        filled_qty=filled,
        quote_qty=proceeds,
        fee=amount,
        fee_asset=asset if (asset or amount) else None,
    )


def needs_execution_fee(row: Json, symbol: str) -> bool:
    """cumFeeDetail missing but something executed: the fee coin must come from fills."""
    return fee_from_detail(row, symbol) is None and dec(row.get("cumExecQty")) > 0


def quote_preview(result: Json, target: str) -> ConversionPreview:
    """A get-quote answer as a preview. toAmount is the estimate *after* the fee.

    In Bybit's own example feeInfo.amount = (toAmount + feeInfo.amount) x feeRate, i.e. the fee
    is taken from the gross: so ``to_amount`` (gross) = toAmount + fee and ``net`` = toAmount.
    Coins the quote marks supportConvert=2 are left out.
    """
    body = result.get("result") or {}
    lines: list[DustCandidate] = []
    rate: Decimal | None = None
    for coin in body.get("exchangeCoins") or []:
        if not supports_convert(coin):
            continue
        net = dec(coin.get("toAmount"))
        fee_info = coin.get("feeInfo") or {}
        fee = dec(fee_info.get("amount"))
        if rate is None and fee_info.get("feeRate"):
            rate = dec(fee_info.get("feeRate"))
        lines.append(
            DustCandidate(
                asset=str(coin["fromCoin"]),
                amount=dec(coin.get("availableBalance")),
                to_amount=net + fee,
                fee=fee,
                net=net,
            )
        )
    total_fee = body.get("totalFeeInfo") or {}
    if total_fee.get("feeRate"):
        rate = dec(total_fee["feeRate"])
    expires = body.get("quoteExpireTime")
    return ConversionPreview(
        target=target,
        fee_rate=rate,
        lines=tuple(lines),
        quote_id=str(result["quoteId"]),
        expires_ms=int(expires) if expires else None,
    )


def unsupported_in_quote(result: Json, wanted: Sequence[str]) -> list[str]:
    """Coins asked for that the quote does not cover (missing or supportConvert=2)."""
    body = result.get("result") or {}
    covered = {
        str(c.get("fromCoin")) for c in body.get("exchangeCoins") or [] if supports_convert(c)
    }
    return [coin for coin in wanted if coin not in covered]


def history_record(records: Sequence[Json], quote_id: str) -> Json | None:
    """The small-balance-history record of one quote (exchangeTxId = quoteId). Matched
    strictly: after a lost execute, someone else's record must never pass for this one."""
    for record in records:
        if quote_id in (str(record.get("exchangeTxId")), str(record.get("quoteId"))):
            return record
    return None


def conversion_status(record: Json) -> str:
    return CONVERSION_STATUS.get(str(record.get("status")), "pending")


def conversion_result(record: Json, target: str) -> ConversionResult:
    """A history record with its per-coin subRecords (toAmount is what arrived, after fee)."""
    tx_id = str(record.get("exchangeTxId")) if record.get("exchangeTxId") else None
    lines = tuple(
        ConversionLine(
            asset=str(sub["fromCoin"]),
            amount=dec(sub.get("fromAmount")),
            received=dec(sub.get("toAmount")),
            fee=dec(sub.get("feeAmount")),
            status=CONVERSION_STATUS.get(str(sub.get("status")), "pending"),
            transfer_id=tx_id,
        )
        for sub in record.get("subRecords") or []
    )
    return ConversionResult(
        target=str(record.get("toCoin") or target),
        transfer_id=tx_id,
        status=conversion_status(record),
        lines=lines,
    )


def pending_result(preview: ConversionPreview, quote_id: str) -> ConversionResult:
    """What to report when the conversion was submitted but no final record appeared yet."""
    return ConversionResult(
        target=preview.target,
        transfer_id=quote_id,
        status="pending",
        lines=tuple(
            ConversionLine(
                asset=line.asset,
                amount=line.amount,
                received=ZERO,
                fee=ZERO,
                status="pending",
                transfer_id=quote_id,
            )
            for line in preview.lines
        ),
    )


def latest_created_ms(result: Json) -> int | None:
    stamps = [int(r["createdAt"]) for r in result.get("records") or [] if r.get("createdAt")]
    return max(stamps) if stamps else None


def key_checks(info: Json) -> list[tuple[str, bool, str]]:
    """`dustsweep doctor` lines from /v5/user/query-api (what the key may do)."""
    perms = info.get("permissions") or {}
    read_only = str(info.get("readOnly")) == "1"
    spot = "SpotTrade" in (perms.get("Spot") or [])
    exchange = "ExchangeHistory" in (perms.get("Exchange") or [])
    withdraw = "Withdraw" in (perms.get("Wallet") or [])
    uta = str(info.get("uta")) == "1"
    trade_detail = (
        "read-only key: enable read-write with Spot > SpotTrade"
        if read_only
        else ("Spot > SpotTrade enabled" if spot else "enable Spot > SpotTrade on the key")
    )
    return [
        ("spot trading", spot and not read_only, trade_detail),
        (
            "conversion permission",
            exchange,
            "Exchange (Convert) enabled"
            if exchange
            else "enable Exchange > ExchangeHistory (Convert) on the key",
        ),
        (
            "withdrawals",
            not withdraw,
            "WARNING: withdrawals are enabled on this key; dustsweep never needs them, remove "
            "Wallet > Withdraw"
            if withdraw
            else "withdrawals disabled (good)",
        ),
        (
            "unified account",
            uta,
            "unified trading account" if uta else "not a unified trading account (UTA needed)",
        ),
    ]
