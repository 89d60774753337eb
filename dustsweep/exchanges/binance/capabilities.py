"""What the Binance adapter can do, as the core reads it. Imports no SDK (config validation
reads it through ``exchanges.capabilities_of`` without loading python-binance)."""

from __future__ import annotations

from dustsweep.exchanges.base import Capabilities

# A 418 without Retry-After (and no "banned until <ms>" in its message): bans run from 2
# minutes to 3 days, so 10 minutes is a cautious guess that does not lengthen a short ban by
# coming back too early, without stopping a daily cron for a whole day.
BAN_DEFAULT_S = 600.0

CAPABILITIES = Capabilities(
    # The ORDERS limit (50 / 10 s) counts UNFILLED orders only ("Spot Unfilled Order Count
    # Rules"): a market sell fills at once, so pacing would only slow a run down; a -1015 / 429
    # is still honoured through Retry-After.
    order_pacing=None,
    notional_price=True,  # NOTIONAL / MIN_NOTIONAL judge at avgPrice, not the last trade
    native_targets=(),  # BNB plus whatever dust-convert accepts: ask it
    eligibility_target="BNB",  # fetch_convertible reads dust-btc: eligibility into BNB only
    conversion_cooldown=True,  # one conversion per period (-5006 meanwhile; cooldown_hours)
    conversion_batch_limit=None,  # no documented limit per request
    conversion_quote_ttl_ms=None,  # a preview is not a quote
    conversion_log=True,  # the dribblet log (conversions_since)
    rfq_convert=True,  # /sapi/v1/convert/*
    rfq_status_by_quote=True,  # orderStatus?quoteId=
    delist_schedule=True,  # GET /sapi/v1/spot/delist-schedule
    history_log=True,  # history_pages: small-balance and Convert logs
    key_files=True,  # Ed25519 / RSA API keys sign with the private key
    ban_default_s=BAN_DEFAULT_S,
)
