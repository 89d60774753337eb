"""dustsweep: find and clean up crypto dust in Binance and Bybit spot accounts."""

__version__ = "0.1.0"
