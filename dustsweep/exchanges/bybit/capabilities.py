"""What the Bybit adapter can do, as the core reads it. Imports no SDK (config validation
reads it through ``exchanges.capabilities_of`` without loading pybit)."""

from __future__ import annotations

from dustsweep.exchanges.base import Capabilities, OrderPacing

# The documented block after a 403 "access too frequent" is at least 10 minutes.
BAN_DEFAULT_S = 600.0
# "Convert Small Balances": at most 20 coins per quote, into MNT, USDT or USDC; a quote lives
# 30 s (bybit-api.md §6.2).
TARGETS = ("MNT", "USDT", "USDC")
MAX_COINS_PER_QUOTE = 20
QUOTE_TTL_MS = 30_000

CAPABILITIES = Capabilities(
    # 20 spot orders per second per account (order create); 18 keeps a margin.
    order_pacing=OrderPacing(orders=18, window_s=1.0),
    notional_price=False,  # minOrderAmt is judged at the book, which the ticker price follows
    native_targets=TARGETS,
    eligibility_target=None,  # the small-balance list holds for every target
    conversion_cooldown=False,
    conversion_batch_limit=MAX_COINS_PER_QUOTE,
    conversion_quote_ttl_ms=QUOTE_TTL_MS,
    previews_in_batches=True,  # preview_conversion_all: one quote per 20 coins
    quotes_exact_assets=True,  # quote_conversion
    finds_conversion=True,  # find_conversion: the history by quote id
    conversion_log=False,
    rfq_convert=True,  # /v5/asset/exchange/*
    rfq_status_by_quote=True,  # an executed quote's order id is its quote id
    delist_announcements=True,  # GET /v5/announcements/index?type=delistings (no schedule)
    history_log=True,  # history_pages: small-balance and Convert logs
    key_files=False,  # HMAC secrets only (config refuses a key file for Bybit)
    ban_default_s=BAN_DEFAULT_S,
)
