"""Binance's own conversion logs, read for ``history sync``. Imports no SDK.

Two logs (binance-api.md §7.3, §8):
- ``GET /sapi/v1/asset/dribblet``: small-balance conversions, only the last 100 records of a
  query. Read in windows; a window that comes back full is split, so nothing is cut off.
- ``GET /sapi/v1/convert/tradeFlow``: Convert trades; startTime and endTime are required and at
  most 30 days apart (a longer window is refused, or by some reports answered with nothing:
  either way it is never sent). No cursor: a window with ``moreData`` is split.
Each window's lines are yielded as soon as they are read, so that a sync failing halfway keeps
what it merged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from dustsweep.core.history_log import CONVERT, SMALLBALANCE, LoggedConversion
from dustsweep.exchanges.binance.parse import as_dict, as_list, dec, ms
from dustsweep.exchanges.binance.transport import BinanceTransport

DAY_MS = 86_400_000
WINDOW_MS = 30 * DAY_MS  # tradeFlow's largest window; the dust log uses the same
MIN_WINDOW_MS = 60_000  # below this a full window is accepted as is (never loops)
DUST_LOG_CAP = 100  # records one dribblet answer holds at most
FLOW_LIMIT = 1000  # tradeFlow's largest page
DUST_LOG_START_MS = 1_606_780_800_000  # 2020-12-01 UTC: the dust log holds nothing older


def windows(since_ms: int, until_ms: int, size: int = WINDOW_MS) -> list[tuple[int, int]]:
    """[since, until] cut into inclusive windows of at most ``size`` ms, newest first."""
    out: list[tuple[int, int]] = []
    end = until_ms
    while end >= since_ms:
        start = max(since_ms, end - size + 1)
        out.append((start, end))
        end = start - 1
    return out


class HistoryApi:
    """``history_pages`` for the Binance adapter (a mixin over its transport)."""

    _transport: BinanceTransport

    def history_pages(self, since_ms: int, until_ms: int) -> Iterator[list[LoggedConversion]]:
        """Every logged conversion between the two times (exchange ms), a window at a time."""
        for start, end in windows(max(since_ms, DUST_LOG_START_MS), until_ms):
            yield from self._split(start, end, self._dust_window)
        for start, end in windows(since_ms, until_ms):
            yield from self._split(start, end, self._flow_window)

    def _split(
        self,
        start: int,
        end: int,
        read: Callable[[int, int], tuple[list[LoggedConversion], bool]],
    ) -> Iterator[list[LoggedConversion]]:
        lines, full = read(start, end)
        if full and end - start > MIN_WINDOW_MS:
            middle = start + (end - start) // 2
            yield from self._split(middle + 1, end, read)
            yield from self._split(start, middle, read)
            return
        yield lines

    def _dust_window(self, start: int, end: int) -> tuple[list[LoggedConversion], bool]:
        t = self._transport
        return t.read(
            t.ctx(f"read the dust log {start}..{end} (GET /sapi/v1/asset/dribblet)"),
            lambda c: c.get_dust_log(startTime=start, endTime=end),
            dust_lines,
        )

    def _flow_window(self, start: int, end: int) -> tuple[list[LoggedConversion], bool]:
        t = self._transport
        return t.read(
            t.ctx(f"read Convert trades {start}..{end} (GET /sapi/v1/convert/tradeFlow)"),
            lambda c: c.get_convert_trade_history(startTime=start, endTime=end, limit=FLOW_LIMIT),
            flow_lines,
        )


def _when(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp / 1000, UTC)


def dust_lines(body: object) -> tuple[list[LoggedConversion], bool]:
    """The dribblet answer as one line per converted asset, and whether it came back full.

    ``transferedAmount`` is net (the log example: amount received minus the charge), so the
    gross is net + ``serviceChargeAmount``. The documented log names no target: BNB, unless a
    line says otherwise (dust-convert lines in the simulator carry ``targetAsset``).
    """
    data = as_dict(body, "dribblet")
    batches = as_list(data.get("userAssetDribblets") or [], "userAssetDribblets")
    lines: list[LoggedConversion] = []
    for batch in batches:
        batch = as_dict(batch, "dribblet record")
        batch_id = str(batch.get("transId") or "")
        for detail in as_list(batch.get("userAssetDribbletDetails") or [], "details"):
            lines.append(_dust_line(batch, batch_id, as_dict(detail, "dribblet detail")))
    return lines, len(batches) >= DUST_LOG_CAP


def _dust_line(batch: dict[str, Any], batch_id: str, d: dict[str, Any]) -> LoggedConversion:
    stamp = ms(d.get("operateTime")) or ms(batch.get("operateTime"))
    if stamp is None:
        raise ValueError("a dust log line without operateTime")
    asset = str(d["fromAsset"])
    line_id = str(d.get("transId") or d.get("tranId") or "")
    net = dec(d.get("transferedAmount"), "transferedAmount")
    fee = dec(d.get("serviceChargeAmount") or "0", "serviceChargeAmount")
    return LoggedConversion(
        route=SMALLBALANCE,
        ext_id=f"dust:{batch_id or line_id}:{asset}",
        ids=frozenset(i for i in (batch_id, line_id) if i),
        order_id=line_id or batch_id,
        client_id=None,
        time=_when(stamp),
        asset=asset,
        amount=dec(d.get("amount"), "amount"),
        received_asset=str(d.get("targetAsset") or batch.get("targetAsset") or "BNB"),
        received=net + fee,
        fee=fee,
    )


def flow_lines(body: object) -> tuple[list[LoggedConversion], bool]:
    """The tradeFlow answer: successful trades only (PROCESS/FAIL ones moved nothing yet)."""
    data = as_dict(body, "tradeFlow")
    lines: list[LoggedConversion] = []
    for row in as_list(data.get("list") or [], "list"):
        row = as_dict(row, "trade")
        if str(row.get("orderStatus")) != "SUCCESS":
            continue
        stamp = ms(row.get("createTime"))
        if stamp is None:
            raise ValueError("a Convert trade without createTime")
        order_id = str(row["orderId"])
        lines.append(
            LoggedConversion(
                route=CONVERT,
                ext_id=f"convert:{order_id}",
                ids=frozenset(i for i in (order_id, str(row.get("quoteId") or "")) if i),
                order_id=order_id,
                client_id=str(row.get("quoteId") or "") or None,
                time=_when(stamp),
                asset=str(row["fromAsset"]),
                amount=dec(row.get("fromAmount"), "fromAmount"),
                received_asset=str(row["toAsset"]),
                received=dec(row.get("toAmount"), "toAmount"),
                fee=dec("0"),
            )
        )
    return lines, bool(data.get("moreData"))
