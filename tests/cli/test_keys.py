"""Ed25519 and RSA API keys, end to end: the real CLI against the simulator, which verifies the
signatures with the public key registered in its scenario.

Keys are generated here with pycryptodome and written to tmp_path with mode 600, the way a user
stores a key made with ``openssl genpkey -algorithm ed25519``.
"""

from __future__ import annotations

import copy
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from Crypto.PublicKey import ECC, RSA

from dustsweep.sim.demo import DEMO_KEYS, DEMO_SCENARIO
from tests.conftest import write_config

D = Decimal
KEY_ENV = "T_BINANCE_KEY"
PASS_ENV = "T_KEY_PASSPHRASE"
PASSPHRASE = "correct horse battery"


def ed25519_pair(passphrase: str | None = None) -> tuple[str, str]:
    """(private PEM, public PEM); the private one encrypted (PKCS#8, PBES2) with a passphrase."""
    key = ECC.generate(curve="Ed25519")
    if passphrase:
        private = key.export_key(
            format="PEM",
            passphrase=passphrase,
            protection="PBKDF2WithHMAC-SHA512AndAES256-CBC",
        )
    else:
        private = key.export_key(format="PEM")
    return private, key.public_key().export_key(format="PEM")


def rsa_pair() -> tuple[str, str]:
    key = RSA.generate(2048)
    return key.export_key(pkcs=8).decode(), key.public_key().export_key().decode()


def binance_only(public_pem: str) -> dict[str, Any]:
    """The demo's Binance account, registered with a public key instead of a secret."""
    section = copy.deepcopy(DEMO_SCENARIO["binance"])
    account = section["accounts"][0]
    del account["api_secret"]
    account["public_key"] = public_pem
    return {"binance": section}


def key_file(folder: Path, pem: str, mode: int = 0o600, name: str = "binance.pem") -> Path:
    path = folder / name
    path.write_text(pem)
    os.chmod(path, mode)
    return path


def config_for(sim: Any, folder: Path, pem_path: Path, **extra: Any) -> Path:
    account = {
        "name": "main",
        "exchange": "binance",
        "api_key_env": KEY_ENV,
        "api_private_key_file": str(pem_path),
        "base_url": sim.url("binance"),
        **extra,
    }
    return write_config(folder, [account], keep=["BNB"])


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, DEMO_KEYS["binance"][0])


def wallet(sim: Any, asset: str) -> Decimal:
    return D(sim.dialect("binance").account("demo").wallet.get(asset)[0])


def test_ed25519_key_scans_sells_and_converts(cli: Any, sim_factory: Any, tmp_path: Path) -> None:
    private, public = ed25519_pair()
    sim = sim_factory(binance_only(public))
    config = config_for(sim, tmp_path, key_file(tmp_path, private))

    doctor = cli("--config", str(config), "doctor")
    assert doctor.code == 0, doctor.out + doctor.err
    assert "key type Ed25519" in doctor.out
    assert "ok   main (binance) encoded values signed" in doctor.out
    assert "PRIVATE KEY" not in doctor.out + doctor.err

    scan = cli("--config", str(config), "scan", "--json")
    assert scan.code == 0, scan.err
    assets = {row["asset"] for row in json.loads(scan.out)["accounts"][0]["assets"]}
    assert {"ADA", "DOGE"} <= assets

    ada = wallet(sim, "ADA")
    sell = cli("--config", str(config), "sell", "--yes", "--json")
    assert sell.code == 0, sell.err
    orders = {o["asset"]: o for o in json.loads(sell.out)["accounts"][0]["orders"]}
    assert orders["ADA"]["status"] == "filled"
    assert wallet(sim, "ADA") == ada - D(orders["ADA"]["qty"])

    bnb = wallet(sim, "BNB")
    convert = cli("--config", str(config), "convert", "--to", "BNB", "--yes", "--json")
    assert convert.code == 0, convert.err
    rows = convert_rows(convert.out)
    assert len(rows) >= 2  # a comma list on the wire, signed with Ed25519
    assert all(row["status"] == "converted" and wallet(sim, a) == 0 for a, row in rows.items())
    assert wallet(sim, "BNB") == bnb + sum((D(r["received"]) for r in rows.values()), D(0))


def convert_rows(out: str) -> dict[str, dict[str, Any]]:
    return {row["asset"]: row for row in json.loads(out)["accounts"][0]["conversions"]}


