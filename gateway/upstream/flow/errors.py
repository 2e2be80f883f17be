"""Typed upstream errors, and the one place Flow's answers are classified.

Classification reads structure only: the HTTP status, Google's ``error.status`` and the
``details[].reason`` values of ``google.rpc.ErrorInfo`` (flow-protocol.md §9), never message text.
The service maps these classes to pool outcomes and client errors (``gateway.service.retry``);
this module knows nothing of either.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

# Endpoints whose requests carry a reCAPTCHA token: only there is a bare 403 a captcha refusal.
CAPTCHA_ENDPOINTS = frozenset({"images.generate", "images.upsample", "video.submit"})
RECAPTCHA_REASONS = frozenset({"PUBLIC_ERROR_SOMETHING_WENT_WRONG", "PUBLIC_ERROR_UNUSUAL_ACTIVITY"})
RISK_REASON = "PUBLIC_ERROR_UNUSUAL_ACTIVITY"
RATE_LIMIT_REASONS = frozenset({"PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC"})
QUOTA_REASONS = frozenset(
    {"PUBLIC_ERROR_USER_QUOTA_EXCEEDED", "PUBLIC_ERROR_INSUFFICIENT_CREDITS", "PUBLIC_ERROR_QUOTA_EXCEEDED"}
)
CONTENT_REASONS = frozenset(
    {
        "PUBLIC_ERROR_UNSAFE_GENERATION",
        "PUBLIC_ERROR_AUDIO_FILTERED",
        "PUBLIC_ERROR_PROMINENT_PEOPLE_FILTER",
        "PUBLIC_ERROR_MINOR_FILTER",
        "PUBLIC_ERROR_IP_FILTER",
    }
)


@dataclass(frozen=True, slots=True)
class GoogleError:
    """The parts of a Google RPC error body that classification uses."""

    http_status: int
    status: str = ""
    reasons: tuple[str, ...] = ()


class UpstreamError(Exception):
    """Base: Flow (or the path to it) failed; ``endpoint`` names the operation."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str = "",
        error: GoogleError | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.error = error
        self.retry_after = retry_after

    @property
    def reason(self) -> str:
        """The first ErrorInfo reason, or the Google status, or the HTTP status: for logs and metrics."""
        if self.error is None:
            return type(self).__name__
        if self.error.reasons:
            return self.error.reasons[0]
        return self.error.status or str(self.error.http_status)


class UpstreamRateLimitedError(UpstreamError):
    """429 RESOURCE_EXHAUSTED (too much traffic): cool the account down and use another."""


class UpstreamQuotaError(UpstreamError):
    """The account's credits or quota are spent."""


class UpstreamCaptchaError(UpstreamError):
    """reCAPTCHA refused (403 PERMISSION_DENIED) or no token could be had: not the account's fault."""


class UpstreamAuthError(UpstreamError):
    """401, or the session token no longer yields an access token."""


class UpstreamForbiddenError(UpstreamError):
    """403 other than reCAPTCHA: tier or capability refusal."""


class UpstreamContentRejectedError(UpstreamError):
    """Flow's safety filter refused the prompt or the inputs: never retried."""


class UpstreamInvalidRequestError(UpstreamError):
    """400 INVALID_ARGUMENT without a content reason: our request was wrong (a bug or an outdated shape)."""


class UpstreamNotFoundError(UpstreamError):
    """404: the project or media is unknown to Flow for this account."""


class UpstreamUnavailableError(UpstreamError):
    """Connection failures and 5xx: a transient strike."""


class UpstreamWorkerGoneError(UpstreamError):
    """The browser worker serving the account is not connected (or left mid-call): the call may or may
    not have been dispatched, so it is not retried; the account waits for its worker."""


class UpstreamMigratedError(UpstreamAuthError):
    """labs.google redirected to flow.google.com: the account must be served by a browser worker."""


class UpstreamTimeoutError(UpstreamError):
    """No answer within the deadline."""


class UpstreamProtocolError(UpstreamError):
    """Flow answered something we cannot parse."""


