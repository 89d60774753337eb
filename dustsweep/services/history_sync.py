"""``history sync``: merge the exchanges' own conversion logs into the local history.

Binance keeps only the last 100 dust records and tax tools import a year at most, and
conversions made on the web page, by a broker or on another machine never pass through
dustsweep. A sync reads each account's logs (``Exchange.history_pages``, declared by the
``history_log`` capability) and merges them page by page: a line already in the history (same
exchange id) is skipped, a line that is one of dustsweep's own records is matched (the record
notes the id), and any other line is added as ``source = "exchange"``, ``converted``.

Each page is written as it arrives, so a sync that fails halfway keeps what it merged; the
account's "synced until" mark moves only after a complete sync, so the next run reads the same
stretch again and the ids keep it from adding anything twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from dustsweep.core.history_log import SMALLBALANCE, LoggedConversion, plan_merge
from dustsweep.errors import BanRefused, DustsweepError, ExitCode

if TYPE_CHECKING:
    from dustsweep.config.schema import AccountConfig
    from dustsweep.exchanges.base import Credentials, Exchange
    from dustsweep.services.app import AccountHandle, App
    from dustsweep.storage.ledger import Ledger

logger = logging.getLogger(__name__)

FIRST_SYNC = timedelta(days=365)  # how far back a first sync reads (config ``first_sync_days``)
# A later sync starts this long before the last one ended: a conversion still processing then
# (Bybit settles asynchronously) is logged with its start time and would otherwise be missed.
OVERLAP = timedelta(days=1)
MARKETS = {SMALLBALANCE: "native"}  # how dustsweep's own records name the route


@dataclass
class AccountSync:
    """What one account's sync did, or the error that stopped it (after ``added`` lines)."""

    name: str
    exchange: str
    since: datetime | None = None
    added: int = 0
    matched: int = 0
    known: int = 0
    skipped: str | None = None  # why the account was not synced (no log to read)
    error: DustsweepError | None = None


def start_time(
    ledger: Ledger,
    exchange: str,
    account: str,
    since: datetime | None,
    now: datetime,
    first_sync: timedelta = FIRST_SYNC,
) -> datetime:
    """``since`` when given; else the last sync (less the overlap); else ``first_sync`` back."""
    if since is not None:
        return since
    last = ledger.last_sync(exchange, account)
    if last is None:
        return now - first_sync
    return datetime.fromisoformat(last.replace("Z", "+00:00")) - OVERLAP


def merge_page(
    ledger: Ledger, exchange: str, account: str, page: Sequence[LoggedConversion], run_id: int
) -> tuple[int, int, int]:
    """Write one page: (added, matched, already known)."""
    plan = plan_merge(page, ledger.records(account=account, exchange=exchange))
    for record_id, ext_id in plan.matched:
        ledger.update(record_id, ext_id=ext_id)
    for line in plan.added:
        ledger.add(
            run_id=run_id,
            exchange=exchange,
            account=account,
            kind="conversion",
            asset=line.asset,
            qty=line.amount,
            status="converted",
            received_asset=line.received_asset,
            received_qty=line.received,
            fee=line.fee,
            fee_asset=line.received_asset,
            market=MARKETS.get(line.route, line.route),
            order_id=line.order_id,
            client_id=line.client_id,
            time=line.time,
            source="exchange",
            ext_id=line.ext_id,
        )
    return len(plan.added), len(plan.matched), plan.known


def sync_account(
    ledger: Ledger,
    name: str,
    exchange_name: str,
    exchange: Exchange,
    *,
    since: datetime | None,
    run_id: int,
    first_sync: timedelta = FIRST_SYNC,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> AccountSync:
    """Sync one opened account; errors are kept in the result, never raised."""
    result = AccountSync(name, exchange_name)
    if not exchange.capabilities.history_log:
        result.skipped = "this exchange offers no conversion log"
        return result
    # exchange time: the logs are dated by the exchange's clock
    until = now() + timedelta(milliseconds=exchange.clock_offset_ms)
    start = start_time(ledger, exchange_name, name, since, until, first_sync)
    result.since = start
    try:
        pages = exchange.history_pages(_ms(start), _ms(until))
        for page in pages:
            added, matched, known = merge_page(ledger, exchange_name, name, page, run_id)
            result.added += added
            result.matched += matched
            result.known += known
        ledger.mark_synced(exchange_name, name, until)
    except DustsweepError as exc:
        result.error = exc
    return result


def sync_accounts(
    app: App,
    ledger: Ledger,
    resolved: Sequence[tuple[AccountConfig, Credentials]],
    *,
    since: datetime | None,
    run_id: int,
) -> list[AccountSync]:
    """Open each account and sync it, one after the other (the ledger is one file)."""
    results = []
    for account, creds in resolved:
        try:
            handle = app.open(account, creds)
        except DustsweepError as exc:
            results.append(AccountSync(account.name, account.exchange, error=exc))
            continue
        try:
            results.append(
                sync_account(
                    ledger,
                    account.name,
                    account.exchange,
                    handle.exchange,
                    since=since,
                    run_id=run_id,
                    first_sync=timedelta(days=app.config.first_sync_days),
                )
            )
        finally:
            handle.close()
    return results


def sync_after_sweep(
    ledger: Ledger,
    handles: Mapping[str, AccountHandle],
    run_id: int,
    first_sync: timedelta = FIRST_SYNC,
) -> list[AccountSync]:
    """A live sweep's closing sync over the accounts it opened (``sync_history``): failures are
    logged warnings and never change the sweep's outcome; the next sweep reads them again."""
    results = [
        sync_account(
            ledger,
            name,
            handle.config.exchange,
            handle.exchange,
            since=None,
            run_id=run_id,
            first_sync=first_sync,
        )
        for name, handle in handles.items()
    ]
    log_failures(results)
    return results


def sync_exit_code(results: Sequence[AccountSync]) -> ExitCode:
    """0 all synced; 4 some failed; the error's own code when every account failed."""
    failed = [r for r in results if r.error is not None]
    if not failed:
        return ExitCode.OK
    if len(failed) < len(results):
        return ExitCode.PARTIAL
    first = failed[0].error
    assert first is not None
    return ExitCode(first.exit_code)


def log_failures(results: Sequence[AccountSync]) -> None:
    """One warning per failed sync, except a request refused because the host is banned: the
    ban was reported when it was met, and one problem gets one line."""
    for r in results:
        if isinstance(r.error, BanRefused):
            logger.debug("history sync of %s not attempted: %s", r.name, r.error)
        elif r.error is not None:
            logger.warning("history sync of %s failed: %s", r.name, r.error)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
