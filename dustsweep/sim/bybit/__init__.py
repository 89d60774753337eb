"""The simulator's Bybit dialect: V5 spot, small-balance conversion ("covert") and Convert.

``dialect.BybitSim`` routes each request to a desk that owns one concern: ``market`` (rules,
tickers), ``orders`` (spot orders, with ``order_model``), ``smallbalance`` (the
/v5/asset/covert/* family), ``convert`` (the quote-based /v5/asset/exchange/* Convert), both
under ``conversion_rules``. ``auth`` checks keys, signatures and rate limits; ``wire`` holds the
envelope, ids and number parsing.
"""