def parse_google_error(http_status: int, body: bytes) -> GoogleError:
    """Extract status and ErrorInfo reasons from a Google error body; tolerant of empty or non-JSON bodies."""
    try:
        doc = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        doc = None
    error = doc.get("error") if isinstance(doc, dict) else None
    if not isinstance(error, dict):
        return GoogleError(http_status)
    status = error.get("status") if isinstance(error.get("status"), str) else ""
    reasons: list[str] = []
    details = error.get("details")
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, dict) and isinstance(detail.get("reason"), str):
            reasons.append(detail["reason"])
    return GoogleError(http_status, str(status), tuple(reasons))


def classify(error: GoogleError, *, endpoint: str, retry_after: float | None = None) -> UpstreamError:
    """Map a Google error to its typed class (the table in architecture.md)."""
    reasons = set(error.reasons)
    cls = _class_for(error, reasons, captcha=endpoint in CAPTCHA_ENDPOINTS)
    message = f"{endpoint}: HTTP {error.http_status} {error.status or ''} {','.join(error.reasons)}".strip()
    return cls(message, endpoint=endpoint, error=error, retry_after=retry_after)


def _class_for(error: GoogleError, reasons: set[str], *, captcha: bool) -> type[UpstreamError]:
    status, google = error.http_status, error.status
    if reasons & CONTENT_REASONS:
        return UpstreamContentRejectedError
    if reasons & QUOTA_REASONS:
        return UpstreamQuotaError
    if RISK_REASON in reasons:
        return UpstreamCaptchaError  # Google's risk check refused the token, whatever the status says
    if status == 429 or google == "RESOURCE_EXHAUSTED":
        return UpstreamRateLimitedError
    if status == 401 or google == "UNAUTHENTICATED":
        return UpstreamAuthError
    if status == 403 or google == "PERMISSION_DENIED":
        if captcha and (not reasons or reasons & RECAPTCHA_REASONS):
            return UpstreamCaptchaError
        return UpstreamForbiddenError
    if status == 404 or google == "NOT_FOUND":
        return UpstreamNotFoundError
    if status == 408 or status == 504 or google == "DEADLINE_EXCEEDED":
        return UpstreamTimeoutError
    if status >= 500 or google in {"INTERNAL", "UNAVAILABLE"}:
        return UpstreamUnavailableError
    if 400 <= status < 500:
        return UpstreamInvalidRequestError
    return UpstreamProtocolError


# batchexecute RPC status codes (google.rpc.Code), flow-migration.md §2.3.
RPC_STATUS = {
    2: ("UNKNOWN", 403),  # one source: "rcToken invalid, wait 60 s" — a captcha refusal
    3: ("INVALID_ARGUMENT", 400),
    5: ("NOT_FOUND", 404),
    7: ("PERMISSION_DENIED", 403),
    8: ("RESOURCE_EXHAUSTED", 429),
    13: ("INTERNAL", 500),
    14: ("UNAVAILABLE", 503),
    16: ("UNAUTHENTICATED", 401),
}


def classify_rpc(code: int, reasons: tuple[str, ...], *, endpoint: str) -> UpstreamError:
    """A batchexecute error frame (status list plus any ``PUBLIC_ERROR_*`` reasons) as a typed error.

    Reasons decide first, through the same table as REST errors; then the code. On this path
    ``[8]`` RESOURCE_EXHAUSTED is spent credits (not a traffic limit) and ``[2]`` a captcha refusal.
    """
    status, http = RPC_STATUS.get(code, ("UNKNOWN", 500))
    error = GoogleError(http, status, reasons)
    if not reasons and code == 8:
        return UpstreamQuotaError(f"{endpoint}: RPC status [8]", endpoint=endpoint, error=error)
    if not reasons and code == 2:
        return UpstreamCaptchaError(
            f"{endpoint}: RPC status [2]", endpoint=endpoint, error=error, retry_after=60
        )
    return classify(error, endpoint=endpoint)
