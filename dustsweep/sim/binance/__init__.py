"""The simulator's Binance dialect: spot, small-balance conversion (dust) and Convert.

``dialect.BinanceSim`` routes each request (``routes``) to a desk that owns one concern:
``market`` and ``info`` (rules, prices), ``orders`` (spot orders, checked by ``order_rules``),
``smallbalance`` (dust->BNB, dust-convert), ``convert`` (quote-based Convert). ``auth`` checks
keys and signatures; ``wire`` holds the error codes, messages and parameter parsing.
"""
