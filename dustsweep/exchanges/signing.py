"""What a signed request's bytes are, and how they are signed. Imports no exchange SDK.

Since 2026-01-15 Binance verifies the signature over the payload *as it is sent*: the
percent-encoded query string followed by the percent-encoded body. python-binance 1.0.37 signs
the decoded values (it quotes only ``symbol``) and lets requests encode afterwards, so a comma
list, an odd client id or a non-ASCII symbol is rejected with -1022. Bybit has the same rule
(the signed query string must be byte-identical to the sent one, else 10004).

So the parameters are encoded ONCE here (RFC 3986: every byte outside ``A-Za-z0-9-._~`` as %XX
of its UTF-8), that string is signed, and the adapters hand that very string to requests, which
leaves it alone (its ``requote_uri`` keeps %XX and unreserved characters as they are).

Keys: an HMAC secret (hex signature), or a private key the user generated and whose public half
is registered at the exchange: Ed25519 (Binance's recommendation) or RSA (PKCS#1 v1.5 with
SHA-256); both give a base64 signature, which is percent-encoded in turn. The key is loaded here
with pycryptodome, not by python-binance, which guesses the type from the PEM's length and sends
an encrypted Ed25519 PEM to the RSA parser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from dustsweep.exchanges.base import Credentials

# Characters requests itself leaves alone in a URL and that carry no structure in a query
# value (not & = + # % ?). Bybit's GET strings keep these as they are (``QUERY_SAFE``): pybit
# has always sent them raw, so that form is accepted whichever way Bybit reads it.
QUERY_SAFE = "!$'()*,/:;@[]"
HMAC = "HMAC"
ED25519 = "Ed25519"
RSA = "RSA"


class KeyFileError(ValueError):
    """A private key file that cannot be used; the message never holds key material."""


def encode(value: object, safe: str = "") -> str:
    """``value`` as text, every byte outside the RFC 3986 unreserved set (and ``safe``) as %XX
    of its UTF-8. ``quote`` always keeps ``A-Za-z0-9_.-~``; ``safe=""`` encodes ``/`` too."""
    return quote(str(value), safe=safe)


def encode_params(
    params: Mapping[str, object] | Iterable[tuple[str, object]], safe: str = ""
) -> str:
    """``k=v&k=v`` with both sides encoded; None values are dropped (the SDKs' convention)."""
    items = params.items() if isinstance(params, Mapping) else params
    return "&".join(f"{encode(k, safe)}={encode(v, safe)}" for k, v in items if v is not None)


class Signer:
    """Signs a payload string for one account. ``repr`` names the key type, never the key."""

    def __init__(self, kind: str, key: Any) -> None:
        self.kind = kind
        self._key = key

    def __repr__(self) -> str:
        return f"Signer({self.kind})"

    def sign(self, payload: str) -> str:
        """The signature as it goes on the wire (already percent-encoded where needed)."""
        data = payload.encode("utf-8")
        if self.kind == HMAC:
            return hmac.new(self._key, data, hashlib.sha256).hexdigest()
        return encode(base64.b64encode(self._raw_signature(data)).decode("ascii"))

    def _raw_signature(self, data: bytes) -> bytes:
        if self.kind == ED25519:
            from Crypto.Signature import eddsa

            signed: bytes = eddsa.new(self._key, "rfc8032").sign(data)
            return signed
        from Crypto.Hash import SHA256
        from Crypto.Signature import pkcs1_15

        rsa_signed: bytes = pkcs1_15.new(self._key).sign(SHA256.new(data))
        return rsa_signed


def signer_for(credentials: Credentials) -> Signer:
    """What signs this account's requests: its private key, else an HMAC of its secret."""
    if credentials.private_key is not None:
        return credentials.private_key
    return hmac_signer(credentials.api_secret)


def hmac_signer(secret: str) -> Signer:
    return Signer(HMAC, secret.encode("utf-8"))


def load_private_key(pem: str, passphrase: str | None = None) -> Signer:
    """An Ed25519 or RSA private key from PEM text (PKCS#8, encrypted or not, or PKCS#1 RSA).

    Raises KeyFileError with a message that says what is wrong, never what the file holds."""
    from Crypto.PublicKey import ECC
    from Crypto.PublicKey import RSA as RsaKey

    if "PRIVATE KEY" not in pem:
        raise KeyFileError("is not a PEM private key (expected -----BEGIN PRIVATE KEY-----)")
    encrypted = "ENCRYPTED" in pem
    if encrypted and not passphrase:
        raise KeyFileError(
            "is an encrypted private key: set api_private_key_pass_env to the name of an "
            "environment variable that holds its passphrase"
        )
    try:
        key = ECC.import_key(pem, passphrase=passphrase)
    except (ValueError, IndexError, TypeError):
        key = None
    if key is not None:
        if key.curve != "Ed25519" or not key.has_private():
            raise KeyFileError(
                f"holds a {key.curve} key; use an Ed25519 or RSA private key"
                if key.has_private()
                else "holds a public key; the private key is needed"
            )
        return Signer(ED25519, key)
    try:
        rsa = RsaKey.import_key(pem, passphrase=passphrase)
    except (ValueError, IndexError, TypeError):
        why = "the passphrase is wrong or the key" if encrypted else "it"
        raise KeyFileError(
            f"cannot be read as an Ed25519 or RSA private key ({why} is not valid PEM)"
        ) from None
    if not rsa.has_private():
        raise KeyFileError("holds a public key; the private key is needed")
    return Signer(RSA, rsa)
