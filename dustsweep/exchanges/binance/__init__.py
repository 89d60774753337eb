"""The Binance spot adapter: ``adapter`` (what to call), ``transport`` and ``client`` (how, the
only modules touching python-binance, imported lazily), ``errors``, ``parse``, ``budget``,
``smallbalance`` (dust -> BNB, dust-convert), ``convert`` / ``convert_parse`` (Binance Convert,
the RFQ route), ``checks`` (``doctor`` rows) and ``capabilities``. Imports nothing here, so the
registry can read ``capabilities`` without the SDK."""
