"""Check planned orders at the price the exchange judges the minimum order value by.

Binance values a MARKET order for NOTIONAL / MIN_NOTIONAL at the average price over
``avgPriceMins`` (``GET /api/v3/avgPrice``), which the bulk ticker cannot give. Scans stay at
three requests per account by classifying at the ticker price with a safety margin; before
orders are placed, the few whose value is within ``HEADROOM`` of the minimum are checked at
the exchange's own price (one request each), re-planned onto another market, or skipped. When
that price cannot be read (a side read), the check is unknown and the order goes as planned.
An adapter opts in by having ``notional_price``; Bybit judges at the book, which the ticker's
bid already is.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from dustsweep.core.caps import Skip
from dustsweep.core.lots import plain
from dustsweep.core.plan import PlannedOrder, SellPlan, replan_asset
from dustsweep.errors import Banned, ExchangeError

if TYPE_CHECKING:
    from dustsweep.core.models import Snapshot
    from dustsweep.core.policy import Policy

logger = logging.getLogger(__name__)
HEADROOM = Decimal("1.10")  # 10 % above the margin-adjusted minimum needs no check


class JudgesNotional(Protocol):
    """The adapter's method when its capabilities say ``notional_price``."""

    def notional_price(self, symbol: str) -> Decimal | None:
        """The price the exchange values a market order at for its minimum-value rule."""
        ...


class NotionalCheck:
    """Re-checks one account's plan; every price it asks for is asked once."""

    def __init__(
        self,
        exchange: JudgesNotional,
        snapshot: Snapshot,
        policy: Policy,
        quotes: tuple[str, ...] | None,
    ) -> None:
        self.exchange = exchange
        self.snapshot = snapshot
        self.policy = policy
        self.quotes = quotes
        self._prices: dict[str, Decimal | None] = {}
        # set by a ban answered to a price request: the host takes nothing more this run, so no
        # order (re-planned or not) is checked or planned any further, each is skipped with it
        self._banned: str | None = None

    def apply(self, plan: SellPlan) -> SellPlan:
        orders: list[PlannedOrder] = []
        skipped = list(plan.skipped)
        for order in plan.orders:
            checked = self.check(order)
            if isinstance(checked, str):
                skipped.append(Skip(order.asset, checked))
            else:
                orders.append(checked)
        if len(orders) == len(plan.orders) and all(
            a is b for a, b in zip(orders, plan.orders, strict=True)
        ):
            return plan
        known = [o.expected_value for o in orders if o.expected_value is not None]
        fee_values = [
            o.est_fee * (o.expected_value / o.expected_proceeds)
            for o in orders
            if o.expected_value is not None and o.expected_proceeds
        ]
        return replace(
            plan,
            orders=tuple(orders),
            skipped=tuple(skipped),
            expected_value=sum(known, Decimal(0)),
            est_fee_value=sum(fee_values, Decimal(0)),
        )

    def check(self, order: PlannedOrder) -> PlannedOrder | str:
        """The order if it passes at the exchange's price, a re-planned one, or why not."""
        excluded: list[str] = []
        reason = ""
        current: PlannedOrder | str = order
        while isinstance(current, PlannedOrder):
            if self._banned is not None:
                return self._banned  # never re-plan onto another market of a banned host
            problem = self._problem(current)
            if problem is None:
                return current
            reason = problem
            excluded.append(current.symbol)
            current = replan_asset(
                order, self.snapshot, self.policy, exclude=tuple(excluded), quotes=self.quotes
            )
        return reason or current

    def _problem(self, order: PlannedOrder) -> str | None:
        rules = self.snapshot.markets.get(order.symbol)
        if rules is None or rules.min_notional <= 0:
            return None
        needed = rules.min_notional * (1 + self.policy.notional_margin)
        if order.qty * order.price >= needed * HEADROOM:
            return None
        if order.symbol not in self._prices:
            try:
                self._prices[order.symbol] = self.exchange.notional_price(order.symbol)
            except Banned as err:
                self._banned = str(err)  # nothing more may be sent to this host
                return self._banned
            except ExchangeError as err:
                # A side read (already retried by the adapter): the check becomes unknown and
                # the order goes out as planned. Should it be below the minimum after all, the
                # exchange refuses it without executing anything (a filter rejection).
                logger.warning(
                    "%s: %s check unknown: %s", order.symbol, rules.min_notional_rule, err
                )
                self._prices[order.symbol] = None
        price = self._prices[order.symbol]
        if price is None or order.qty * price >= needed:
            return None
        value = order.qty * price
        return (
            f"worth {plain(value)} {order.quote_asset} at the exchange's average price, below "
            f"{rules.min_notional_rule} {plain(rules.min_notional)} "
            f"(+{plain(self.policy.notional_margin * 100)}% margin) on {order.symbol}"
        )
