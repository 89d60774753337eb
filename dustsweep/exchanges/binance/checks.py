"""The ``dustsweep doctor`` rows of a Binance account: clock, keys, signing, permissions,
the conversion endpoint. Every exchange error becomes a row; nothing here raises one."""

from __future__ import annotations

from typing import Any, Protocol

from dustsweep.errors import ExchangeError
from dustsweep.exchanges.binance import parse
from dustsweep.exchanges.binance.errors import unavailable
from dustsweep.exchanges.binance.transport import BinanceTransport

CLOCK_TOLERANCE_MS = 1000
_PROBE_ID = "dustsweep:doctor/probe"  # legal client-id characters that need encoding


class Probed(Protocol):
    """The adapter methods the checks call."""

    def sync_clock(self) -> int: ...

    def fetch_convertible(self) -> frozenset[str] | None: ...

    def bnb_fees_on(self) -> bool: ...


def check_access(exchange: Probed, transport: BinanceTransport) -> list[tuple[str, bool, str]]:
    """Rows for ``dustsweep doctor``: (check, ok, detail). Exchange errors become rows.

    The clock goes first: its offset is applied, so a skewed machine still gets an answer
    to "are the keys accepted" instead of a -1021.
    """
    rows: list[tuple[str, bool, str]] = []
    try:
        offset = exchange.sync_clock()
        ok = abs(offset) <= CLOCK_TOLERANCE_MS
        rows.append(("clock", ok, f"offset {offset} ms (limit {CLOCK_TOLERANCE_MS} ms)"))
    except ExchangeError as err:
        rows.append(("clock", False, str(err)))
    try:
        account = transport.read(
            transport.ctx("signed read (GET /api/v3/account)"),
            lambda c: c.get_account(omitZeroBalances="true"),
            lambda body: parse.as_dict(body, "account"),
        )
    except ExchangeError as err:
        return [("keys accepted", False, str(err)), *rows]
    rows.insert(0, ("keys accepted", True, "a signed read of the account worked"))
    rows.append(_encoded_signing_row(transport))
    rows.extend(_permission_rows(transport, account))
    rows.append(_conversion_row(exchange))
    rows.append(bnb_fees_row(exchange))
    return rows


def bnb_fees_row(exchange: Probed) -> tuple[str, bool, str]:
    """``bnb_fees``: paying spot fees in BNB is the setting that stops new dust. Without it a
    buy pays its fee in the coin bought, leaving a remainder below the lot step."""
    name = "bnb_fees"
    try:
        on = exchange.bnb_fees_on()
    except ExchangeError as err:
        return (name, True, f"warning: could not read the BNB fee setting ({err})")
    if on:
        return (name, True, "spot fees are paid in BNB (spotBNBBurn=true): buys leave no fee dust")
    return (
        name,
        False,
        "warning: spot fees are paid in the coin bought (spotBNBBurn=false), so every buy "
        "leaves a remainder below the lot step; turn on 'Use BNB to pay for fees' (Dashboard > "
        "Settings, or POST /sapi/v1/bnbBurn spotBNBBurn=true) and keep a little BNB",
    )


def _encoded_signing_row(transport: BinanceTransport) -> tuple[str, bool, str]:
    """A signed look-up whose value must be percent-encoded (``:`` and ``/``, legal in a
    client id): the answer "no such order" proves Binance verified the encoded form, the
    form multi-asset conversions depend on. A -1022 here is the defect of issue 8."""
    name = "encoded values signed"
    try:
        transport.read(
            transport.ctx("signed look-up with encoded values (GET /api/v3/order)"),
            lambda c: c.get_order(symbol="BNBUSDT", origClientOrderId=_PROBE_ID),
            lambda body: body,
        )
    except ExchangeError as err:
        if err.code == -2013:
            return (name, True, "a signed request with percent-encoded values was accepted")
        if err.code == -1022:
            return (name, False, str(err))
        return (name, True, f"warning: could not check ({err})")
    return (name, True, "a signed request with percent-encoded values was accepted")


def _conversion_row(exchange: Probed) -> tuple[str, bool, str]:
    name = "conversion endpoint"
    try:
        assets = exchange.fetch_convertible()
    except ExchangeError as err:
        return (name, False, str(err))
    if assets is None:
        return (name, False, "dust-btc not available (testnet, or no permission)")
    return (name, True, f"dust-btc lists {len(assets)} asset(s)")


def _permission_rows(
    transport: BinanceTransport, account: dict[str, Any]
) -> list[tuple[str, bool, str]]:
    """From apiRestrictions; falls back to the account's canTrade where /sapi is missing."""
    try:
        perms = transport.read(
            transport.ctx("read key permissions (GET /sapi/v1/account/apiRestrictions)"),
            lambda c: c.get_account_api_permissions(),
            lambda body: parse.as_dict(body, "apiRestrictions"),
        )
    except ExchangeError as err:
        if not unavailable(err):
            return [("key permissions", False, str(err))]
        can_trade = account.get("canTrade") is True
        source = "from the account (apiRestrictions unavailable)"
        return [
            ("reading allowed", True, source),
            ("spot trading allowed", can_trade, f"canTrade={can_trade} {source}"),
        ]
    reading = perms.get("enableReading") is True
    trading = perms.get("enableSpotAndMarginTrading") is True
    rows = [
        ("reading allowed", reading, f"enableReading={reading}"),
        ("spot trading allowed", trading, f"enableSpotAndMarginTrading={trading}"),
    ]
    if perms.get("enableWithdrawals") is True:
        rows.append(
            (
                "withdrawals disabled",
                False,
                "warning: withdrawals are ENABLED on this key; use a key without them",
            )
        )
    if perms.get("ipRestrict") is False:
        rows.append(("IP restriction", False, "warning: the key is not restricted to IPs"))
    return rows
