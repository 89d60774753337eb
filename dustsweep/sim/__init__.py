"""The exchange simulator: Binance and Bybit dialects over real HTTP on 127.0.0.1.

It is what lets every test drive the real python-binance and pybit clients, and what lets
``dustsweep demo`` run with no keys and no network. See ``start_sim`` in ``dustsweep.sim.run``.
"""