def test_encrypted_ed25519_key_with_a_passphrase(
    cli: Any, sim_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """python-binance's own loader sends this PEM (longer than 120 characters) to the RSA
    parser and fails; dustsweep loads it itself."""
    private, public = ed25519_pair(PASSPHRASE)
    assert "ENCRYPTED PRIVATE KEY" in private and len(private) > 120
    sim = sim_factory(binance_only(public))
    pem = key_file(tmp_path, private)
    config = config_for(sim, tmp_path, pem, api_private_key_pass_env=PASS_ENV)

    missing = cli("--config", str(config), "scan")
    assert missing.code == 2
    assert PASS_ENV in missing.err and len(missing.err.strip().splitlines()) == 1

    monkeypatch.setenv(PASS_ENV, "wrong passphrase")
    wrong = cli("--config", str(config), "scan")
    assert wrong.code == 2 and "passphrase is wrong" in wrong.err
    assert "wrong passphrase" not in wrong.err

    monkeypatch.setenv(PASS_ENV, PASSPHRASE)
    doctor = cli("--config", str(config), "doctor")
    assert doctor.code == 0, doctor.out
    assert "key type Ed25519" in doctor.out
    convert = cli("--config", str(config), "convert", "--to", "BNB", "--yes", "--json")
    assert convert.code == 0, convert.err
    assert len(convert_rows(convert.out)) >= 2


def test_rsa_key_converts_a_comma_list(cli: Any, sim_factory: Any, tmp_path: Path) -> None:
    private, public = rsa_pair()
    sim = sim_factory(binance_only(public))
    config = config_for(sim, tmp_path, key_file(tmp_path, private))
    doctor = cli("--config", str(config), "doctor")
    assert doctor.code == 0, doctor.out
    assert "key type RSA" in doctor.out
    convert = cli("--config", str(config), "convert", "--to", "USDT", "--yes", "--json")
    assert convert.code == 0, convert.err
    rows = convert_rows(convert.out)
    assert len(rows) >= 2 and all(r["status"] == "converted" for r in rows.values())


def test_a_key_the_exchange_does_not_know_is_rejected(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    _, public = ed25519_pair()
    other, _ = ed25519_pair()
    sim = sim_factory(binance_only(public))
    config = config_for(sim, tmp_path, key_file(tmp_path, other))
    result = cli("--config", str(config), "scan")
    assert result.code == 3
    assert "-1022" in result.err and "PRIVATE KEY" not in result.err
    assert "Ed25519 public key registered for this API key" in result.err


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_key_file_others_can_read_is_refused(
    cli: Any, sim_factory: Any, tmp_path: Path, mode: int
) -> None:
    private, public = ed25519_pair()
    sim = sim_factory(binance_only(public))
    pem = key_file(tmp_path, private, mode)
    config = config_for(sim, tmp_path, pem)
    result = cli("--config", str(config), "scan")
    assert result.code == 2
    assert f"chmod 600 {pem}" in result.err and f"{mode:04o}" in result.err
    assert len(result.err.strip().splitlines()) == 1
    body = private.splitlines()[1]
    assert body not in result.err + result.out
    assert sim.servers["binance"].requests == [] or all(
        path == "/api/v3/time" for _, path in sim.servers["binance"].requests
    )


def test_key_file_configuration_errors_are_one_line(
    cli: Any, sim_factory: Any, tmp_path: Path
) -> None:
    private, public = ed25519_pair()
    sim = sim_factory(binance_only(public))
    pem = key_file(tmp_path, private)

    both = config_for(sim, tmp_path, pem, api_secret_env="T_BINANCE_SECRET")
    result = cli("--config", str(both), "scan")
    assert result.code == 2 and "not both" in result.err

    gone = config_for(sim, tmp_path, tmp_path / "missing.pem")
    result = cli("--config", str(gone), "scan")
    assert result.code == 2 and "missing.pem" in result.err and "cannot read" in result.err

    public_only = key_file(tmp_path, public, name="public.pem")
    result = cli("--config", str(config_for(sim, tmp_path, public_only)), "scan")
    assert result.code == 2 and "not a PEM private key" in result.err

    bybit = {
        "name": "uta",
        "exchange": "bybit",
        "api_key_env": KEY_ENV,
        "api_private_key_file": str(pem),
    }
    result = cli("--config", str(write_config(tmp_path, [bybit])), "scan")
    assert result.code == 2 and "Binance accounts only" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_credentials_and_signer_never_show_key_material() -> None:
    from dustsweep.exchanges.base import Credentials
    from dustsweep.exchanges.signing import load_private_key

    private, _ = ed25519_pair()
    signer = load_private_key(private)
    creds = Credentials("main", "the-api-key", "", private_key=signer)
    text = f"{creds!r} {creds} {signer!r} {signer}"
    assert "Ed25519" in text and private.splitlines()[1] not in text
    assert "the-api-key" not in text and "_key" not in text
