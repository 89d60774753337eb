"""Settle conversions an earlier run left ``pending``, before anything new is planned.

A run that died between converting and recording (or lost the answer and ran out of patience)
leaves pending ledger records with the client id they were sent under. The next run looks each
one up on the exchange (``converter_evidence``) and records what it finds, so a conversion that
did happen is recorded instead of being done again. A record is closed as ``failed`` only with
proof that nothing happened (its quote expired with no trace; or no trace and the balances
untouched); records of unknown outcome stay pending, and after a day without any trace they are
closed with advice to check the exchange, so they cannot block every later run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dustsweep.convert.caps import (
    ConvertOrderLike,
    RfqConvert,
    quote_ttl_ms,
    rfq,
    rfq_status_by_quote,
)
from dustsweep.convert.cooldown import record_ms
from dustsweep.convert.evidence import (
    QUOTE_MARGIN_MS,
    SEND_TOLERANCE_MS,
    Fact,
    Finder,
    is_derived_id,
    judge_balances,
    proof_from_records,
    record_facts,
)
from dustsweep.convert.rfq_settle import settle_by_balance, settle_order
from dustsweep.core.models import ZERO
from dustsweep.core.routes import Route
from dustsweep.errors import ExchangeError
from dustsweep.run.outcome import ActionOutcome, Status
from dustsweep.storage.records import Record, RecordStatus

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from decimal import Decimal

    from dustsweep.convert.types import ConversionContext

STALE_PENDING_MS = 24 * 3600 * 1000
CONVERT_QUOTE_MAX_MS = 120_000  # the longest validTime Binance Convert offers ("2m")


def reconcile_pending_conversions(ctx: ConversionContext) -> list[ActionOutcome]:
    """Settle every pending conversion record of ``ctx.account``; one outcome per record.

    ``converted``/``failed``: settled now; ``unknown``: still pending (the exchange shows no
    final answer yet), so its assets must not be converted again in this run.
    """
    pending = [
        r for r in ctx.ledger.pending(ctx.exchange_name, ctx.account) if r.kind == "conversion"
    ]
    groups: dict[tuple[str, str], list[Record]] = {}
    for record in pending:
        key = (record.market or Route.NATIVE, record.client_id or f"record-{record.id}")
        groups.setdefault(key, []).append(record)
    lines: list[ActionOutcome] = []
    for (route, _client_id), records in groups.items():
        if route == Route.CONVERT:
            lines.extend(_settle_convert(ctx, record) for record in records)
        else:
            lines.extend(_settle_native(ctx, records))
    return lines


def _settle_native(ctx: ConversionContext, records: Sequence[Record]) -> list[ActionOutcome]:
    """One batch (one client id): look it up; record it, or prove it never happened."""
    first = records[0]
    target = first.received_asset or ""
    client_id = first.client_id
    amounts = {r.asset: r.qty or ZERO for r in records}
    ids = {r.asset: (r.id, r.qty or ZERO) for r in records}
    quote_id = next((r.order_id for r in records if r.order_id), None)
    if quote_id is None and not is_derived_id(client_id):
        quote_id = client_id
    sent_ms = min(record_ms(r.time) for r in records)  # stamped with the exchange's clock
    finder = Finder(ctx)

    def write(facts: Mapping[str, Fact], missing: str, note: str | None) -> list[ActionOutcome]:
        return record_facts(
            ctx,
            route=Route.NATIVE,
            target=target,
            client_id=client_id,
            records=ids,
            facts=facts,
            missing=missing,
            note=note,
        )

    since = sent_ms - SEND_TOLERANCE_MS
    proof = proof_from_records([(r.asset, r.price, r.received_qty) for r in records])
    ambiguous: str | None = None
    try:
        found = finder.lookup(target, amounts, quote_id, since)
        if found and any(fact.status == RecordStatus.PENDING for fact in found.values()):
            # Still executing (Bybit settles asynchronously): give it the reconcile window.
            found = dict(finder.wait(target, amounts, quote_id, since, None).facts) or found
        if not found and proof is not None:
            # No log shows it: the balances kept from just before the send may prove it.
            verdict = judge_balances(finder.free_balances(), target, amounts, proof)
            found, ambiguous = verdict.facts, verdict.ambiguous
        absent = None
        if not found and ambiguous is None:
            absent = _absence(ctx, finder, amounts, quote_id, sent_ms)
    except ExchangeError as err:
        return write({}, Status.UNKNOWN, f"could not check with the exchange: {err}")
    if found:
        return write(found, Status.UNKNOWN, None)
    if ambiguous is not None:
        return write({}, Status.UNKNOWN, ambiguous)
    if absent is not None:
        return write({}, Status.FAILED, f"not converted: {absent}")
    return write(
        {}, Status.UNKNOWN, "no trace of it on the exchange yet: the next run checks again"
    )


def _absence(
    ctx: ConversionContext,
    finder: Finder,
    amounts: dict[str, Decimal],
    quote_id: str | None,
    sent_ms: int,
) -> str | None:
    """Why the conversion surely never happened, or None when that cannot be told yet."""
    now = ctx.server_now_ms()
    ttl = quote_ttl_ms(ctx.exchange)
    if quote_id and ttl and now > sent_ms + ttl + QUOTE_MARGIN_MS:
        return f"quote {quote_id} expired with no record of it on the exchange"
    if finder.untouched(amounts):
        return "the exchange has no record of it and the balances are intact"
    if now - sent_ms > STALE_PENDING_MS:
        return "no trace of it on the exchange after a day: check its conversion history"
    return None


def _settle_convert(ctx: ConversionContext, record: Record) -> ActionOutcome:
    """A Convert order: by its order id when the accept was answered, else by the balance
    once its quote can no longer be accepted."""
    target = record.received_asset or ""
    amount = record.qty or ZERO
    exchange = rfq(ctx.exchange)
    by_quote = rfq_status_by_quote(ctx.exchange)
    if record.order_id and exchange is not None:
        try:
            order = _until_final(ctx, exchange, exchange.convert_status(record.order_id))
        except ExchangeError as err:
            return _still_pending(ctx, record, f"could not check with the exchange: {err}")
        return settle_order(
            ctx,
            record.asset,
            target,
            record.id,
            order,
            quote_id=record.client_id,
            from_amount=amount,
            to_amount=None,
        )
    if record.client_id and by_quote is not None:
        # The accept's answer never arrived; the exchange can still say by the quote id.
        try:
            found = by_quote.convert_status_by_quote(record.client_id)
        except ExchangeError:
            found = None
        if found is not None:
            ctx.ledger.update(record.id, order_id=found.order_id)
            if exchange is not None:
                found = _until_final(ctx, exchange, found)
            return settle_order(
                ctx,
                record.asset,
                target,
                record.id,
                found,
                quote_id=record.client_id,
                from_amount=amount,
                to_amount=None,
            )
    age = ctx.server_now_ms() - record_ms(record.time)
    if age <= CONVERT_QUOTE_MAX_MS + QUOTE_MARGIN_MS:
        return _still_pending(ctx, record, "its quote may still be accepted: checked next run")
    return settle_by_balance(
        ctx, record.asset, target, record.client_id or "", record.id, amount, None
    )


def _until_final(
    ctx: ConversionContext, exchange: RfqConvert, order: ConvertOrderLike
) -> ConvertOrderLike:
    """Poll a Convert order (PROCESS / ACCEPT_SUCCESS are not final) within the poll budget."""
    for delay in ctx.convert_poll_s:
        if order.final:
            break
        if delay:
            ctx.sleep(delay)
        try:
            order = exchange.convert_status(order.order_id)
        except ExchangeError:
            continue
    return order


def _still_pending(ctx: ConversionContext, record: Record, note: str) -> ActionOutcome:
    ctx.ledger.update(record.id, error=note)
    return ActionOutcome(
        asset=record.asset,
        route=Route.CONVERT,
        amount=record.qty or ZERO,
        status=Status.UNKNOWN,
        received_asset=record.received_asset or "",
        error=note,
        client_id=record.client_id,
        exchange_id=record.order_id,
        record_id=record.id,
    )
