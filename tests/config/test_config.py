"""Configuration: file lookup, validation messages (one line, exact field), secrets, policy."""

from __future__ import annotations

import os
import re
import sys
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from dustsweep.config.load import load_config, resolve_config_path
from dustsweep.config.schema import AccountConfig, Config
from dustsweep.config.secrets import credentials, redacted_dump, select_accounts
from dustsweep.core.policy import Policy
from dustsweep.errors import ConfigError, ExitCode
from tests.paths import REPO

EXAMPLE = REPO / "config.example.toml"
ACCOUNT = '[[accounts]]\nname = "main"\nexchange = "binance"\n'
SECRET_KEY = "kEy-Th4t-mUst-n0t-leak"
SECRET = "s3cr3t-th4t-mUst-n0t-leak"


def write(tmp_path: Path, text: str, mode: int = 0o600, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    os.chmod(path, mode)
    return path


def error_of(path: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env or {})
    message = str(caught.value)
    assert "\n" not in message, message
    assert caught.value.exit_code == ExitCode.USAGE
    return message


# --------------------------------------------------------------------------- happy path


def test_minimal_file_gets_documented_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ACCOUNT), {})
    assert config.quote == "USDT"
    assert config.dust_threshold == Decimal("10")
    assert config.effective_sell_quotes == ("USDT", "USDC", "FDUSD", "BTC", "BNB", "ETH")
    assert config.notional_margin == Decimal("0.01")
    assert config.fee_rate == Decimal("0.001")
    assert config.rules_ttl_hours == 24
    assert config.rules_ttl_seconds == 24 * 3600
    assert config.cooldown_hours == Decimal("6")
    assert config.cooldown_seconds == 6 * 3600
    assert config.max_value_per_run is None and config.max_value_per_asset is None
    assert config.keep == () and config.only == ()
    assert config.concurrency == 4
    assert config.log_file is None
    account = config.accounts[0]
    assert (account.recv_window_ms, account.timeout_s, account.base_url) == (5000, 10.0, None)
    assert config.account_names() == ["main"]
    assert config.path == tmp_path / "config.toml"


def test_values_are_normalised(tmp_path: Path) -> None:
    text = (
        'quote = "usdc"\ndust_threshold = 2.5\nnotional_margin = "0.05"\n'
        'keep = ["bnb", " Eth ", "BNB"]\nsell_quotes = ["usdc", "btc"]\nonly = ["doge"]\n'
        'cooldown_hours = 24\nmax_value_per_run = "100.50"\nlog_file = "logs/run.log"\n'
        '[[accounts]]\nname = "b"\nexchange = "Bybit"\nconvert_to = "usdt"\n'
        'base_url = "https://api-testnet.bybit.com/"\ntimeout_s = 2.5\n'
    )
    config = load_config(write(tmp_path, text), {})
    assert config.quote == "USDC"
    assert config.dust_threshold == Decimal("2.5")  # a TOML float goes through str(), exactly
    assert config.keep == ("BNB", "ETH")
    assert config.effective_sell_quotes == ("USDC", "BTC")
    assert config.only == ("DOGE",)
    assert config.max_value_per_run == Decimal("100.50")
    assert config.log_file == tmp_path / "logs" / "run.log"  # relative to the config file
    account = config.accounts[0]
    assert account.exchange == "bybit"
    assert account.convert_to == "USDT"
    assert account.base_url == "https://api-testnet.bybit.com"
    assert account.timeout_s == 2.5


def test_models_are_frozen(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ACCOUNT), {})
    with pytest.raises(ValueError):
        config.quote = "BTC"


def test_policy_is_built_from_config(tmp_path: Path) -> None:
    text = 'quote = "USDC"\ndust_threshold = "3"\nkeep = ["bnb"]\nfee_rate = "0.002"\n' + ACCOUNT
    policy = load_config(write(tmp_path, text), {}).policy()
    assert isinstance(policy, Policy)
    assert policy.quote == "USDC"
    assert policy.dust_threshold == Decimal("3")
    assert policy.keep == frozenset({"BNB"})
    assert policy.sell_quotes == ("USDC", "USDT", "FDUSD", "BTC", "BNB", "ETH")  # quote first
    assert policy.notional_margin == Decimal("0.01")
    assert policy.fee_rate == Decimal("0.002")
    assert policy.bridges == Policy().bridges


