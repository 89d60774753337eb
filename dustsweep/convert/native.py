"""Run the native small-balance conversion of a plan: batch by batch, each exactly once.

For each batch, in this order:
1. a fresh preview/quote right before executing (Bybit quotes live 30 s; Binance's eligibility
   can change between planning and executing, and one ineligible asset fails a whole batch);
2. the client id: the quote id when the exchange quoted exactly these assets, else a derived
   ``ds-<token>-cv<TARGET>`` (sent as Binance dust-convert's clientId; /dust takes none);
3. a ``pending`` ledger record per asset, BEFORE the request;
4. one request; its answer is recorded per asset (received, fee, transfer/quote id);
5. a lost answer (NetworkError/ServerError, or a 429 that may have come after the conversion
   executed) is settled from the exchange before anything else (``converter_evidence``; the
   target's free balance read just before sending is the evidence of last resort) and never
   re-sent; a ban answered to the request leaves it pending without asking anything more (the
   next run settles it); an expired quote is quoted again once; a clock rejection re-measures
   the clock once; the exchange's cool-down refusal stops the batches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dustsweep.convert.batches import plan_batches, quote_for
from dustsweep.convert.caps import batch_limit, fetch_previews
from dustsweep.convert.cooldown import cooldown_after_refusal
from dustsweep.convert.evidence import (
    SEND_TOLERANCE_MS,
    BalanceProof,
    Finder,
    facts_from_result,
    record_facts,
)
from dustsweep.core.routes import Route
from dustsweep.errors import (
    Banned,
    BanRefused,
    ClockSkew,
    ConversionRejected,
    CooldownActive,
    ExchangeError,
    NetworkError,
    RateLimited,
    ServerError,
)
from dustsweep.run.outcome import ActionOutcome, Status
from dustsweep.storage.records import RecordStatus

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from decimal import Decimal

    from dustsweep.convert.plan import PlannedConversion
    from dustsweep.convert.types import ConversionContext, ConversionOutcome
    from dustsweep.core.models import ConversionPreview
    from dustsweep.run.ids import ClientIds

GONE = "no longer offered by the exchange's conversion (its balance or eligibility changed)"


MAX_SENDS = 3  # the first, one re-quote after an expired quote, one after fixing the clock


def run_native(
    ctx: ConversionContext,
    target: str,
    items: Sequence[PlannedConversion],
    outcome: ConversionOutcome,
    ids: ClientIds,
) -> None:
    """Convert ``items`` into ``target`` through the exchange's small-balance conversion."""
    if not items:
        return
    try:
        fresh = fetch_previews(ctx.exchange, target)
    except CooldownActive as err:
        _stop_for_cooldown(outcome, items, target, str(err), err.until_ms)
        return
    except ExchangeError as err:
        outcome.lines.extend(not_sent(items, target, Status.FAILED, f"could not preview: {err}"))
        return
    batches, gone = plan_batches(fresh, items, batch_limit(ctx.exchange))
    outcome.lines.extend(not_sent(gone, target, Status.SKIPPED, GONE))
    for preview, batch in batches:
        if outcome.cooldown_message is not None:
            _stop_for_cooldown(outcome, batch, target, outcome.cooldown_message, None)
            continue
        NativeBatch(ctx, target, preview, batch, outcome, ids).run()


def not_sent(
    items: Iterable[PlannedConversion],
    target: str,
    status: Status,
    error: str,
    cooldown: bool = False,
) -> list[ActionOutcome]:
    """Outcomes for assets nothing was sent for."""
    return [
        ActionOutcome(
            asset=item.asset,
            route=item.route.value,
            amount=item.amount,
            status=status,
            received_asset=target,
            error=error,
            cooldown=cooldown,
        )
        for item in items
    ]


def _stop_for_cooldown(
    outcome: ConversionOutcome,
    items: Iterable[PlannedConversion],
    target: str,
    message: str,
    until_ms: int | None,
) -> None:
    outcome.cooldown_message = outcome.cooldown_message or message
    if until_ms is not None:
        outcome.cooldown_until_ms = until_ms
    outcome.lines.extend(not_sent(items, target, Status.SKIPPED, message, cooldown=True))


