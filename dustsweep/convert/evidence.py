"""Did a conversion happen? Ask the exchange, in the best way it offers, and record the answer.

After a lost answer (or a crash between converting and recording) the conversion must be found,
never repeated. The exchange is asked, best evidence first:
1. by quote id (``find_conversion``; Bybit small-balance history, when the quote id is known);
2. in its conversion log with amounts (``conversions_since``), matched on the assets;
3. failing both, the time of its last conversion (``last_conversion_ms``, every adapter has it:
   Binance's dribblet log) after the send time, together with the free balances of exactly
   those assets having fallen. The amounts are then unknown and recorded as such;
4. failing every log (Binance does not document that dust-convert conversions reach the dribblet
   log), the balances themselves (``BalanceProof``): every asset at zero AND the target credited
   by about the expected net amount since just before the send. Anything in between (an asset
   whose balance rose again from elsewhere, a credit far from the expected one) is ambiguous:
   the record stays pending, is never sent again, and one line says so.

"Not found" proves nothing by itself right after sending (logs lag). A conversion counts as
never executed only when its quote has expired with no record of it, or when the exchange still
shows nothing at the end of the reconcile window AND the balances were never touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from dustsweep.convert.caps import conversion_finder, conversion_log
from dustsweep.core.models import ZERO, ConversionResult
from dustsweep.errors import ExchangeError
from dustsweep.run.ids import PREFIX
from dustsweep.run.outcome import ActionOutcome, Status
from dustsweep.run.retry import backoff
from dustsweep.storage.records import RecordStatus

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from dustsweep.convert.types import ConversionContext

logger = logging.getLogger(__name__)

# A log entry may carry a time slightly before our send time (second-granular stamps, clock
# offset measurement error); the cool-down makes an unrelated conversion that close unlikely,
# and the asset match rules it out.
SEND_TOLERANCE_MS = 5_000
# Balance evidence: "at zero" is at most this share of the amount sent left over; "about the
# expected amount" is a credit within this share of the expected net (prices move between the
# preview and the conversion; the fee is known).
LEFT_OVER_SHARE = Decimal("0.01")
CREDIT_TOLERANCE = Decimal("0.1")
QUOTE_MARGIN_MS = 2_000


def is_derived_id(client_id: str | None) -> bool:
    """Our own ids (``ds-<token>-...``), as opposed to an exchange's quote id."""
    return client_id is not None and client_id.startswith(f"{PREFIX}-")


@dataclass(frozen=True, slots=True)
class Fact:
    """What the exchange says became of one asset. Amounts None: not reported."""

    asset: str
    status: str  # converted | failed | pending
    amount: Decimal | None = None
    received: Decimal | None = None  # net, in the target
    fee: Decimal | None = None
    transfer_id: str | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """The answer about one conversion: per-asset facts, or proof that it never happened."""

    facts: Mapping[str, Fact]
    absent: str | None = None  # why we know it never executed
    final: bool = True
    ambiguous: str | None = None  # why the balances cannot tell (the record stays pending)


def facts_from_result(result: ConversionResult, assets: Sequence[str]) -> dict[str, Fact]:
    """One fact per requested asset. An asset missing from a final result did not convert."""
    lines = {line.asset: line for line in result.lines}
    facts: dict[str, Fact] = {}
    for asset in assets:
        line = lines.get(asset)
        if line is None:
            status = RecordStatus.PENDING if result.status == "pending" else RecordStatus.FAILED
            facts[asset] = Fact(asset, status, transfer_id=result.transfer_id)
            continue
        facts[asset] = Fact(
            asset,
            line.status if line.status in ("converted", "failed") else "pending",
            line.amount,
            line.received if line.status == "converted" else ZERO,
            line.fee if line.status == "converted" else ZERO,
            line.transfer_id or result.transfer_id,
        )
    return facts


@dataclass(frozen=True, slots=True)
class BalanceProof:
    """The balance evidence a lost conversion is settled from: the target's free balance just
    before sending and the net amount expected per asset (None: not known)."""

    target_before: Decimal
    expected: Mapping[str, Decimal | None]

    @property
    def expected_total(self) -> Decimal | None:
        values = list(self.expected.values())
        if not values or any(v is None for v in values):
            return None
        return sum((v for v in values if v is not None), ZERO)


@dataclass(frozen=True, slots=True)
class BalanceVerdict:
    """``facts``: settled by the balances; ``ambiguous``: why they cannot tell (one line);
    both None: nothing moved."""

    facts: dict[str, Fact] | None = None
    ambiguous: str | None = None


