"""``dustsweep --help``, usage errors and config errors never import an exchange SDK.

Importing python-binance and pybit costs several hundred milliseconds (requests, aiohttp,
websockets...), and a command that fails before talking to an exchange has no use for them.
Each case runs the real entry point (``dustsweep.cli.main``, which calls ``sys.exit``) in a
fresh interpreter, so modules imported by earlier tests cannot hide or fake anything; an
``atexit`` hook reports which top-level packages were loaded. The last case is the control:
a command that does talk to (simulated) exchanges must show both SDKs, or the probe is blind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from dustsweep.errors import ExitCode
from tests.paths import REPO

SDKS = frozenset({"binance", "pybit"})
MARKER = "@@modules@@"

# Runs main() like the console script does and, at interpreter exit (after sys.exit), prints
# the top-level packages that were imported.
PROBE = f"""
import atexit, json, sys
atexit.register(lambda: sys.stderr.write(
    "\\n{MARKER}" + json.dumps(sorted({{m.split(".")[0] for m in sys.modules}})) + "\\n"))
from dustsweep.cli import main
main(sys.argv[1:])
"""


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str
    modules: frozenset[str]


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run ``dustsweep *args`` in a fresh interpreter and report what it imported."""
    environ = dict(os.environ if env is None else env)
    environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), environ.get("PYTHONPATH", "")])
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    head, marker, tail = done.stderr.rpartition(MARKER)
    assert marker, f"the probe did not report its modules; stderr:\n{done.stderr}"
    return Run(done.returncode, done.stdout, head, frozenset(json.loads(tail)))


def test_help_exits_0_without_sdks_rich_or_pydantic(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.code == ExitCode.OK, result.err
    assert "Usage:" in result.out
    assert "scan" in result.out
    assert not result.modules & SDKS
    # cli.py promises that only click is loaded up front; rich and pydantic come with commands.
    assert not result.modules & {"rich", "pydantic", "requests"}


def test_command_help_exits_0_without_sdks(tmp_path: Path) -> None:
    result = run_cli("scan", "--help", cwd=tmp_path)
    assert result.code == ExitCode.OK, result.err
    assert "--json" in result.out
    assert not result.modules & SDKS


def test_usage_error_exits_2_without_sdks(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"  # never read: the usage error comes first
    result = run_cli("--config", str(config), "scan", "--json", "--csv", cwd=tmp_path)
    assert result.code == ExitCode.USAGE
    assert "--json and --csv" in result.err
    assert result.out == ""
    assert not result.modules & SDKS


def test_unknown_command_exits_2_without_sdks(tmp_path: Path) -> None:
    result = run_cli("sweep-everything", cwd=tmp_path)
    assert result.code == ExitCode.USAGE
    assert "sweep-everything" in result.err
    assert not result.modules & SDKS


def test_missing_config_file_exits_2_without_sdks(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "config.toml"
    result = run_cli("--config", str(missing), "scan", cwd=tmp_path)
    assert result.code == ExitCode.USAGE
    assert str(missing) in result.err
    assert not result.modules & SDKS


def test_missing_default_config_exits_2_without_sdks(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.pop("DUSTSWEEP_CONFIG", None)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")  # platformdirs' user config folder
    env["HOME"] = str(tmp_path / "home")
    result = run_cli("scan", cwd=tmp_path, env=env)
    assert result.code == ExitCode.USAGE
    assert str(tmp_path / "xdg") in result.err
    assert not result.modules & SDKS


def test_invalid_config_exits_2_without_sdks(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'quote = "USDT"\n\n[[accounts]]\nname = "main"\nexchange = "kraken"\n'
        'api_key_env = "K"\napi_secret_env = "S"\n'
    )
    os.chmod(config, 0o600)
    result = run_cli("--config", str(config), "scan", cwd=tmp_path)
    assert result.code == ExitCode.USAGE
    assert "kraken" in result.err  # the message names the bad value
    assert not result.modules & SDKS


@pytest.mark.timeout(90)
def test_probe_sees_the_sdks_when_a_command_needs_them(tmp_path: Path) -> None:
    """The control: ``demo`` scans through both real adapters, so both SDKs must show."""
    result = run_cli("demo", "--json", cwd=tmp_path)
    assert result.code == ExitCode.OK, result.err
    assert json.loads(result.out)
    assert result.modules >= SDKS
