"""One summary at the end of sell, convert and sweep: what arrived, what it cost, what is left
and why, and when the next conversion is possible; the same figures as ``totals`` in JSON.

Received amounts are net of a fee charged in the received asset, and net of what a follow-up
sale sold on (the ETH an XRPETH sale received and the follow-up sold into USDT counts once, as
USDT). Values are in the quote asset at the prices of the run's own snapshot; an amount
without a price is listed but adds nothing to the value (``unpriced`` counts it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dustsweep.render.common import dec, iso_ms, money
from dustsweep.render.lines import print_hanging

if TYPE_CHECKING:
    from rich.console import Console

    from dustsweep.core.models import Snapshot

ZERO = Decimal(0)


@dataclass
class Totals:
    """One account's (or the whole run's) figures."""

    received: dict[str, Decimal] = field(default_factory=dict)
    fees: dict[str, Decimal] = field(default_factory=dict)
    received_value: Decimal = ZERO
    fee_value: Decimal = ZERO
    unpriced: int = 0
    left: Counter[str] = field(default_factory=Counter)
    next_conversion_ms: int | None = None

    def add(self, other: Totals) -> Totals:
        for mine, theirs in ((self.received, other.received), (self.fees, other.fees)):
            for asset, amount in theirs.items():
                mine[asset] = mine.get(asset, ZERO) + amount
        self.received_value += other.received_value
        self.fee_value += other.fee_value
        self.unpriced += other.unpriced
        self.left.update(other.left)
        moments = [m for m in (self.next_conversion_ms, other.next_conversion_ms) if m]
        self.next_conversion_ms = min(moments) if moments else None  # the earliest account
        return self


def _book(into: dict[str, Decimal], asset: str | None, amount: Decimal | None) -> None:
    if asset is not None and amount:
        into[asset] = into.get(asset, ZERO) + amount


def _value(totals: Totals, snapshot: Snapshot | None, quote: str) -> Totals:
    """Fill the values in ``quote`` from the account's snapshot."""
    from dustsweep.core.policy import DEFAULT_BRIDGES
    from dustsweep.core.valuation import Valuer

    valuer = (
        Valuer(snapshot.markets, snapshot.prices, quote, DEFAULT_BRIDGES)
        if snapshot is not None
        else None
    )

    def worth(asset: str, amount: Decimal) -> Decimal | None:
        if asset == quote:
            return amount
        return valuer.value(asset, amount) if valuer is not None else None

    for asset, amount in totals.received.items():
        value = worth(asset, amount)
        if value is None:
            totals.unpriced += 1
        else:
            totals.received_value += value
    for asset, amount in totals.fees.items():
        totals.fee_value += worth(asset, amount) or ZERO
    return totals


def why(reason: str) -> str:
    """A reason's kind, for counting: its words before the first detail."""
    head = reason.split(" (")[0].split(":")[0].split(";")[0].strip()
    return head or "other"


def sell_totals(sell: Any, quote: str) -> Totals:
    """One account's sale: net proceeds, fees, the plan's skips (by kind) and residuals."""
    totals = Totals()
    outcomes = sell.result.outcomes if sell.result is not None else []
    for o in outcomes:
        if o.executed:
            _book(totals.received, o.quote_asset, o.net_proceeds)
            _book(totals.fees, o.fee_asset, o.fee)
            if o.followup:  # sold on: what it sold is no longer "received"
                _book(totals.received, o.asset, -o.filled_qty)
        elif o.status != "planned":
            totals.left[f"{o.status}"] += 1
    totals.received = {a: v for a, v in totals.received.items() if v}
    if sell.plan is not None:
        totals.left.update(why(s.reason) for s in sell.plan.skipped)
        residuals = sum(1 for order in sell.plan.orders if order.residual)
        if residuals:
            totals.left["residual below one step (convert takes it)"] += residuals
    return _value(totals, sell.snapshot, quote)


def convert_totals(item: Any, quote: str) -> Totals:
    """One account's conversion: net received, fees, what is left (by kind), and the cool-down."""
    totals = Totals()
    lines = item.outcome.lines if item.outcome is not None else []
    for line in lines:
        if line.status == "converted":
            _book(totals.received, line.target, line.received)
            _book(totals.fees, line.fee_asset, line.fee)
        else:
            totals.left[str(line.status)] += 1
    if item.plan is not None:
        totals.left.update(why(s.reason) for s in item.plan.skipped)
    if item.cooldown is not None:
        totals.next_conversion_ms = item.cooldown.until_ms
    else:
        totals.next_conversion_ms = getattr(item, "next_conversion_ms", None)
    return _value(totals, item.snapshot, quote)


def sweep_totals(sweep: Any, quote: str) -> Totals:
    totals = Totals()
    if sweep.sell is not None:
        sold = sell_totals(sweep.sell, quote)
        sold.left.clear()  # sweep converts the residuals and skips; ``left`` says what stays
        totals.add(sold)
    if sweep.convert is not None:
        converted = convert_totals(sweep.convert, quote)
        _spent_on_conversions(totals, sweep.convert, quote)
        converted.left = Counter(
            {k: v for k, v in converted.left.items() if k in {"failed", "unknown", "skipped"}}
        )
        totals.add(converted)
    totals.left.update(str(item["status"]) for item in sweep.left)
    return totals


def _spent_on_conversions(totals: Totals, item: Any, quote: str) -> None:
    """What the sales received and the conversions then took (a sale's residual ETH converted
    to BNB) is no longer "received": the BNB counts, once."""
    lines = item.outcome.lines if item.outcome is not None else []
    for line in lines:
        had = totals.received.get(line.asset)
        if line.status == "converted" and had:
            spent = min(had, line.amount)
            totals.received[line.asset] = had - spent
            totals.received_value -= _value(
                Totals(received={line.asset: spent}), item.snapshot, quote
            ).received_value
    totals.received = {a: v for a, v in totals.received.items() if v}


def totals_json(totals: Totals) -> dict[str, Any]:
    return {
        "net_received": {a: dec(v) for a, v in sorted(totals.received.items())},
        "net_received_value": dec(totals.received_value),
        "fees": {a: dec(v) for a, v in sorted(totals.fees.items()) if v},
        "fee_value": dec(totals.fee_value),
        "unpriced": totals.unpriced,
        "left": dict(sorted(totals.left.items())),
        "next_conversion": iso_ms(totals.next_conversion_ms),
    }


def overall(per_account: Iterable[Totals]) -> Totals:
    total = Totals()
    for one in per_account:
        total.add(one)
    return total


def quote_of(items: Iterable[Any], default: str = "USDT") -> str:
    """The run's quote asset, as its plans were made in."""
    for item in items:
        if item is not None and item.plan is not None:
            return str(item.plan.quote)
    return default


def print_summary(
    console: Console, quote: str, per_account: Sequence[Totals], dry_run: bool = False
) -> None:
    """The one summary line (two with a cool-down) at the end of a run."""
    total = overall(per_account)
    received = ", ".join(f"{dec(v)} {a}" for a, v in sorted(total.received.items())) or "nothing"
    if dry_run:
        line = "nothing sold or converted yet (dry run)"
    else:
        line = f"received {received} (net of fees, {money(total.received_value)} {quote})"
        line += f"; fees {money(total.fee_value)} {quote}"
    if total.unpriced:
        line += f"; {total.unpriced} amount(s) without a price"
    if total.left:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(total.left.items()))
        line += f"; left: {kinds}"
    print_hanging(console, "Summary:", line, indent=0)
    if total.next_conversion_ms is not None:
        console.print(f"Next conversion possible from {iso_ms(total.next_conversion_ms)}")