def judge_balances(
    free: Mapping[str, Decimal],
    target: str,
    amounts: Mapping[str, Decimal],
    proof: BalanceProof,
) -> BalanceVerdict:
    """Did the conversion of ``amounts`` into ``target`` happen, by the balances alone?"""
    left = {a: free.get(a, ZERO) for a in amounts}
    gone = {a for a, amount in amounts.items() if left[a] <= amount * LEFT_OVER_SHARE}
    intact = {a for a, amount in amounts.items() if left[a] >= amount}
    credit = free.get(target, ZERO) - proof.target_before
    expected = proof.expected_total
    if len(intact) == len(amounts) and credit <= 0:
        return BalanceVerdict()  # nothing moved
    if len(gone) == len(amounts) and expected is not None and expected > 0:
        low, high = expected * (1 - CREDIT_TOLERANCE), expected * (1 + CREDIT_TOLERANCE)
        if low <= credit <= high:
            single = len(amounts) == 1
            return BalanceVerdict(
                facts={
                    a: Fact(a, "converted", amounts[a], credit if single else None) for a in amounts
                }
            )
    rose = sorted(set(amounts) - gone)
    if rose:
        why = f"{', '.join(rose)} not at zero (rose again from elsewhere, or never converted)"
    else:
        shown = "unknown" if expected is None else format(expected, "f")
        why = f"{target} credited by {format(credit, 'f')}, expected about {shown}"
    return BalanceVerdict(
        ambiguous=f"the balances cannot tell whether it executed ({why}); left pending, "
        "never sent again: check the exchange's history"
    )


class Finder:
    """Looks one conversion up on the exchange (see the module docstring for the order)."""

    def __init__(self, ctx: ConversionContext) -> None:
        self.ctx = ctx
        self.exchange = ctx.exchange

    def lookup(
        self, target: str, amounts: Mapping[str, Decimal], quote_id: str | None, since_ms: int
    ) -> dict[str, Fact] | None:
        """The facts about these assets, or None when the exchange shows nothing yet."""
        assets = list(amounts)
        finder = conversion_finder(self.exchange)
        if quote_id and finder is not None:
            result = finder.find_conversion(quote_id, target)
            return None if result is None else facts_from_result(result, assets)
        log = conversion_log(self.exchange)
        if log is not None:
            for result in log.conversions_since(since_ms):
                # A log that does not name the target ("") is matched by the assets alone.
                same_target = result.target in (target, "")
                if same_target and {x.asset for x in result.lines} & set(assets):
                    return facts_from_result(result, assets)
            return None
        last = self.exchange.last_conversion_ms()
        if last is None or last < since_ms:
            return None
        free = self.free_balances()
        fallen = {a for a, amount in amounts.items() if free.get(a, ZERO) < amount}
        if not fallen:
            return None
        return {a: Fact(a, "converted" if a in fallen else "failed") for a in assets}

    def free_balances(self) -> dict[str, Decimal]:
        return {b.asset: b.free for b in self.exchange.fetch_balances()}

    def free(self, asset: str) -> Decimal:
        return self.free_balances().get(asset, ZERO)

    def untouched(self, amounts: Mapping[str, Decimal]) -> bool:
        """Every asset still has at least the amount that was to be converted."""
        free = self.free_balances()
        return all(free.get(asset, ZERO) >= amount for asset, amount in amounts.items())

    def wait(
        self,
        target: str,
        amounts: Mapping[str, Decimal],
        quote_id: str | None,
        since_ms: int,
        expires_ms: int | None,
        proof: BalanceProof | None = None,
    ) -> Found:
        """Keep asking for the reconcile window (back-off between looks) until the outcome is
        final, proven absent, or the window ends (then what was last seen, maybe nothing)."""
        facts: dict[str, Fact] | None = None
        for delay in backoff(self.ctx.reconcile_window_s):
            if delay:
                self.ctx.sleep(delay)
            try:
                facts = self.lookup(target, amounts, quote_id, since_ms) or facts
            except ExchangeError as err:
                logger.info("looking up a conversion failed: %s", err)
                continue
            if facts is not None and all(f.status != RecordStatus.PENDING for f in facts.values()):
                return Found(facts)
            if facts is None and self._expired(expires_ms):
                return Found({}, absent=f"quote {quote_id} expired with no record of it")
        if facts is not None:
            return Found(facts, final=False)
        return self.conclude(amounts, target, proof)

    def conclude(
        self,
        amounts: Mapping[str, Decimal],
        target: str = "",
        proof: BalanceProof | None = None,
    ) -> Found:
        """Nothing found: proven absent when the balances are all still there; converted when
        the balances prove it (``proof``); else unknown (``ambiguous`` says why)."""
        try:
            free = self.free_balances()
        except ExchangeError:
            return Found({}, final=False)
        if proof is not None:
            verdict = judge_balances(free, target, amounts, proof)
            if verdict.facts is not None:
                return Found(verdict.facts)
            if verdict.ambiguous is not None:
                return Found({}, final=False, ambiguous=verdict.ambiguous)
        if all(free.get(asset, ZERO) >= amount for asset, amount in amounts.items()):
            return Found({}, absent="the exchange has no record of it and the balances are intact")
        return Found({}, final=False)

    def _expired(self, expires_ms: int | None) -> bool:
        return expires_ms is not None and self.ctx.server_now_ms() > expires_ms + QUOTE_MARGIN_MS