# --------------------------------------------------------------------------- error messages


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "dust_treshold = 5\n" + ACCOUNT,
            'unknown key "dust_treshold" (did you mean "dust_threshold"?)',
        ),
        ('dust_threshold = "ten"\n' + ACCOUNT, 'dust_threshold: not a number ("ten")'),
        ("dust_threshold = -1\n" + ACCOUNT, "dust_threshold: must be 0 or more (got -1)"),
        ("dust_threshold = nan\n" + ACCOUNT, "dust_threshold: not a finite number (nan)"),
        ("dust_threshold = true\n" + ACCOUNT, "dust_threshold: must be a number"),
        ("notional_margin = 0.5\n" + ACCOUNT, "notional_margin: must be at least 0 and below 0.5"),
        ('fee_rate = "1"\n' + ACCOUNT, "fee_rate: must be at least 0 and below 1 (got 1)"),
        ('cooldown_hours = "-6"\n' + ACCOUNT, "cooldown_hours: must be 0 or more"),
        ('max_value_per_run = "x"\n' + ACCOUNT, 'max_value_per_run: not a number ("x")'),
        ("max_value_per_asset = -2\n" + ACCOUNT, "max_value_per_asset: must be 0 or more"),
        ("rules_ttl_hours = -1\n" + ACCOUNT, "rules_ttl_hours: must be at least 0 (got -1)"),
        (
            'rules_ttl_hours = "24"\n' + ACCOUNT,
            'rules_ttl_hours: must be a whole number (got "24")',
        ),
        ("concurrency = 0\n" + ACCOUNT, "concurrency: must be at least 1 (got 0)"),
        ("concurrency = 11\n" + ACCOUNT, "concurrency: must be at most 10 (got 11)"),
        ("first_sync_days = 0\n" + ACCOUNT, "first_sync_days: must be at least 1 (got 0)"),
        ("concurrency = 2.5\n" + ACCOUNT, "concurrency: must be a whole number (got 2.5)"),
        ("quote = 5\n" + ACCOUNT, 'quote: must be an asset name such as "USDT" (got 5)'),
        ('quote = ""\n' + ACCOUNT, 'quote: must be an asset name such as "USDT" (got "")'),
        ('keep = "BNB"\n' + ACCOUNT, 'keep: must be an array, e.g. ["BNB"] (got "BNB")'),
        ('keep = ["BNB", 3]\n' + ACCOUNT, "keep[1]: must be an asset name"),
        ("only = [true]\n" + ACCOUNT, "only[0]: must be an asset name"),
        ('sell_quotes = ["us dt"]\n' + ACCOUNT, "sell_quotes[0]: must be an asset name"),
        ("sell_quotes = []\n" + ACCOUNT, "sell_quotes: list at least one quote asset"),
        ("log_file = 5\n" + ACCOUNT, "log_file: must be a file path (got 5)"),
        ('quote = "USDT"\n', "accounts: missing; add at least one [[accounts]] table"),
        ("accounts = []\n", "accounts: add at least one [[accounts]] table"),
        ('[accounts]\nname = "x"\n', "accounts: must be an array of tables: write [[accounts]]"),
        ("x = 1\n[[accounts]]\n", 'unknown key "x"'),
    ],
)
def test_top_level_errors_name_the_field(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    message = error_of(path)
    assert message.startswith(f"{path}: "), message
    assert expected in message, message


def second_account(lines: list[str]) -> str:
    """A file whose SECOND account (accounts[1]) carries the lines under test; a line for
    name or exchange replaces the default one (TOML forbids a key twice)."""
    fields = {"name": '"acct"', "exchange": '"binance"'}
    extra = []
    for line in lines:
        key, _, value = line.partition(" = ")
        if key in fields:
            fields[key] = value
        else:
            extra.append(line)
    body = "".join(f"{key} = {value}\n" for key, value in fields.items()) + "\n".join(extra)
    return f'[[accounts]]\nname = "first"\nexchange = "bybit"\n[[accounts]]\n{body}\n'


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            ['exchange = "kraken"'],
            'accounts[1].exchange: must be "binance" or "bybit" (got "kraken")',
        ),
        (["apikey = 1"], 'accounts[1]: unknown key "apikey" (did you mean "api_key"?)'),
        (['name = ""'], 'accounts[1].name: must be 1-40 letters, digits, "-", "_" or "."'),
        (['name = "has space"'], "accounts[1].name: must be 1-40 letters"),
        (["name = 7"], "accounts[1].name: must be a string (got 7)"),
        (['name = "first"'], 'accounts[1].name: "first" is already used by accounts[0]'),
        (['api_key_env = "1BAD"'], "accounts[1].api_key_env: must be the NAME of an environment"),
        (['api_secret_env = "MY-SECRET"'], "accounts[1].api_secret_env: must be the NAME"),
        (["api_key_env = 3"], "accounts[1].api_key_env: must be a string (got 3)"),
        (['base_url = "ftp://host"'], "accounts[1].base_url: must be an http:// or https:// URL"),
        (['base_url = "https://"'], "accounts[1].base_url: must be an http:// or https:// URL"),
        (['base_url = "https://h/x?a=1"'], "accounts[1].base_url: must not have a query"),
        (['base_url = "https://h:70000"'], "accounts[1].base_url: has an invalid port"),
        (['base_url = "https://u:pw@h"'], "accounts[1].base_url: must not contain a user name"),
        (['convert_to = ""'], "accounts[1].convert_to: must be an asset name"),
        (["recv_window_ms = 0"], "accounts[1].recv_window_ms: must be at least 1 (got 0)"),
        (["recv_window_ms = 60001"], "accounts[1].recv_window_ms: must be at most 60000"),
        (["timeout_s = 0"], "accounts[1].timeout_s: must be more than 0 (got 0)"),
        (["timeout_s = inf"], "accounts[1].timeout_s: must be a finite number"),
        (['timeout_s = "10"'], 'accounts[1].timeout_s: must be a number (got "10")'),
        (["[accounts.x]"], 'accounts[1]: unknown key "x"'),
        (
            ['api_key = "k"', 'api_key_env = "K"'],
            "accounts[1].api_key: set api_key or api_key_env, not both",
        ),
        (
            ['api_secret = "s"', 'api_secret_env = "S"'],
            "accounts[1].api_secret: set api_secret or api_secret_env, not both",
        ),
    ],
)
def test_account_errors_name_the_field(tmp_path: Path, lines: list[str], expected: str) -> None:
    path = write(tmp_path, second_account(lines))
    message = error_of(path)
    assert message.startswith(f"{path}: {expected}"), message
    assert "pw" not in message


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, 'quote = "USDT"\n\nkeep = [\n' + ACCOUNT)
    message = error_of(path)
    assert re.fullmatch(rf"{re.escape(str(path))}: line \d+, column \d+: .+", message), message
    path = write(tmp_path, 'quote = "USDT"\ndust_threshold = \n')
    assert error_of(path) == f"{path}: line 2, column 18: Invalid value"


