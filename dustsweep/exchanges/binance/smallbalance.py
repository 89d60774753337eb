"""Binance small-balance conversion answers as domain types. Imports no SDK.

Covers the classic dust->BNB endpoints (dust-btc, dust, dribblet) and the newer dust-convert
endpoints (any target). Field names follow the exchange, including its spelling
``transferedAmount``. Binance Convert (RFQ) answers are in ``binance.convert_parse``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from dustsweep.core.models import ConversionLine, ConversionPreview, ConversionResult, DustCandidate
from dustsweep.exchanges.amounts import amount
from dustsweep.exchanges.binance.parse import ZERO, ShapeError, as_dict, as_list, dec, ms


def preview_bnb(body: object) -> ConversionPreview:
    """``POST /sapi/v1/asset/dust-btc``: per asset gross ``toBNB``, fee ``exchange``, net
    ``toBNBOffExchange``; the fee rate is ``dribbletPercentage``."""
    data = as_dict(body, "dust-btc")
    lines = tuple(
        DustCandidate(
            asset=str(item.get("asset")),
            amount=dec(item.get("amountFree"), "amountFree"),
            to_amount=dec(item.get("toBNB"), "toBNB"),
            fee=dec(item.get("exchange"), "exchange"),
            net=dec(item.get("toBNBOffExchange"), "toBNBOffExchange"),
        )
        for item in _details(data)
    )
    return ConversionPreview(target="BNB", fee_rate=_rate(data), lines=lines)


def preview_target(body: object, target: str) -> ConversionPreview:
    """``POST /sapi/v1/asset/dust-convert/query-convertible-assets`` for ``target``."""
    data = as_dict(body, "query-convertible-assets")
    lines = tuple(
        DustCandidate(
            asset=str(item.get("asset")),
            amount=dec(item.get("amountFree"), "amountFree"),
            to_amount=dec(item.get("toTargetAssetAmount"), "toTargetAssetAmount"),
            fee=dec(item.get("exchange"), "exchange"),
            net=dec(item.get("toTargetAssetOffExchange"), "toTargetAssetOffExchange"),
        )
        for item in _details(data)
    )
    return ConversionPreview(target=target, fee_rate=_rate(data), lines=lines)


def convertible_assets(body: object) -> frozenset[str]:
    """The assets dust-btc lists: the exchange's own eligibility, never guessed."""
    return frozenset(str(item.get("asset")) for item in _details(as_dict(body, "dust-btc")))


