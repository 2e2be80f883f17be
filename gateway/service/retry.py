"""The one table joining upstream errors to pool outcomes, retry decisions and client errors.

Every ``UpstreamError`` class has exactly one row: what the account's health should learn
(``Outcome``), whether another attempt is worth it and where (same account allowed or not), and
which ``GatewayError`` the client sees when attempts run out, and whether a single-use submit (a
video) may be sent again after it (``resend``: only when the error proves nothing was created; a
timeout does not). Nothing else in the gateway decides these things.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.errors import (
    BadGatewayError,
    ContentPolicyError,
    GatewayError,
    GatewayTimeoutError,
    NoCapacityError,
    PermissionDeniedError,
    QuotaExceededError,
    ServiceUnavailableError,
)
from gateway.pool.policy import Outcome
from gateway.upstream.flow import errors as up


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after one failed attempt."""

    outcome: Outcome
    retry: bool
    elsewhere: bool
    to_client: Callable[[up.UpstreamError], GatewayError]
    resend: bool = True  # a single-use submit (a video) may be sent again: this error proves none was made


def _rate_limited(exc: up.UpstreamError) -> GatewayError:
    return NoCapacityError(
        "every Flow account able to serve this request is rate limited; retry later",
        retry_after=exc.retry_after if exc.retry_after else 30.0,
    )


def _quota(_: up.UpstreamError) -> GatewayError:
    return QuotaExceededError("the Flow accounts able to serve this request have no credits left")


def _captcha(_: up.UpstreamError) -> GatewayError:
    return BadGatewayError("Flow refused the reCAPTCHA check after retries", code="upstream_captcha_failed")


def _auth(_: up.UpstreamError) -> GatewayError:
    return ServiceUnavailableError("no Flow account with a working session is available", retry_after=30)


def _forbidden(_: up.UpstreamError) -> GatewayError:
    return PermissionDeniedError("no Flow account entitled to this model or option is available")


def _content(_: up.UpstreamError) -> GatewayError:
    return ContentPolicyError("Flow refused to generate this content (safety filter)", param="prompt")


def _upstream(_: up.UpstreamError) -> GatewayError:
    return BadGatewayError("Flow failed to complete the request")


def _worker_gone(_: up.UpstreamError) -> GatewayError:
    return ServiceUnavailableError(
        "the browser worker serving this request disconnected; retry shortly",
        code="worker_unavailable",
        retry_after=5,
    )


def _timeout(_: up.UpstreamError) -> GatewayError:
    return GatewayTimeoutError("Flow did not answer in time")


TABLE: dict[type[up.UpstreamError], Decision] = {
    up.UpstreamRateLimitedError: Decision(
        Outcome.RATE_LIMITED, retry=True, elsewhere=True, to_client=_rate_limited
    ),
    up.UpstreamQuotaError: Decision(Outcome.QUOTA_EXHAUSTED, retry=True, elsewhere=True, to_client=_quota),
    up.UpstreamCaptchaError: Decision(Outcome.CAPTCHA, retry=True, elsewhere=False, to_client=_captcha),
    up.UpstreamAuthError: Decision(Outcome.AUTH_FAILED, retry=True, elsewhere=True, to_client=_auth),
    up.UpstreamMigratedError: Decision(Outcome.MIGRATED, retry=True, elsewhere=True, to_client=_auth),
    up.UpstreamWorkerGoneError: Decision(
        Outcome.UNREACHABLE, retry=False, elsewhere=True, to_client=_worker_gone, resend=False
    ),
    up.UpstreamForbiddenError: Decision(Outcome.FORBIDDEN, retry=True, elsewhere=True, to_client=_forbidden),
    up.UpstreamContentRejectedError: Decision(
        Outcome.CONTENT, retry=False, elsewhere=False, to_client=_content
    ),
    up.UpstreamInvalidRequestError: Decision(
        Outcome.CLIENT_ERROR, retry=False, elsewhere=False, to_client=_upstream
    ),
    up.UpstreamNotFoundError: Decision(Outcome.TRANSIENT, retry=True, elsewhere=True, to_client=_upstream),
    up.UpstreamUnavailableError: Decision(Outcome.TRANSIENT, retry=True, elsewhere=True, to_client=_upstream),
    up.UpstreamTimeoutError: Decision(
        Outcome.TRANSIENT, retry=True, elsewhere=True, to_client=_timeout, resend=False
    ),
    up.UpstreamProtocolError: Decision(
        Outcome.CLIENT_ERROR, retry=False, elsewhere=False, to_client=_upstream, resend=False
    ),
}
_DEFAULT = Decision(Outcome.TRANSIENT, retry=False, elsewhere=False, to_client=_upstream)


def decide(exc: up.UpstreamError) -> Decision:
    """The row for this error's class (the nearest base class listed, else a conservative default)."""
    for cls in type(exc).__mro__:
        row = TABLE.get(cls)
        if row is not None:
            return row
    return _DEFAULT
