"""python-binance's Client with dustsweep's request building: sign exactly what is sent.

Imported only lazily by ``binance._sdk()`` (it imports the SDK at module level, and
``dustsweep --help`` must not). python-binance keeps doing the calls (its methods, URLs,
session, error handling); only ``_get_request_kwargs`` is replaced, so that the parameters
are percent-encoded once (``signing.encode_params``), that string is signed, the signature is
appended, and the very same string is what requests sends: the query string of a GET (or of
any call with ``force_params``), the form body of a POST/PUT/DELETE. requests leaves such a
string as it is (see ``signing``), so the bytes Binance hashes are the bytes signed here.

Unsigned calls are encoded the same way, so there is one way a request is built.
"""

from __future__ import annotations

import time
from typing import Any

from binance.client import Client

from dustsweep.exchanges.signing import Signer, encode_params


class SigningClient(Client):  # type: ignore[misc]  # python-binance is untyped
    """A ``binance.client.Client`` whose signed requests carry ``signer``'s signature over
    the encoded payload as sent. The SDK never sees the secret or the private key."""

    def __init__(self, api_key: str, signer: Signer, **kwargs: Any) -> None:
        super().__init__(api_key, None, **kwargs)
        self._signer = signer

    def _get_request_kwargs(
        self, method: str, signed: bool, force_params: bool = False, **kwargs: Any
    ) -> dict[str, Any]:
        kwargs["timeout"] = self.REQUEST_TIMEOUT
        if self._requests_params:
            kwargs.update(self._requests_params)
        data = dict(kwargs.pop("data", None) or {})
        extra = data.pop("requests_params", None)
        if extra:
            kwargs.update(extra)
        data.pop("signature", None)
        if signed:
            data["timestamp"] = int(time.time() * 1000 + self.timestamp_offset)
            if self.REQUEST_RECVWINDOW:
                data["recvWindow"] = self.REQUEST_RECVWINDOW
        payload = encode_params(sorted(data.items()))
        if signed:
            signature = self._signer.sign(payload)
            payload = f"{payload}&signature={signature}" if payload else f"signature={signature}"
        if payload:
            if method == "get" or force_params:
                kwargs["params"] = payload
            else:
                kwargs["data"] = payload
        return kwargs
