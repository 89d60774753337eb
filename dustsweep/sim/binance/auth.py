"""SIGNED request checks of the Binance dialect: API key, timestamp window, signature.

Since 2026-01-15 real Binance verifies the signature over the exact query string followed by
the exact body (no separator), minus the ``signature`` parameter: the bytes as they arrived,
percent-encoding included. python-binance 1.0.37 signs the *decoded* values and lets requests
encode afterwards, so ``asset=ADA,XRP`` is signed but ``asset=ADA%2CXRP`` is sent; Binance
answers -1022, and so does the simulator: it verifies the raw bytes only, never a decoded
form, and never assumes the parameters are sorted.

An account signs with its HMAC secret (hex, case-insensitive), or, when the scenario gives it a
``public_key`` (PEM), with the matching Ed25519 or RSA (PKCS#1 v1.5, SHA-256) private key: the
signature is base64, percent-encoded on the wire, and case-sensitive.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from dustsweep.sim.binance.wire import INVALID_KEY, BinanceError, illegal_chars, mandatory
from dustsweep.sim.core import SimRequest

if TYPE_CHECKING:
    from dustsweep.sim.binance.accounts import BinanceAccount

DEFAULT_RECV_WINDOW = Decimal(5000)
MAX_RECV_WINDOW = Decimal(60000)
# Printable ASCII without spaces; Binance keys are 64 alphanumerics, but scenario keys such as
# "demo-key" must work, so only clearly broken keys are "malformed".
_KEY_FORMAT = re.compile(r"^[\x21-\x7e]{1,128}$")


def account_for_key(
    request: SimRequest, accounts_by_key: Mapping[str, BinanceAccount]
) -> BinanceAccount:
    """The account whose API key is in ``X-MBX-APIKEY``: -2014 if malformed, -2015 if unknown."""
    key = request.header("X-MBX-APIKEY")
    if not key or not _KEY_FORMAT.match(key):
        raise BinanceError(-2014, "API-key format invalid.", 401)
    account = accounts_by_key.get(key)
    if account is None:
        raise BinanceError(-2015, INVALID_KEY, 401)
    return account


def check_timestamp(params: Mapping[str, str], server_ms: int) -> None:
    """Binance's window: ``timestamp < serverTime + 1000`` and
    ``serverTime - timestamp <= recvWindow`` (default 5000, at most 60000)."""
    text = params.get("timestamp", "")
    if text == "":
        raise mandatory("timestamp")
    if not text.isdigit():
        raise illegal_chars("timestamp", "^[0-9]{1,20}$")
    timestamp = int(text)
    if len(text) >= 16:  # microseconds (X-MBX-TIME-UNIT or a µs timestamp)
        timestamp //= 1000
    window = DEFAULT_RECV_WINDOW
    if params.get("recvWindow"):
        try:
            window = Decimal(params["recvWindow"])
        except ArithmeticError as exc:
            raise illegal_chars("recvWindow", r"^[0-9]{1,20}(\.[0-9]{1,3})?$") from exc
        if window > MAX_RECV_WINDOW:
            raise BinanceError(-1131, "recvWindow must be less than 60000")
    if timestamp >= server_ms + 1000:
        raise BinanceError(
            -1021, "Timestamp for this request was 1000ms ahead of the server's time."
        )
    if server_ms - timestamp > window:
        raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


def check_signature(request: SimRequest, secret: str, public_key: str | None = None) -> None:
    """The signature over the raw query+body without ``signature``: -1022 when it does not
    match. HMAC-SHA256 hex with ``secret``, or Ed25519/RSA with ``public_key`` when given."""
    query, query_sig = _strip_signature(request.query)
    body, body_sig = _strip_signature(request.body.decode("latin-1"))
    provided = query_sig if query_sig is not None else body_sig
    if not provided:
        raise mandatory("signature")
    payload = (query + body).encode("latin-1")  # the bytes as received
    if public_key is not None:
        if _asymmetric_ok(public_key, payload, provided):
            return
    else:
        expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected.encode(), provided.lower().encode("utf-8", "replace")):
            return
    raise BinanceError(-1022, "Signature for this request is not valid.")


def _asymmetric_ok(public_pem: str, payload: bytes, provided: str) -> bool:
    """Whether ``provided`` (base64, decoded from the wire) is the Ed25519 or RSA signature of
    ``payload`` by the private half of ``public_pem``."""
    from Crypto.Hash import SHA256
    from Crypto.PublicKey import ECC, RSA
    from Crypto.Signature import eddsa, pkcs1_15

    try:
        signature = base64.b64decode(provided, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        try:
            ecc = ECC.import_key(public_pem)
        except ValueError:  # not an elliptic-curve key: RSA
            pkcs1_15.new(RSA.import_key(public_pem)).verify(SHA256.new(payload), signature)
        else:
            eddsa.new(ecc, "rfc8032").verify(payload, signature)
    except (ValueError, TypeError):
        return False
    return True


def _strip_signature(part: str) -> tuple[str, str | None]:
    """``part`` without its ``signature=`` item, and that item's (decoded) value if present."""
    if not part:
        return "", None
    kept: list[str] = []
    signature: str | None = None
    for item in part.split("&"):
        if item.startswith("signature="):
            signature = unquote_plus(item[len("signature=") :])
        else:
            kept.append(item)
    return "&".join(kept), signature
