"""Output: rich tables for people, one JSON document or CSV for programs; one module per command.

Data goes to stdout, diagnostics to stderr. Nothing here knows an exchange; it renders the
core's reports. Decimals are written with format(d, "f") so no exponent ever appears.
"""
