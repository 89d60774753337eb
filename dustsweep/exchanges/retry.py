"""The one loop both transports run a request in: pacing, bans, and bounded retries of reads.

Why one loop: the Binance transport and the Bybit wire had the same policy written twice, and
a change to one (a ban check, a back-off) had to be remembered in the other. The policy:
- before every attempt the transport's ``pace`` may pause (a nearly spent request budget);
- a host under an IP ban is not called at all (``bans.REGISTRY.check``), and every ``Banned``
  answer is recorded there, so one ban stops every worker and account at once;
- only a call that moves nothing (``retry=True``: reads, quotes) is tried again: after a rate
  limit whose Retry-After is known and short (at most ``max_wait_s``, ``rate_limit_retries``
  times), and after a 5xx, a timeout or an unreadable body with a short back-off. An order or a
  conversion execution never is: its outcome may be unknown and the caller reconciles.

Imports no SDK; ``send`` is the transport's single attempt, which already translated errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from dustsweep.errors import Banned, NetworkError, RateLimited, ServerError
from dustsweep.exchanges.bans import REGISTRY as BANS

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a read is tried again."""

    rate_limit_retries: int = 2  # extra attempts after a rate limit
    max_wait_s: float = 30.0  # a longer Retry-After is not waited out: the caller decides
    # Back-off before the extra attempts after a 5xx, a timeout or a truncated body: a read
    # moves nothing, and one flaky answer must not cost the account its sales.
    failure_waits_s: tuple[float, ...] = (0.25, 1.0)


READS = RetryPolicy()


@dataclass(frozen=True)
class Endpoint:
    """Who is called: the exchange and host a ban applies to, the account for messages."""

    exchange: str
    host: str
    account: str


def call_with_retries(
    endpoint: Endpoint,
    send: Callable[[], T],
    *,
    retry: bool,
    sleep: Callable[[float], None],
    pace: Callable[[], None] | None = None,
    policy: RetryPolicy = READS,
) -> T:
    """Run ``send`` under the policy of the module docstring; its errors pass on unchanged."""
    rate_limited = failures = 0
    while True:
        if pace is not None:
            pace()
        BANS.check(endpoint.exchange, endpoint.host, endpoint.account)
        try:
            return send()
        except Banned as err:
            BANS.record(endpoint.exchange, endpoint.host, err)
            raise
        except RateLimited as err:
            wait = err.retry_after
            if not retry or rate_limited >= policy.rate_limit_retries:
                raise
            if wait is None or wait > policy.max_wait_s:
                raise
            rate_limited += 1
            sleep(wait)
        except (ServerError, NetworkError):
            if not retry or failures >= len(policy.failure_waits_s):
                raise
            sleep(policy.failure_waits_s[failures])
            failures += 1
