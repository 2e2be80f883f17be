"""The one table joining upstream errors to pool outcomes, retry decisions and client errors.

Every ``UpstreamError`` class has exactly one row: what the account's health should learn
(``Outcome``), whether another attempt is worth it and where (same account allowed or not), and
which ``GatewayError`` the client sees when attempts run out, and whether a single-use submit (a
video) may be sent again after it (``resend``: only when the error proves nothing was created; a
timeout does not). Nothing else in the gateway decides these things.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.errors import (
    BadGatewayError,
    ContentPolicyError,
    GatewayError,
    GatewayTimeoutError,
    InvalidRequestError,
    NoCapacityError,
    PermissionDeniedError,
    QuotaExceededError,
    ServiceUnavailableError,
)
from gateway.pool.account import next_midnight
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


def _overloaded(exc: up.UpstreamError) -> GatewayError:
    return NoCapacityError(
        f"Flow is short of capacity for this model ({exc.reason}); retry later",
        retry_after=exc.retry_after if exc.retry_after else 60.0,
    )


def _model_quota(_: up.UpstreamError) -> GatewayError:
    now = time.time()
    return NoCapacityError(
        "every Flow account able to serve this model has used its daily quota of it; it resets at "
        "midnight UTC",
        retry_after=max(1.0, next_midnight(now) - now),
    )


def _concurrency(_: up.UpstreamError) -> GatewayError:
    return NoCapacityError(
        "every Flow account able to serve this is at its concurrency limit", retry_after=30
    )


def _in_progress(_: up.UpstreamError) -> GatewayError:
    return ServiceUnavailableError(
        "Flow says this generation is already in progress; it was not sent again",
        code="generation_in_progress",
        retry_after=30,
    )


def _unconfirmed(_: up.UpstreamError) -> GatewayError:
    return BadGatewayError(
        "Flow's answer did not say whether the video was created; it was not sent again, so it cannot "
        "be charged twice",
        code="upstream_unconfirmed",
        should_retry=False,
    )


def _input(exc: up.UpstreamError) -> GatewayError:
    return InvalidRequestError(f"Flow refused the input ({exc.reason})", code="invalid_input")


def _flagged(_: up.UpstreamError) -> GatewayError:
    # x-should-retry false: an SDK retrying at once would spray the same request across the pool.
    return BadGatewayError(
        "Flow flagged unusual activity on the account serving this request; that account is paused and "
        "the request was not sent to another one",
        code="upstream_flagged",
        should_retry=False,
    )


TABLE: dict[type[up.UpstreamError], Decision] = {
    up.UpstreamRateLimitedError: Decision(
        Outcome.RATE_LIMITED, retry=True, elsewhere=True, to_client=_rate_limited
    ),
    up.UpstreamOverloadedError: Decision(
        Outcome.OVERLOADED, retry=False, elsewhere=False, to_client=_overloaded
    ),
    up.UpstreamModelQuotaError: Decision(
        Outcome.MODEL_QUOTA, retry=True, elsewhere=True, to_client=_model_quota
    ),
    up.UpstreamConcurrencyError: Decision(
        Outcome.CONCURRENCY, retry=True, elsewhere=True, to_client=_concurrency
    ),
    up.UpstreamInProgressError: Decision(
        Outcome.CLIENT_ERROR, retry=False, elsewhere=False, to_client=_in_progress, resend=False
    ),
    up.UpstreamUnconfirmedError: Decision(
        Outcome.TRANSIENT, retry=False, elsewhere=False, to_client=_unconfirmed, resend=False
    ),
    up.UpstreamInputRejectedError: Decision(
        Outcome.CLIENT_ERROR, retry=False, elsewhere=False, to_client=_input
    ),
    up.UpstreamFlaggedError: Decision(Outcome.FLAGGED, retry=False, elsewhere=False, to_client=_flagged),
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
    up.UpstreamConnectionLostError: Decision(
        Outcome.TRANSIENT, retry=True, elsewhere=True, to_client=_upstream
    ),
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