class NativeBatch:
    """One batch: quoted, recorded, sent once, and settled."""

    def __init__(
        self,
        ctx: ConversionContext,
        target: str,
        preview: ConversionPreview,
        items: Sequence[PlannedConversion],
        outcome: ConversionOutcome,
        ids: ClientIds,
    ) -> None:
        self.ctx = ctx
        self.target = target
        self.preview = preview
        self.items = list(items)
        self.outcome = outcome
        self.ids = ids
        self.requoted = False
        self.clock_fixed = False

    def run(self) -> None:
        preview, force = self.preview, False
        for _ in range(MAX_SENDS):
            quoted = self._quote(preview, force)
            if quoted is None or not self._send(quoted):
                return
            preview, force = quoted, True

    # -- steps -------------------------------------------------------------------------------

    def _quote(self, preview: ConversionPreview, force: bool) -> ConversionPreview | None:
        assets = [item.asset for item in self.items]
        try:
            return quote_for(
                self.ctx.exchange,
                self.target,
                preview,
                assets,
                force=force,
                now_ms=self.ctx.server_now_ms(),
            )
        except ConversionRejected as err:
            if err.kind == "cooldown":
                self._cooldown(err, self.items)
            else:
                self.outcome.lines.extend(
                    not_sent(self.items, self.target, Status.FAILED, str(err))
                )
        except ExchangeError as err:
            error = f"could not get a quote: {err}"
            self.outcome.lines.extend(not_sent(self.items, self.target, Status.FAILED, error))
        return None

    def _send(self, quoted: ConversionPreview) -> bool:
        """Record, send once and settle; True when the batch should be sent again (the quote
        expired, or the clock was fixed: both mean nothing was executed)."""
        amounts = {x.asset: x.amount for x in quoted.lines if x.asset in self._assets()}
        unquoted = [item for item in self.items if item.asset not in amounts]
        self.outcome.lines.extend(not_sent(unquoted, self.target, Status.SKIPPED, GONE))
        self.items = [item for item in self.items if item.asset in amounts]
        if not self.items:
            return False
        client_id = quoted.quote_id or self.ids.next(f"cv{self.target}")
        proof = self._proof(quoted, amounts)
        records = {
            asset: (self._open(asset, amount, client_id, proof), amount)
            for asset, amount in amounts.items()
        }
        send_ms = self.ctx.server_now_ms()
        try:
            result = self.ctx.exchange.convert(quoted, list(amounts), client_id)
        except ConversionRejected as err:
            return self._rejected(err, records, client_id)
        except ClockSkew as err:
            return self._clock(err, records, client_id)
        except (NetworkError, ServerError, RateLimited) as err:
            self._settle(quoted, amounts, records, client_id, send_ms, err, proof)
            return False
        except BanRefused as err:  # refused before sending: nothing was converted
            self._close(records, client_id, f"not sent: {err}", Status.FAILED)
            return False
        except Banned as err:
            note = f"outcome unknown ({err}); not asked while banned: the next run settles it"
            self.outcome.lines.extend(
                record_facts(
                    self.ctx,
                    route=Route.NATIVE,
                    target=self.target,
                    client_id=client_id,
                    records=records,
                    facts={},
                    note=note,
                )
            )
            return False
        except ExchangeError as err:  # answered with an error: nothing was executed
            self._close(records, client_id, str(err), Status.FAILED)
            return False
        facts = facts_from_result(result, list(amounts))
        self.outcome.lines.extend(
            record_facts(
                self.ctx,
                route=Route.NATIVE,
                target=self.target,
                client_id=client_id,
                records=records,
                facts=facts,
            )
        )
        return False

    def _proof(self, quoted: ConversionPreview, amounts: dict[str, Decimal]) -> BalanceProof | None:
        """The target's free balance just before sending, with the expected net per asset:
        the evidence a lost answer is settled from when no exchange log shows the conversion."""
        try:
            before = Finder(self.ctx).free(self.target)
        except ExchangeError:
            return None
        nets = {line.asset: line.net for line in quoted.lines}
        return BalanceProof(before, {asset: nets.get(asset) for asset in amounts})

    def _open(self, asset: str, amount: Decimal, client_id: str, proof: BalanceProof | None) -> int:
        # While pending, ``price`` keeps the target's free balance before sending and
        # ``received_qty`` the net expected: a later run settles from them
        # (``converter_evidence.proof_from_records``); both are replaced once settled.
        return self.ctx.ledger.add(
            price=proof.target_before if proof is not None else None,
            received_qty=proof.expected.get(asset) if proof is not None else None,
            run_id=self.ctx.run_id,
            exchange=self.ctx.exchange_name,
            account=self.ctx.account,
            kind="conversion",
            asset=asset,
            qty=amount,
            status=RecordStatus.PENDING,
            received_asset=self.target,
            fee_asset=self.target,
            market=Route.NATIVE,
            client_id=client_id,
            time=self.ctx.server_now(),
        )

    # -- reactions ---------------------------------------------------------------------------

    def _rejected(
        self, err: ConversionRejected, records: dict[str, tuple[int, Decimal]], client_id: str
    ) -> bool:
        if err.kind == "expired" and not self.requoted:
            self.requoted = True
            self._close(records, client_id, f"quote expired before execution: {err}", None)
            return True
        if err.kind == "cooldown":
            self._close(records, client_id, str(err), None)
            self._cooldown(err, self.items)
            return False
        self._close(records, client_id, str(err), Status.FAILED)
        return False

    def _clock(
        self, err: ClockSkew, records: dict[str, tuple[int, Decimal]], client_id: str
    ) -> bool:
        if not self.clock_fixed:
            self.clock_fixed = True
            try:
                self.outcome.clock_offset_ms = self.ctx.exchange.sync_clock()
            except ExchangeError:
                pass
            else:
                self._close(records, client_id, f"clock rejected, sent again: {err}", None)
                return True
        self._close(records, client_id, str(err), Status.FAILED)
        return False

    def _cooldown(self, err: ExchangeError, items: Iterable[PlannedConversion]) -> None:
        refusal = cooldown_after_refusal(
            self.ctx.exchange, self.ctx.ledger, self.ctx.account, self.ctx.cooldown_s, err
        )
        _stop_for_cooldown(self.outcome, items, self.target, str(refusal), refusal.until_ms)

    def _settle(
        self,
        quoted: ConversionPreview,
        amounts: dict[str, Decimal],
        records: dict[str, tuple[int, Decimal]],
        client_id: str,
        send_ms: int,
        err: ExchangeError,
        proof: BalanceProof | None,
    ) -> None:
        """The answer was lost: find out from the exchange; never send again."""
        finder = Finder(self.ctx)
        found = finder.wait(
            self.target,
            amounts,
            quoted.quote_id,
            send_ms - SEND_TOLERANCE_MS,
            quoted.expires_ms,
            proof,
        )
        note: str | None
        if found.absent is not None:
            note = f"not converted: the answer was lost and {found.absent}"
            missing = Status.FAILED
        elif found.ambiguous is not None:
            note, missing = f"outcome unknown ({err}): {found.ambiguous}", Status.UNKNOWN
        else:
            note = None if found.facts else f"outcome unknown ({err}); the next run settles it"
            missing = Status.UNKNOWN
        self.outcome.lines.extend(
            record_facts(
                self.ctx,
                route=Route.NATIVE,
                target=self.target,
                client_id=client_id,
                records=records,
                facts=found.facts,
                missing=missing,
                note=note,
            )
        )

    def _close(
        self,
        records: dict[str, tuple[int, Decimal]],
        client_id: str,
        error: str,
        status: Status | None,
    ) -> None:
        """Nothing was executed: close the records as failed; report them when ``status``."""
        for record_id, _amount in records.values():
            self.ctx.ledger.update(record_id, status=RecordStatus.FAILED, error=error)
        if status is None:
            return
        for asset, (record_id, amount) in records.items():
            self.outcome.lines.append(
                ActionOutcome(
                    asset=asset,
                    route=Route.NATIVE,
                    amount=amount,
                    status=status,
                    received_asset=self.target,
                    error=error,
                    client_id=client_id,
                    record_id=record_id,
                )
            )

    def _assets(self) -> set[str]:
        return {item.asset for item in self.items}
