"""The Binance delisting schedule and the BNB fee setting, for the Binance adapter. No SDK.

``GET /sapi/v1/spot/delist-schedule`` (weight 100, public market data since 2026: python-binance
sends it unsigned; Binance answers either way) lists ``[{"delistTime", "symbols": [...]}]``.
``GET /sapi/v1/bnbBurn`` (USER_DATA) says whether spot fees are paid in BNB (``spotBNBBurn``):
when they are not, every buy pays its fee in the coin bought and leaves a remainder below the
lot step, which is where dust comes from.
"""

from __future__ import annotations

from typing import Any

from dustsweep.errors import AuthError, ExchangeError
from dustsweep.exchanges.binance import parse
from dustsweep.exchanges.binance.transport import BinanceTransport

# "Mandatory parameter 'signature' was not sent", "Signature for this request is not valid."
WANTS_SIGNATURE = frozenset({-1102, -1022})


class DelistApi:
    """``fetch_delist_schedule`` and ``bnb_fees_on`` (mixed into ``BinanceExchange``)."""

    _transport: BinanceTransport

    def fetch_delist_schedule(self) -> list[tuple[int, list[str]]]:
        """``delist_schedule``: (close time in ms, symbols) batches, as Binance lists them.

        Sent unsigned, as the 2026 connectors do; older docs list the endpoint as signed, so
        an answer asking for a signature (-1102, or a key error) is followed by one signed
        request: either reading of the docs works."""
        t = self._transport
        action = "read the delisting schedule (GET /sapi/v1/spot/delist-schedule)"
        try:
            return t.read(t.ctx(action), lambda c: c.get_spot_delist_schedule(), parse_schedule)
        except ExchangeError as err:
            if not (isinstance(err, AuthError) or err.code in WANTS_SIGNATURE):
                raise
        return t.read(
            t.ctx(f"{action}, signed"),
            lambda c: c._request_margin_api("get", "spot/delist-schedule", True, data={}),
            parse_schedule,
        )

    def bnb_fees_on(self) -> bool:
        """True when spot trading fees are paid in BNB (GET /sapi/v1/bnbBurn)."""
        t = self._transport
        return t.read(
            t.ctx("read the BNB fee setting (GET /sapi/v1/bnbBurn)"),
            lambda c: c.get_bnb_burn_spot_margin(),
            lambda body: parse.as_dict(body, "bnbBurn").get("spotBNBBurn") is True,
        )


def parse_schedule(body: object) -> list[tuple[int, list[str]]]:
    """``[{"delistTime": 1686161202000, "symbols": ["ADAUSDT"]}]`` -> [(ms, symbols)].
    Anything else is an answer we cannot read (the transport reports it as such)."""
    batches: list[tuple[int, list[str]]] = []
    for entry in parse.as_list(body, "delist-schedule"):
        row: dict[str, Any] = parse.as_dict(entry, "delist-schedule entry")
        when = int(row["delistTime"])
        symbols = parse.as_list(row.get("symbols") or [], "delist-schedule symbols")
        batches.append((when, [str(s) for s in symbols]))
    return batches