def record_facts(
    ctx: ConversionContext,
    *,
    route: str,
    target: str,
    client_id: str | None,
    records: Mapping[str, tuple[int, Decimal]],
    facts: Mapping[str, Fact],
    missing: str = Status.UNKNOWN,
    note: str | None = None,
) -> list[ActionOutcome]:
    """Write what the exchange said into the ledger and turn it into outcomes.

    ``records`` maps asset -> (ledger record id, amount asked). The ledger keeps the GROSS
    amount received (net + fee) beside the fee, as for orders; outcomes show the net. An asset
    without a final fact gets ``missing``: ``unknown`` (its record stays pending) or ``failed``
    (closed with ``note``).
    """
    lines: list[ActionOutcome] = []
    for asset, (record_id, asked) in records.items():
        fact = facts.get(asset)
        base = ActionOutcome(
            asset=asset,
            route=route,
            amount=asked,
            status=Status.UNKNOWN,
            received_asset=target,
            fee_asset=target,
            client_id=client_id,
            exchange_id=fact.transfer_id if fact is not None else None,
            record_id=record_id,
        )
        if fact is not None and fact.status == RecordStatus.CONVERTED and implausible(fact):
            lines.append(_pending(ctx, base, implausible_note(fact)))
        elif fact is not None and fact.status == RecordStatus.CONVERTED:
            lines.append(_converted(ctx, base, fact))
        elif (fact is not None and fact.status == RecordStatus.FAILED) or missing == Status.FAILED:
            lines.append(_failed(ctx, base, note or "the exchange did not convert it"))
        else:
            lines.append(_pending(ctx, base, note))
    return lines


def implausible(fact: Fact) -> bool:
    """A conversion reported done with nothing converted, or a negative amount received or
    charged: no exchange means that, so it is never booked. The record stays pending and the
    next run reads the exchange again."""
    amounts = (fact.received, fact.fee)
    return (fact.amount is not None and fact.amount <= 0) or any(
        a is not None and a < 0 for a in amounts
    )


def implausible_note(fact: Fact) -> str:
    shown = ", ".join(
        f"{name} {format(value, 'f')}"
        for name, value in (("amount", fact.amount), ("received", fact.received), ("fee", fact.fee))
        if value is not None
    )
    return f"the exchange reported it converted with {shown}: not booked; the next run asks again"


def _converted(ctx: ConversionContext, base: ActionOutcome, fact: Fact) -> ActionOutcome:
    amount = fact.amount if fact.amount is not None else base.amount
    gross = None if fact.received is None else fact.received + (fact.fee or ZERO)
    assert base.record_id is not None
    ctx.ledger.update(
        base.record_id,
        status=RecordStatus.CONVERTED,
        qty=amount,
        price=None,  # the balance evidence kept while pending (see ``proof_from_records``)
        received_qty=gross,
        fee=fact.fee,
        fee_asset=base.target,
        order_id=fact.transfer_id,
        error=None if fact.received is not None else "amounts not reported by the exchange",
    )
    return replace(
        base, amount=amount, status=Status.CONVERTED, received=fact.received, fee=fact.fee
    )


def _failed(ctx: ConversionContext, base: ActionOutcome, error: str) -> ActionOutcome:
    assert base.record_id is not None
    changes: dict[str, object] = {
        "status": "failed",
        "error": error,
        "price": None,
        "received_qty": None,
    }
    if base.transfer_id is not None:
        changes["order_id"] = base.transfer_id
    ctx.ledger.update(base.record_id, **changes)
    return replace(base, status=Status.FAILED, error=error)


def _pending(ctx: ConversionContext, base: ActionOutcome, note: str | None) -> ActionOutcome:
    """The record stays pending (with the exchange's id once known) for the next run."""
    assert base.record_id is not None
    error = note or "submitted, outcome not known yet: the next run settles it"
    changes: dict[str, object] = {"error": error}
    if base.transfer_id is not None:
        changes["order_id"] = base.transfer_id
    ctx.ledger.update(base.record_id, **changes)
    return replace(base, status=Status.UNKNOWN, error=error)


def proof_from_records(
    records: Sequence[tuple[str, Decimal | None, Decimal | None]],
) -> BalanceProof | None:
    """The evidence kept on pending records: (asset, price, received_qty) per record."""
    befores = {price for _asset, price, _expected in records}
    if len(befores) != 1:
        return None
    (before,) = befores
    if before is None:
        return None
    return BalanceProof(before, {asset: expected for asset, _p, expected in records})
