"""The small-balance conversion cool-down (convert/cooldown.py): edges found by mutation
testing. A refusal says until when (from the exchange's log or the local history, whichever
is later, for this account only), or says it does not know; through the real adapters."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from dustsweep.convert.cooldown import check_cooldown, cooldown_after_refusal, iso_ms
from dustsweep.convert.execute import execute_conversion
from dustsweep.errors import ConversionRejected, CooldownActive
from tests.convert.test_execute import DRIBBLET, HOUR_MS, D, Desk, DeskFactory, desk
from tests.convert.test_execute_bybit import bybit_section

__all__ = ["desk"]  # the fixture

REFUSAL = ConversionRejected("-5006: Only transfer once in 24 hours", kind="cooldown")


def local_conversion(d: Desk, *, account: str = "main", exchange: str = "binance") -> int:
    """A small-balance conversion in the local history, stamped now; its time in ms."""
    d.ledger.add(
        exchange=exchange,
        account=account,
        kind="conversion",
        asset="XRP",
        qty=D("1"),
        status="converted",
    )
    (record,) = [r for r in d.ledger.records(kind="conversion") if r.account == account]
    return int(datetime.fromisoformat(record.time.replace("Z", "+00:00")).timestamp() * 1000)


def test_an_exchange_without_a_cooldown_gets_no_invented_end_time(desk: DeskFactory) -> None:
    d = desk("bybit", bybit_section({"XRP": "0.5"}))
    busy = ConversionRejected("700021: another conversion is processing", kind="cooldown")
    err = cooldown_after_refusal(d.exchange, d.ledger, "main", 6 * 3600, busy)
    assert str(err) == (
        "bybit account 'main': the exchange refuses another small-balance conversion for now "
        "(try again later): 700021: another conversion is processing"
    )
    assert err.until_ms is None


def test_an_unreadable_exchange_log_falls_back_to_the_local_history(desk: DeskFactory) -> None:
    d = desk()
    d.server.faults.add("http", DRIBBLET, status=500)  # every read of the log fails
    last = local_conversion(d)
    err = cooldown_after_refusal(d.exchange, d.ledger, "main", 2 * 3600, REFUSAL)
    assert err.until_ms == last + 2 * HOUR_MS
    assert str(err) == (
        "binance account 'main': the exchange refuses another small-balance conversion "
        f"until {iso_ms(last + 2 * HOUR_MS)}: {REFUSAL}"
    )


def test_the_later_of_the_log_and_the_local_history_dates_the_refusal(desk: DeskFactory) -> None:
    d = desk()
    execute_conversion(d.plan("BNB", assets=frozenset({"XRP"})), d.context())
    remote = d.dialect.account("main").dribblets[-1]["operateTime"]
    d.advance(HOUR_MS)
    later = remote + HOUR_MS  # the local record is stamped an hour after the exchange's log
    d.ledger.add(
        exchange="binance",
        account="main",
        kind="conversion",
        asset="TRX",
        qty=D("1"),
        status="converted",
        time=datetime.fromtimestamp(later / 1000, UTC),
    )
    err = cooldown_after_refusal(d.exchange, d.ledger, "main", 6 * 3600, REFUSAL)
    assert err.until_ms == later + 6 * HOUR_MS


def test_another_accounts_or_exchanges_conversion_does_not_date_this_refusal(
    desk: DeskFactory,
) -> None:
    d = desk()
    local_conversion(d, account="other")
    local_conversion(d, exchange="bybit")
    err = cooldown_after_refusal(d.exchange, d.ledger, "main", 6 * 3600, REFUSAL)
    assert err.until_ms is None
    assert str(err) == (
        "binance account 'main': the exchange refuses another small-balance conversion "
        f"for now (end time unknown): {REFUSAL}"
    )


def test_a_cooldown_of_0_has_no_end_time_and_of_1_second_ends_a_second_later(
    desk: DeskFactory,
) -> None:
    d = desk()
    last = local_conversion(d)
    assert cooldown_after_refusal(d.exchange, d.ledger, "main", 0, REFUSAL).until_ms is None
    assert cooldown_after_refusal(d.exchange, d.ledger, "main", 1, REFUSAL).until_ms == last + 1000


@pytest.mark.parametrize(
    ("cooldown_s", "said"),
    [
        (1800, "one every 1800 s"),
        (3599, "one every 3599 s"),
        (3600, "one every 1 h"),
        (5400, "one every 1.5 h"),
        (7200, "one every 2 h"),
    ],
)
def test_the_period_is_said_in_hours_from_one_hour_on(
    desk: DeskFactory, cooldown_s: int, said: str
) -> None:
    d = desk()
    local_conversion(d)
    with pytest.raises(CooldownActive) as err:
        check_cooldown(d.exchange, d.ledger, "main", cooldown_s, d.context().server_now_ms())
    assert str(err.value).endswith(f"per the local history; {said})")


def test_the_cooldown_ends_exactly_cooldown_s_after_the_last_conversion(
    desk: DeskFactory,
) -> None:
    d = desk()
    last = local_conversion(d)
    with pytest.raises(CooldownActive) as err:
        check_cooldown(d.exchange, d.ledger, "main", 1, last + 999)
    assert err.value.until_ms == last + 1000
    check_cooldown(d.exchange, d.ledger, "main", 1, last + 1000)  # over: no error


def test_no_cooldown_period_reads_nothing(desk: DeskFactory) -> None:
    d = desk()
    last = local_conversion(d)
    before = d.count("GET", DRIBBLET)
    check_cooldown(d.exchange, d.ledger, "main", 0, last)
    check_cooldown(d.exchange, d.ledger, "main", 6 * 3600, last, applies=False)
    assert d.count("GET", DRIBBLET) == before


def test_a_conversion_on_another_exchange_does_not_start_this_ones_cooldown(
    desk: DeskFactory,
) -> None:
    d = desk()
    last = local_conversion(d, exchange="bybit")  # the same account name, elsewhere
    check_cooldown(d.exchange, d.ledger, "main", 6 * 3600, last + 1000)


def test_the_end_time_is_shown_in_utc_whatever_the_machines_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert iso_ms(0) == "1970-01-01T00:00:00Z"
        assert iso_ms(1) == "1970-01-01T00:00:01Z"  # rounded up to the second
    finally:
        monkeypatch.undo()
        time.tzset()
