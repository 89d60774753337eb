"""The one request loop both transports share (``exchanges.retry``): which failures are tried
again, how long it waits, and that a ban stops the next request before it is sent.

``send`` here is a plain function standing in for a transport's single attempt (which already
translated SDK errors): the loop itself is what is under test. That both transports run
through it is checked end to end in the adapters' own tests (rate limits and bans at the
simulator)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dustsweep.errors import Banned, NetworkError, OrderRejected, RateLimited, ServerError
from dustsweep.exchanges.bans import REGISTRY, BanActive
from dustsweep.exchanges.retry import READS, Endpoint, RetryPolicy, call_with_retries

HOST = Endpoint("binance", "api.example.test", "main")


class Script:
    """Raises the scripted errors in order, then answers "ok"; counts attempts and sleeps."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.attempts = 0
        self.slept: list[float] = []

    def send(self) -> str:
        self.attempts += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"

    def run(self, *, retry: bool, pace: Callable[[], None] | None = None) -> str:
        return call_with_retries(HOST, self.send, retry=retry, sleep=self.slept.append, pace=pace)


def test_a_read_waits_out_a_short_rate_limit_then_succeeds() -> None:
    script = Script(RateLimited("429", retry_after=2.0), RateLimited("429", retry_after=0.5))
    assert script.run(retry=True) == "ok"
    assert script.attempts == 3
    assert script.slept == [2.0, 0.5]


def test_rate_limits_are_retried_at_most_twice() -> None:
    script = Script(*(RateLimited("429", retry_after=1.0) for _ in range(3)))
    with pytest.raises(RateLimited):
        script.run(retry=True)
    assert script.attempts == READS.rate_limit_retries + 1 == 3
    assert script.slept == [1.0, 1.0]


@pytest.mark.parametrize("retry_after", [None, 30.5, 600.0])
def test_an_unknown_or_long_rate_limit_is_not_waited_out(retry_after: float | None) -> None:
    script = Script(RateLimited("429", retry_after=retry_after))
    with pytest.raises(RateLimited):
        script.run(retry=True)
    assert script.attempts == 1
    assert script.slept == []


def test_thirty_seconds_is_still_waited() -> None:
    script = Script(RateLimited("429", retry_after=30.0))
    assert script.run(retry=True) == "ok"
    assert script.slept == [30.0]


@pytest.mark.parametrize(
    "error",
    [
        RateLimited("429", retry_after=1.0),
        ServerError("502"),
        NetworkError("timeout: outcome unknown"),
    ],
)
def test_an_order_or_a_conversion_is_never_sent_twice(error: Exception) -> None:
    script = Script(error)
    with pytest.raises(type(error)):
        script.run(retry=False)
    assert script.attempts == 1
    assert script.slept == []


@pytest.mark.parametrize("error", [ServerError("503"), NetworkError("reset")])
def test_a_read_backs_off_after_a_5xx_or_a_timeout_twice_at_most(error: Exception) -> None:
    ok = Script(error, error)
    assert ok.run(retry=True) == "ok"
    assert ok.slept == list(READS.failure_waits_s) == [0.25, 1.0]
    failing = Script(error, error, error)
    with pytest.raises(type(error)):
        failing.run(retry=True)
    assert failing.attempts == 3


def test_rate_limits_and_failures_are_counted_apart() -> None:
    script = Script(
        ServerError("502"),
        RateLimited("429", retry_after=1.0),
        NetworkError("reset"),
        RateLimited("429", retry_after=2.0),
    )
    assert script.run(retry=True) == "ok"
    assert script.slept == [0.25, 1.0, 1.0, 2.0]


def test_other_errors_pass_through_at_once() -> None:
    script = Script(OrderRejected("too small", kind="filter"))
    with pytest.raises(OrderRejected):
        script.run(retry=True)
    assert script.attempts == 1


def test_a_ban_is_recorded_and_stops_the_next_request_before_it_is_sent() -> None:
    script = Script(Banned("418", retry_after=120.0, http_status=418))
    with pytest.raises(Banned):
        script.run(retry=True)
    assert script.attempts == 1
    assert REGISTRY.active(HOST.exchange, HOST.host) is not None
    with pytest.raises(Banned) as caught:
        script.run(retry=True)
    assert not isinstance(caught.value, BanActive)  # seen by this run, not an earlier one
    assert script.attempts == 1  # nothing was sent
    other = Endpoint("bybit", HOST.host, "main")
    assert call_with_retries(other, lambda: "ok", retry=True, sleep=script.slept.append) == "ok"


def test_pace_runs_before_every_attempt() -> None:
    order: list[str] = []
    script = Script(ServerError("502"))

    def send() -> str:
        order.append("send")
        return script.send()

    def pace() -> None:
        order.append("pace")

    call_with_retries(HOST, send, retry=True, sleep=script.slept.append, pace=pace)
    assert order == ["pace", "send", "pace", "send"]


def test_a_policy_changes_the_limits() -> None:
    policy = RetryPolicy(rate_limit_retries=0, max_wait_s=5.0, failure_waits_s=(0.1,))
    script = Script(ServerError("502"), RateLimited("429", retry_after=1.0))
    with pytest.raises(RateLimited):
        call_with_retries(HOST, script.send, retry=True, sleep=script.slept.append, policy=policy)
    assert script.slept == [0.1]
