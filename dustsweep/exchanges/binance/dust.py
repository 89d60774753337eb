"""The Binance small-balance conversion ("dust") calls for the Binance adapter. Imports no SDK.

A mixin, like ``ConvertApi``, so ``BinanceExchange`` offers these calls directly; it only needs
the adapter's transport. Dust to BNB goes through ``/sapi/v1/asset/dust-btc`` and
``/sapi/v1/asset/dust``, any other target through ``/sapi/v1/asset/dust-convert/*``; the
dribblet log settles conversions whose outcome is unknown. Conversions are never retried.
"""

from __future__ import annotations

import time

from dustsweep.core.models import ConversionPreview, ConversionResult
from dustsweep.errors import (
    AuthError,
    Banned,
    ClockSkew,
    ConversionRejected,
    ExchangeError,
    NetworkError,
    RateLimited,
    ServerError,
)
from dustsweep.exchanges.binance import smallbalance as dust
from dustsweep.exchanges.binance.errors import CONVERT, unavailable
from dustsweep.exchanges.binance.transport import BinanceTransport

_DUST_CONVERT = "asset/dust-convert"
# Errors that say nothing about a conversion target: previews pass them on unchanged.
_NOT_ABOUT_TARGET = (NetworkError, ServerError, RateLimited, Banned, ClockSkew, AuthError)


class DustApi:
    """``preview_conversion``, ``convert``, ``last_conversion_ms`` and ``conversions_since``."""

    _transport: BinanceTransport

    def preview_conversion(self, target: str) -> ConversionPreview:
        """BNB: dust-btc. Any other target: dust-convert/query-convertible-assets, where an
        error means the target is not supported, and an empty list that nothing is eligible."""
        target = target.upper()
        if target == "BNB":
            return self._transport.read(
                self._transport.ctx("preview dust->BNB (POST /sapi/v1/asset/dust-btc)", CONVERT),
                lambda c: c.get_dust_assets(),
                dust.preview_bnb,
            )
        ctx = self._transport.ctx(
            f"preview dust->{target} (POST /sapi/v1/{_DUST_CONVERT}/query-convertible-assets)",
            CONVERT,
        )
        try:
            preview = self._transport.read(
                ctx,
                lambda c: c._request_margin_api(
                    "post",
                    f"{_DUST_CONVERT}/query-convertible-assets",
                    signed=True,
                    data={"targetAsset": target},  # a fresh dict per call: the SDK mutates it
                ),
                lambda body: dust.preview_target(body, target),
            )
        except ExchangeError as err:
            if isinstance(err, _NOT_ABOUT_TARGET) and err.code != -1002:
                raise
            if isinstance(err, ConversionRejected) and err.kind in {"cooldown", "insufficient"}:
                raise  # about the account, not the target
            raise ConversionRejected(
                f"{err}; target {target} is not supported",
                kind="unsupported_target",
                code=err.code,
                http_status=err.http_status,
            ) from None
        # An empty list is not a refusal: nothing of this account is eligible into the target
        # now (the plan then says "nothing to convert"). A target Binance does not take is
        # refused with an error instead (above).
        return preview

    def convert(
        self, preview: ConversionPreview, assets: list[str], client_id: str
    ) -> ConversionResult:
        """Convert ``assets`` (all from ``preview``) in one request; never retried.

        BNB uses /sapi/v1/asset/dust (no client id there); other targets dust-convert/convert
        with ``clientId``. The asset list is one comma-joined value (python-binance cannot send
        repeated keys).
        """
        if not assets:
            raise ValueError("convert needs at least one asset")
        listed = {line.asset: line.amount for line in preview.lines}
        unknown = [a for a in assets if a not in listed]
        target = preview.target
        ctx = self._transport.ctx(f"convert {','.join(assets)} into {target}", CONVERT)
        if unknown:
            raise ConversionRejected(
                ctx.message(
                    f"{', '.join(unknown)} not in the exchange's preview",
                    "pass only assets the preview lists (one ineligible asset fails the batch)",
                ),
                kind="ineligible",
            )
        joined = ",".join(assets)
        if target == "BNB":
            ctx = self._transport.ctx(
                f"convert {joined} into BNB (POST /sapi/v1/asset/dust)", CONVERT
            )
            body = self._transport.call(ctx, lambda c: c.transfer_dust(asset=joined), is_read=False)
        else:
            ctx = self._transport.ctx(
                f"convert {joined} into {target} (POST /sapi/v1/{_DUST_CONVERT}/convert)", CONVERT
            )
            body = self._transport.call(
                ctx,
                lambda c: c._request_margin_api(
                    "post",
                    f"{_DUST_CONVERT}/convert",
                    signed=True,
                    data={"asset": joined, "targetAsset": target, "clientId": client_id},
                ),
                is_read=False,
            )
        requested = {asset: listed[asset] for asset in assets}
        return self._transport.parse(
            ctx, body, lambda data: dust.conversion_result(data, target, requested)
        )

    def last_conversion_ms(self) -> int | None:
        """Latest operateTime of the dribblet log; None when empty or unavailable."""
        try:
            return self._transport.read(
                self._transport.ctx("read the dust log (GET /sapi/v1/asset/dribblet)"),
                lambda c: c.get_dust_log(),
                dust.last_operate_time,
            )
        except ExchangeError as err:
            if unavailable(err):
                return None
            raise

    def _server_now_ms(self) -> int:
        return int(time.time() * 1000) + self._transport.offset_ms

    def conversions_since(self, since_ms: int) -> list[ConversionResult]:
        """The dust log from ``since_ms`` on (exchange time), with amounts: one result per
        conversion, oldest first, [] when none.

        GET /sapi/v1/asset/dribblet?startTime=...: classic dust->BNB conversions, and
        dust-convert ones where the exchange logs them there (the simulator does). It keeps
        only the last 100 conversions, plenty with one conversion per cool-down. Failures
        raise the translated ExchangeError: unlike ``last_conversion_ms``, an unavailable log
        is not "no conversion", the caller must not read it as proof of absence.
        """
        since_ms = int(since_ms)
        return self._transport.read(
            self._transport.ctx(
                f"read the dust log since {since_ms} (GET /sapi/v1/asset/dribblet)"
            ),
            # Older docs require endTime with startTime (at most 90 days apart); now is cheap.
            lambda c: c.get_dust_log(startTime=since_ms, endTime=self._server_now_ms()),
            lambda body: dust.conversion_log(body, since_ms),
        )