def test_several_problems_report_the_first_and_a_count(tmp_path: Path) -> None:
    path = write(tmp_path, 'quote = 1\nconcurrency = 0\n[[accounts]]\nname = "a"\nexchange = "x"\n')
    message = error_of(path)
    assert message.startswith(f"{path}: quote: ")
    assert message.endswith("(and 2 more problems)")


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b'quote = "\xff"\n')
    assert error_of(binary) == f"{binary}: not UTF-8 text (byte 9)"
    assert error_of(tmp_path) == f"{tmp_path}: is a folder, not a config file"


# --------------------------------------------------------------------------- locating the file


def test_missing_default_file_says_where_and_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("XDG_CONFIG_HOME only steers platformdirs on Linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    message = error_of_default({})
    expected = tmp_path / "xdg" / "dustsweep" / "config.toml"
    assert f"no config file at {expected}" in message
    assert "'dustsweep config init'" in message and "--config" in message
    # the CLI resolves the path first and passes it back in: same message
    assert error_of_default({}) == error_of(resolve_config_path(None, {}))


def error_of_default(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(None, env)
    return str(caught.value)


def test_missing_explicit_file_names_its_source(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    message = error_of(missing)
    assert message.startswith(f"config file not found: {missing} (from --config)")
    assert f"'dustsweep --config {missing} config init'" in message
    message = error_of_default({"DUSTSWEEP_CONFIG": str(missing)})
    assert f"config file not found: {missing} (from DUSTSWEEP_CONFIG)" in message


def test_resolution_order_flag_then_env_then_user_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("XDG_CONFIG_HOME only steers platformdirs on Linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    user_dir = tmp_path / "xdg" / "dustsweep"
    user_dir.mkdir(parents=True)
    write(user_dir, ACCOUNT.replace("main", "from-user-dir"))
    from_env = write(tmp_path, ACCOUNT.replace("main", "from-env"), name="env.toml")
    from_flag = write(tmp_path, ACCOUNT.replace("main", "from-flag"), name="flag.toml")
    env = {"DUSTSWEEP_CONFIG": str(from_env)}

    assert load_config(from_flag, env).account_names() == ["from-flag"]
    assert load_config(None, env).account_names() == ["from-env"]
    assert load_config(None, {}).account_names() == ["from-user-dir"]
    assert load_config(None, {"DUSTSWEEP_CONFIG": "  "}).account_names() == ["from-user-dir"]
    assert resolve_config_path(from_flag, env) == from_flag
    assert resolve_config_path(None, env) == from_env
    assert resolve_config_path(None, {}) == user_dir / "config.toml"


def test_env_defaults_to_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, ACCOUNT.replace("main", "via-os-environ"))
    monkeypatch.setenv("DUSTSWEEP_CONFIG", str(path))
    assert load_config().account_names() == ["via-os-environ"]


# --------------------------------------------------------------------------- secrets


INLINE = f'[[accounts]]\nname = "main"\nexchange = "binance"\napi_key = "{SECRET_KEY}"\n' + (
    f'api_secret = "{SECRET}"\n'
)


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_inline_keys_need_a_private_file(tmp_path: Path) -> None:
    path = write(tmp_path, INLINE, mode=0o644)
    message = error_of(path)
    assert message == (
        f"{path}: accounts[0] has an inline API key but the file is readable by others "
        f"(mode 0644); run: chmod 600 {path}"
    )
    assert SECRET not in message and SECRET_KEY not in message
    for mode in (0o640, 0o604, 0o660):
        os.chmod(path, mode)
        assert "chmod 600" in error_of(path)
    for mode in (0o600, 0o400):
        os.chmod(path, mode)
        config = load_config(path, {})
        creds = credentials(config.accounts[0], path, {})
        assert (creds.api_key, creds.api_secret) == (SECRET_KEY, SECRET)


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_env_keys_are_fine_in_a_readable_file(tmp_path: Path) -> None:
    text = ACCOUNT + 'api_key_env = "BK"\napi_secret_env = "BS"\n'
    path = write(tmp_path, text, mode=0o644)
    config = load_config(path, {})
    creds = credentials(config.accounts[0], path, {"BK": SECRET_KEY, "BS": SECRET})
    assert (creds.api_key, creds.api_secret) == (SECRET_KEY, SECRET)


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_credentials_recheck_the_mode(tmp_path: Path) -> None:
    """A file made readable after loading is still refused when the keys are taken."""
    path = write(tmp_path, INLINE)
    config = load_config(path, {})
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        credentials(config.accounts[0], path, {})


def test_secrets_never_appear_in_repr_dump_or_errors(tmp_path: Path) -> None:
    path = write(tmp_path, INLINE + 'base_url = "http://127.0.0.1:9"\n')
    config = load_config(path, {})
    creds = credentials(config.accounts[0], path, {})
    texts = [
        repr(config),
        str(config),
        repr(config.accounts[0]),
        str(config.model_dump()),
        config.model_dump_json(),
        str(redacted_dump(config)),
        repr(creds),
        str(creds),
    ]
    for text in texts:
        assert SECRET not in text and SECRET_KEY not in text, text
    # a wrongly typed secret must not be echoed back either
    bad = write(tmp_path, INLINE.replace(f'"{SECRET}"', "123456789"), name="bad.toml")
    message = error_of(bad)
    assert message == f"{bad}: accounts[0].api_secret: must be a string"


def test_redacted_dump_is_plain_json_data(tmp_path: Path) -> None:
    import json

    path = write(tmp_path, 'max_value_per_run = "1E+2"\n' + INLINE)
    dump = redacted_dump(load_config(path, {}))
    assert json.loads(json.dumps(dump)) == dump
    assert dump["dust_threshold"] == "10"
    assert dump["max_value_per_run"] == "100"
    assert dump["accounts"][0]["api_key"] == "********"
    assert dump["accounts"][0]["api_key_env"] is None
    assert set(dump) == set(Config.model_fields)
    assert set(dump["accounts"][0]) == set(AccountConfig.model_fields)


def test_credentials_from_env_and_their_errors(tmp_path: Path) -> None:
    text = (
        '[[accounts]]\nname = "main"\nexchange = "binance"\napi_key_env = "BINANCE_API_KEY"\n'
        'api_secret_env = "BINANCE_API_SECRET"\nbase_url = "http://127.0.0.1:1"\n'
        "recv_window_ms = 7000\ntimeout_s = 3\n"
        '[[accounts]]\nname = "nokeys"\nexchange = "bybit"\n'
    )
    path = write(tmp_path, text)
    config = load_config(path, {})
    main, nokeys = config.accounts
    env = {"BINANCE_API_KEY": SECRET_KEY, "BINANCE_API_SECRET": SECRET}
    creds = credentials(main, path, env)
    assert creds.account == "main"
    assert (creds.api_key, creds.api_secret) == (SECRET_KEY, SECRET)
    assert (creds.base_url, creds.recv_window_ms, creds.timeout) == ("http://127.0.0.1:1", 7000, 3)

    with pytest.raises(ConfigError) as caught:
        credentials(main, path, {"BINANCE_API_SECRET": SECRET})
    assert str(caught.value) == (
        f"{path}: accounts[main]: environment variable BINANCE_API_KEY (api_key_env) is not set"
    )
    with pytest.raises(ConfigError) as caught:
        credentials(main, path, {"BINANCE_API_KEY": SECRET_KEY, "BINANCE_API_SECRET": " "})
    assert str(caught.value) == (
        f"{path}: accounts[main]: environment variable BINANCE_API_SECRET (api_secret_env) is empty"
    )
    assert SECRET_KEY not in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        credentials(nokeys, path, env)
    message = str(caught.value)
    assert message.startswith(f"{path}: accounts[nokeys]: no API key: set api_key_env")
    assert 'api_key_env = "BYBIT_API_KEY"' in message and "\n" not in message


def test_select_accounts(tmp_path: Path) -> None:
    text = "".join(
        f'[[accounts]]\nname = "{name}"\nexchange = "bybit"\n' for name in ("a", "b", "c")
    )
    config = load_config(write(tmp_path, text), {})
    assert [a.name for a in select_accounts(config, [])] == ["a", "b", "c"]
    assert [a.name for a in select_accounts(config, ["c", "a", "c"])] == ["c", "a"]
    with pytest.raises(ConfigError) as caught:
        select_accounts(config, ["a", "zzz"])
    assert str(caught.value) == 'unknown account "zzz"; the config has: a, b, c'


# --------------------------------------------------------------------------- the example file


def test_example_file_validates_and_covers_every_field(tmp_path: Path) -> None:
    env = {
        "BINANCE_API_KEY": "k1",
        "BINANCE_API_SECRET": "s1",
        "BYBIT_API_KEY": "k2",
        "BYBIT_API_SECRET": "s2",
    }
    config = load_config(EXAMPLE, env)
    exchanges = [account.exchange for account in config.accounts]
    assert exchanges == ["binance", "bybit"]
    for account in config.accounts:
        assert account.api_key_env and account.api_secret_env
        assert credentials(account, EXAMPLE, env).api_key in {"k1", "k2"}

    text = EXAMPLE.read_text()
    for field in [*Config.model_fields, *AccountConfig.model_fields]:
        if field == "accounts":
            assert "[[accounts]]" in text
            continue
        assert re.search(rf"(?m)^#? ?{field} = ", text), f"{field} is not in the example"
    assert "https://testnet.binance.vision" in text and "/sapi" in text
    assert "https://api-testnet.bybit.com" in text


def test_example_commented_urls_validate(tmp_path: Path) -> None:
    """The commented base_url and log_file lines must work when a user uncomments them."""
    text = re.sub(r"(?m)^# (base_url|log_file) = ", r"\1 = ", EXAMPLE.read_text())
    data = tomllib.loads(text)
    assert data["accounts"][0]["base_url"] == "https://testnet.binance.vision"
    config = load_config(write(tmp_path, text), {})
    assert config.accounts[1].base_url == "https://api-testnet.bybit.com"
    assert config.log_file is not None and config.log_file.is_absolute()


def test_default_sell_quotes_start_with_the_quote_asset(tmp_path: Path) -> None:
    """The issue's default: the quote asset, then USDC, FDUSD, BTC, BNB, ETH."""
    path = tmp_path / "config.toml"
    path.write_text('quote = "USDC"\n[[accounts]]\nname = "a"\nexchange = "binance"\n')
    config = load_config(path, {})
    assert config.effective_sell_quotes == ("USDC", "USDT", "FDUSD", "BTC", "BNB", "ETH")
    assert config.policy().sell_quotes[0] == "USDC"


# A real-looking Binance secret (64 mixed-case letters and digits), a Bybit key (18), hex.
PASTED_SECRETS = [
    "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
    "XK7rTq2LmN9pZa4BcD",
    "0f3a9c2e7b1d4f6a8c0e2b4d6f8a1c3e5b7d9f0a",
    "my secret with spaces",
    "s3cr3t-th4t-mUst-n0t-leak",
]


@pytest.mark.parametrize("secret", PASTED_SECRETS)
@pytest.mark.parametrize("field", ["api_key_env", "api_secret_env"])
def test_a_secret_in_an_env_field_is_refused_without_echo(
    cli: object, tmp_path: Path, field: str, secret: str
) -> None:
    """issue 9: the value of a *_env field that is not a name, or looks like a key, is never
    printed, neither by the loader nor by any command."""
    path = write(tmp_path, ACCOUNT + f'{field} = "{secret}"\n')
    message = error_of(path)
    assert f"accounts[0].{field}: must be the NAME of an environment variable" in message
    assert secret not in message and secret[:8] not in message
    result = cli("--config", str(path), "scan")  # type: ignore[operator]
    assert result.code == 2
    assert secret[:8] not in result.out + result.err
    assert "Traceback" not in result.err
    assert len([line for line in result.err.splitlines() if line.strip()]) == 1


@pytest.mark.parametrize("name", ["BINANCE_API_KEY", "MY_BYBIT_SECRET_2", "key", "ApiKey"])
def test_ordinary_variable_names_are_accepted(tmp_path: Path, name: str) -> None:
    config = load_config(write(tmp_path, ACCOUNT + f'api_key_env = "{name}"\n'), {})
    assert config.accounts[0].api_key_env == name