def _details(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [d for d in as_list(data.get("details") or [], "details") if isinstance(d, dict)]


def _rate(data: Mapping[str, Any]) -> Decimal | None:
    value = data.get("dribbletPercentage")
    return None if value in (None, "") else dec(value, "dribbletPercentage")


def conversion_result(
    body: object, target: str, requested: Mapping[str, Decimal]
) -> ConversionResult:
    """``POST /sapi/v1/asset/dust`` or ``dust-convert/convert`` -> per-asset lines.

    ``transferedAmount`` is reported as received and ``serviceChargeAmount`` as the fee (the
    docs disagree on whether it is gross; reconcile with balances). A requested asset missing
    from ``transferResult`` is a failed line, so an empty ``transferResult`` is a failure, not
    a success with nothing in it.
    """
    data = as_dict(body, "dust transfer")
    if "transferResult" not in data:  # not this endpoint's answer: it may have converted
        raise ShapeError(f"no transferResult in the answer ({sorted(data)[:6]})")
    results = [r for r in as_list(data.get("transferResult") or [], "transferResult")]
    lines: list[ConversionLine] = []
    done: set[str] = set()
    for item in (r for r in results if isinstance(r, dict)):
        asset = str(item.get("fromAsset"))
        done.add(asset)
        tran_id = item.get("tranId")
        lines.append(
            ConversionLine(
                asset=asset,
                amount=_converted(item, "amount", asset),
                received=_converted(item, "transferedAmount", asset),
                fee=_converted(item, "serviceChargeAmount", asset),
                status="converted",
                transfer_id=None if tran_id is None else str(tran_id),
            )
        )
    for asset, qty in requested.items():
        if asset not in done:
            lines.append(ConversionLine(asset, qty, ZERO, ZERO, status="failed"))
    converted = [line for line in lines if line.status == "converted"]
    if not converted:
        status = "failed"
    elif len(converted) == len(lines):
        status = "converted"
    else:
        status = "partial"
    transfer_id = converted[0].transfer_id if converted else None
    return ConversionResult(
        target=target, transfer_id=transfer_id, status=status, lines=tuple(lines)
    )


def _converted(item: Mapping[str, Any], field: str, asset: str) -> Decimal:
    """An amount of a conversion that executed: present, finite and not negative. Anything
    else makes the whole answer unreadable, so the conversion is settled from the dust log
    (it happened) instead of being recorded as 0 or a negative amount."""
    return amount(item.get(field), f"{asset} {field}", required=True, negative_ok=False)


def last_operate_time(body: object) -> int | None:
    """Latest ``operateTime`` (ms) in ``GET /sapi/v1/asset/dribblet``, over batches and lines.

    Old records carry text dates; only millisecond integers (or digit strings) are used.
    """
    times: list[int] = []
    for batch in as_list(as_dict(body, "dribblet").get("userAssetDribblets") or [], "dribblets"):
        if not isinstance(batch, dict):
            continue
        entries = [batch, *(d for d in batch.get("userAssetDribbletDetails") or [])]
        for entry in entries:
            stamp = ms(entry.get("operateTime")) if isinstance(entry, dict) else None
            if stamp is not None:
                times.append(stamp)
    return max(times) if times else None


def conversion_log(body: object, since_ms: int) -> list[ConversionResult]:
    """``GET /sapi/v1/asset/dribblet`` as one ``ConversionResult`` per logged batch, oldest
    first (the first match after a send time is then the conversion that send made).

    Only batches dated from ``since_ms`` on are kept, and an undatable one (old records carry
    text dates) is dropped: reconciliation takes a batch as proof that a send converted, so a
    batch that cannot be placed after the send must not count. The target is the detail's
    ``targetAsset`` where the log names one (the simulator does for dust-convert); the
    documented log has none, so the target is then "" (unknown).
    ``transferedAmount`` is the net received (the log example: gross - fee).
    """
    data = as_dict(body, "dribblet")
    dated: list[tuple[int, list[ConversionResult]]] = []
    for batch in as_list(data.get("userAssetDribblets") or [], "userAssetDribblets"):
        if not isinstance(batch, dict):
            continue
        details = [
            d
            for d in as_list(batch.get("userAssetDribbletDetails") or [], "details")
            if isinstance(d, dict)
        ]
        stamp = _batch_time(batch, details)
        if stamp is None or stamp < since_ms or not details:
            continue
        dated.append((stamp, _logged_batch(batch, details)))
    dated.sort(key=lambda item: item[0])  # stable: same-time batches keep the log's order
    return [result for _, results in dated for result in results]


def _batch_time(batch: Mapping[str, Any], details: list[dict[str, Any]]) -> int | None:
    stamp = ms(batch.get("operateTime"))
    if stamp is not None:
        return stamp
    stamps = [s for s in (ms(d.get("operateTime")) for d in details) if s is not None]
    return max(stamps) if stamps else None


def _logged_batch(
    batch: Mapping[str, Any], details: list[dict[str, Any]]
) -> list[ConversionResult]:
    """One result per target named in the batch (one request has one target, so normally a
    single result; a batch mixing targets is split rather than mislabelled)."""
    # The documented log names no target (a dust-convert into USDT is logged like a dust->BNB
    # one): "" says "unknown", and a reader matches such a batch by its assets alone.
    default = str(batch.get("targetAsset") or "")
    by_target: dict[str, list[ConversionLine]] = {}
    for item in details:
        target = str(item.get("targetAsset") or default)
        by_target.setdefault(target, []).append(
            ConversionLine(
                asset=str(item.get("fromAsset")),
                amount=dec(item.get("amount"), "amount"),
                received=dec(item.get("transferedAmount"), "transferedAmount"),
                fee=dec(item.get("serviceChargeAmount"), "serviceChargeAmount"),
                status="converted",
                transfer_id=_text(item.get("transId")),
            )
        )
    transfer_id = _text(batch.get("transId"))
    return [
        ConversionResult(target, transfer_id, "converted", tuple(lines))
        for target, lines in by_target.items()
    ]


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)
