"""Matching logged conversions with the local history (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from dustsweep.core.history_log import SMALLBALANCE, LoggedConversion, plan_merge

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Rec:
    id: int
    asset: str
    qty: Decimal | None
    time: str
    order_id: str | None = None
    client_id: str | None = None
    status: str = "converted"
    ext_id: str | None = None
    kind: str = "conversion"


def line(ext: str, asset: str, amount: str, when: datetime, *ids: str) -> LoggedConversion:
    return LoggedConversion(
        route=SMALLBALANCE,
        ext_id=ext,
        ids=frozenset(ids),
        order_id=ids[0] if ids else "",
        client_id=None,
        time=when,
        asset=asset,
        amount=Decimal(amount),
        received_asset="BNB",
        received=Decimal("0.1"),
        fee=Decimal("0.002"),
    )


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_id_match_then_amount_and_time_match_then_new() -> None:
    records = [
        Rec(1, "XRP", Decimal("1.5"), stamp(T0), order_id="77"),
        Rec(2, "DOGE", Decimal("3"), stamp(T0 + timedelta(minutes=4))),
        Rec(3, "TRX", Decimal("2"), stamp(T0 - timedelta(hours=2))),  # too far in time
        Rec(4, "ADA", Decimal("9"), stamp(T0), ext_id="dust:5:ADA"),  # matched earlier
        Rec(5, "LTC", Decimal("1"), stamp(T0), order_id="99", status="failed"),
    ]
    lines = [
        line("dust:1:XRP", "XRP", "1.5", T0, "1", "77"),
        line("dust:1:DOGE", "DOGE", "3", T0, "1", "78"),
        line("dust:1:TRX", "TRX", "2", T0, "1", "79"),
        line("dust:5:ADA", "ADA", "9", T0, "5"),
        line("dust:1:LTC", "LTC", "1", T0, "99"),
        line("dust:1:XRP", "XRP", "1.5", T0, "1", "77"),  # the same line on two pages
    ]
    plan = plan_merge(lines, records)
    assert plan.matched == ((1, "dust:1:XRP"), (2, "dust:1:DOGE"))
    assert [x.ext_id for x in plan.added] == ["dust:1:TRX", "dust:1:LTC"]
    assert plan.known == 2


def test_a_line_already_matched_under_another_ext_id_is_known_not_added() -> None:
    """The log once reported the batch under an id it later reports differently: the record
    (matched then, by amount and time) still owns the line through its transfer id."""
    records = [
        Rec(1, "XRP", Decimal("1.5"), stamp(T0), order_id="77", ext_id="dust:12:XRP"),
        Rec(2, "ADA", Decimal("9"), stamp(T0), order_id="88", ext_id="dust:12:ADA"),
        Rec(
            3, "LTC", Decimal("1"), stamp(T0), order_id="99", ext_id="dust:12:LTC", status="failed"
        ),
    ]
    lines = [
        line("dust:5:XRP", "XRP", "1.5", T0, "5", "77"),  # same transfer id: the same conversion
        line("dust:5:ADA", "ADA", "9", T0, "5", "77"),  # another asset's id: not this record's
        line("dust:5:LTC", "LTC", "1", T0, "5", "99"),  # a failed record owns nothing
    ]
    plan = plan_merge(lines, records)
    assert plan.known == 1
    assert [a.ext_id for a in plan.added] == ["dust:5:ADA", "dust:5:LTC"]
    assert plan.matched == ()
