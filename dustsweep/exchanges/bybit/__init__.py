"""The Bybit spot adapter (V5, unified account): ``adapter`` (what to call) and ``wire`` (how:
the only modules that import pybit, at module level, so nothing else may import them eagerly),
``errors``, ``parse``, ``limits``, ``smallbalance`` ("Convert Small Balances"), ``convert`` /
``convert_parse`` (regular Convert, the RFQ route), ``checks`` (``doctor`` rows) and
``capabilities``. Imports nothing here, so the registry can read ``capabilities`` without pybit."""
