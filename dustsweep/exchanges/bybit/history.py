"""Bybit's own conversion logs, read for ``history sync``. Imports no SDK.

- ``GET /v5/asset/covert/small-balance-history``: small-balance conversions; ``cursor`` is a
  page number, ``size`` at most 100, ``lastPage`` says when to stop. Read in 7-day windows: no
  window limit is documented, but many Bybit history endpoints refuse longer ones.
- ``GET /v5/asset/exchange/query-convert-history``: Convert trades, newest first, ``index``
  pages of at most 100 and no time filter: read until a page is short or older than ``since``.
Each page is yielded as soon as it is read, so that a sync failing halfway keeps what it merged.
No accountType is sent: the default covers the trading wallet, and web/app records where the
exchange includes them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from dustsweep.core.history_log import CONVERT, SMALLBALANCE, LoggedConversion
from dustsweep.exchanges.bybit import parse
from dustsweep.exchanges.bybit.errors import Wire

WINDOW_MS = 7 * 86_400_000
PAGE_SIZE = 100
MAX_PAGES = 1000  # a log that never says "last page" must not loop forever
DONE = frozenset({"success", "partial_fulfillment"})


def windows(since_ms: int, until_ms: int) -> list[tuple[int, int]]:
    """[since, until] cut into inclusive windows of at most 7 days, newest first."""
    out: list[tuple[int, int]] = []
    end = until_ms
    while end >= since_ms:
        start = max(since_ms, end - WINDOW_MS + 1)
        out.append((start, end))
        end = start - 1
    return out


class HistoryReader:
    """``history_pages`` for the Bybit adapter."""

    def __init__(self, wire: Wire) -> None:
        self._wire = wire

    def pages(self, since_ms: int, until_ms: int) -> Iterator[list[LoggedConversion]]:
        for start, end in windows(since_ms, until_ms):
            yield from self._small_balance(start, end)
        yield from self._convert(since_ms, until_ms)

    def _small_balance(self, start: int, end: int) -> Iterator[list[LoggedConversion]]:
        for page in range(1, MAX_PAGES + 1):
            action = f"read small-balance history {start}..{end} page {page}"
            envelope = self._wire.call(
                "get_exchange_history_small_balance",
                action,
                startTime=str(start),
                endTime=str(end),
                cursor=str(page),
                size=str(PAGE_SIZE),
            )
            with self._wire.reading(action):
                result = parse.result_of(envelope)
                records = list(result.get("records") or [])
                yield [line for r in records for line in small_balance_lines(r)]
                last = int(result.get("lastPage") or page)
            if not records or page >= last:
                return

    def _convert(self, since_ms: int, until_ms: int) -> Iterator[list[LoggedConversion]]:
        for index in range(1, MAX_PAGES + 1):
            action = f"read Convert history page {index}"
            envelope = self._wire.call(
                "get_convert_history", action, index=str(index), limit=str(PAGE_SIZE)
            )
            with self._wire.reading(action):
                rows = list(parse.result_of(envelope).get("list") or [])
                lines = [convert_line(r) for r in rows]
            yield [
                x
                for x in lines
                if x is not None and since_ms <= x.time.timestamp() * 1000 <= until_ms
            ]
            oldest = min((_created(r) for r in rows), default=None)
            if len(rows) < PAGE_SIZE or (oldest is not None and oldest < since_ms):
                return


def _created(row: Mapping[str, Any]) -> int:
    return int(str(row["createdAt"]))


def _when(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp / 1000, UTC)


def small_balance_lines(record: Mapping[str, Any]) -> list[LoggedConversion]:
    """The converted coins of one final record (subRecord ``toAmount`` is net of its fee)."""
    if str(record.get("status")) not in DONE:
        return []
    tx_id = str(record["exchangeTxId"])
    lines = []
    for sub in record.get("subRecords") or []:
        if str(sub.get("status")) != "success":
            continue
        fee = parse.dec(sub.get("feeAmount"), "feeAmount")
        asset = str(sub["fromCoin"])
        lines.append(
            LoggedConversion(
                route=SMALLBALANCE,
                ext_id=f"sb:{tx_id}:{asset}",
                ids=frozenset({tx_id}),
                order_id=tx_id,
                client_id=None,
                time=_when(_created(record)),
                asset=asset,
                amount=parse.dec(sub.get("fromAmount"), "fromAmount"),
                received_asset=str(sub.get("toCoin") or record.get("toCoin")),
                received=parse.dec(sub.get("toAmount"), "toAmount") + fee,
                fee=fee,
            )
        )
    return lines


def convert_line(row: Mapping[str, Any]) -> LoggedConversion | None:
    """One Convert trade; only ``success`` ones moved money."""
    if str(row.get("exchangeStatus")) != "success":
        return None
    tx_id = str(row["exchangeTxId"])
    return LoggedConversion(
        route=CONVERT,
        ext_id=f"convert:{tx_id}",
        ids=frozenset({tx_id}),
        order_id=tx_id,
        client_id=tx_id,  # dustsweep records the quote id, which is the tx id
        time=_when(_created(row)),
        asset=str(row["fromCoin"]),
        amount=parse.dec(row.get("fromAmount"), "fromAmount"),
        received_asset=str(row["toCoin"]),
        received=parse.dec(row.get("toAmount"), "toAmount"),
        fee=parse.dec("0"),
    )
