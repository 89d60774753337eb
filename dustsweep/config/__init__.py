"""The TOML configuration: where it is found, what it may hold, and one-line errors about it.

The file is the only place a user describes accounts and policy, so every mistake in it must be
reported as ONE line that names the file, the field path and what is wrong (a cron mail with a
pydantic traceback helps nobody). pydantic is imported here and nowhere else; platformdirs only
when the default location is actually needed, so ``dustsweep --help`` stays fast.

API keys normally come from environment variables named in the file (``api_key_env``). Inline
keys are accepted only when the file is private (``chmod 600``): a world-readable secret is
refused rather than warned about, because cron jobs never read warnings. The same holds for a
Binance account's Ed25519/RSA private key file (``api_private_key_file``), which replaces the
HMAC secret; it is loaded here, so a bad file is a config error before anything is sent.
"""
