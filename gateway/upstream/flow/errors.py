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


class UpstreamOverloadedError(UpstreamRateLimitedError):
    """Flow is short of capacity for a model, for everybody (HIGH_TRAFFIC, MODEL_OVERLOADED, …): another
    account would be refused the same, so the feature pauses pool-wide instead of one account."""


class UpstreamQuotaError(UpstreamError):
    """The account's credits or quota are spent."""


class UpstreamModelQuotaError(UpstreamError):
    """The account's daily quota of one model is spent (PER_MODEL_DAILY_QUOTA_REACHED): that model on
    that account until the next UTC midnight, nothing else."""


class UpstreamConcurrencyError(UpstreamError):
    """The account runs as many generations as Flow allows it (CONCURRENT_LIMIT_REACHED): nothing was
    created; the account's concurrency is lowered and the request goes elsewhere."""


class UpstreamInProgressError(UpstreamError):
    """Flow says this generation is already in progress: something was created, so it is never sent
    again; the caller waits or gives up."""


class UpstreamUnconfirmedError(UpstreamError):
    """A submit ended in an error that can describe an accepted operation (a bare NOT_FOUND, INTERNAL,
    UNAVAILABLE, UNKNOWN on a video submit): Flow may have created (and charged) the job, so it is
    never sent again."""


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


class UpstreamInputRejectedError(UpstreamError):
    """Flow refused the client's input itself (an image too small, a prompt language, a format): a
    400 for the client, never retried."""


class UpstreamFlaggedError(UpstreamCaptchaError):
    """flow.google.com flagged the account's activity (UNUSUAL_ACTIVITY) although its token was
    minted in its own signed-in page: the account pauses, and the request is not sprayed across the
    pool (public reports: that is how a whole pool gets flagged)."""


class UpstreamNotFoundError(UpstreamError):
    """404: the project or media is unknown to Flow for this account."""


class UpstreamUnavailableError(UpstreamError):
    """Connection failures and 5xx: a transient strike."""


class UpstreamConnectionLostError(UpstreamUnavailableError):
    """The connection broke after the request went out (an answer cut short, a reset): Flow may have
    acted on it. A transient strike like any 5xx, but a video submit that ends so is never resent."""


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
    1: ("CANCELLED", 499),
    2: ("UNKNOWN", 403),  # one source: "rcToken invalid, wait 60 s" — a captcha refusal
    3: ("INVALID_ARGUMENT", 400),
    4: ("DEADLINE_EXCEEDED", 504),
    5: ("NOT_FOUND", 404),
    7: ("PERMISSION_DENIED", 403),
    8: ("RESOURCE_EXHAUSTED", 429),
    9: ("FAILED_PRECONDITION", 400),
    12: ("UNIMPLEMENTED", 501),
    13: ("INTERNAL", 500),
    14: ("UNAVAILABLE", 503),
    16: ("UNAUTHENTICATED", 401),
}
# What each PublicAitkError reason means for the account and the request (errors.json evidence;
# btcfoxman's POLICY/TRAFFIC sets and fograd's scheduler informed the grouping). Reasons decide
# before the status code; a reason in no set falls through to the code.
THROTTLE_REASONS = frozenset(
    {"PUBLIC_ERROR_USER_REQUESTS_THROTTLED", "PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC"}
)
SITE_WIDE_REASONS = frozenset(
    {
        "PUBLIC_ERROR_HIGH_TRAFFIC",
        "PUBLIC_ERROR_MODEL_DISABLED_DUE_TO_TRAFFIC",
        "PUBLIC_ERROR_MODEL_OVERLOADED",
    }
)
MODEL_QUOTA_REASONS = frozenset(
    {"PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED", "PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED_UPGRADEABLE"}
)
ACCOUNT_QUOTA_REASONS = QUOTA_REASONS | {
    "PUBLIC_ERROR_USER_QUOTA_REACHED",
    "PUBLIC_ERROR_WORKSPACE_ACCOUNT_QUOTA_REACHED",
}
DENIED_REASONS = frozenset(
    {
        "PUBLIC_ERROR_MODEL_ACCESS_DENIED",
        "PUBLIC_ERROR_USER_REGION_DISALLOWED",
        "PUBLIC_ERROR_PROJECT_NOT_ALLOWLISTED",
        "PUBLIC_ERROR_USER_ROLE_NOT_GRANTED",
        "PUBLIC_ERROR_PROJECT_FLOW_ENTERPRISE_NOT_ENABLED",
    }
)
POLICY_REASONS = CONTENT_REASONS | {
    "PUBLIC_ERROR_UNSAFE_IMAGE_UPLOAD",
    "PUBLIC_ERROR_PROMINENT_PEOPLE_FILTER_FAILED",
    "PUBLIC_ERROR_VIOLENCE_FILTER",
    "PUBLIC_ERROR_DANGER_FILTER",
    "PUBLIC_ERROR_SEXUAL",
    "PUBLIC_ERROR_MINOR_UPLOAD",
    "PUBLIC_ERROR_SEXUAL_UPLOAD",
    "PUBLIC_ERROR_PROMINENT_PEOPLE_UPLOAD",
    "PUBLIC_ERROR_PHOTOREAL_UPLOAD",
    "PUBLIC_ERROR_MINOR",
    "PUBLIC_ERROR_MINOR_HARM_UPLOAD",
    "PUBLIC_ERROR_PHOTOREAL_INPUT_IMAGE",
    "PUBLIC_ERROR_PROMINENT_PEOPLE_INPUT_IMAGE",
    "PUBLIC_ERROR_MINOR_INPUT_IMAGE",
    "PUBLIC_ERROR_IP_INPUT_IMAGE",
    "PUBLIC_ERROR_IMAGE_OUTPUT_IP_FILTER",
    "PUBLIC_ERROR_UNSAFE_VIDEO_UPLOAD",
    "PUBLIC_ERROR_VERTEX_SAFETY_FILTER_TRIGGERED",
    "PUBLIC_BOTTLE_CONTENT_WARNING",
    "PUBLIC_ERROR_REPUTATIONAL",
    "PUBLIC_ERROR_UNSAFE_SEARCH",
    "PUBLIC_ERROR_UNSAFE_CONTENT",
    "PUBLIC_ERROR_UNSAFE_FACE",
    "PUBLIC_ERROR_UNSAFE_IDENTITY",
}
INPUT_REASONS = frozenset(
    {
        "PUBLIC_ERROR_NON_ENGLISH_PROMPT",
        "PUBLIC_ERROR_UNKNOWN_IMAGE_FILE_FORMAT",
        "PUBLIC_ERROR_IMAGE_TOO_LARGE",
        "PUBLIC_ERROR_IMAGE_TOO_SMALL",
        "PUBLIC_ERROR_VIDEO_DURATION_TOO_LONG",
        "PUBLIC_ERROR_UNDERSPECIFIED_ANIMAL",
        "PUBLIC_ERROR_VERTEX_UNSUPPORTED_INPUT",
    }
)
TRANSIENT_REASONS = frozenset(
    {
        "PUBLIC_ERROR_SOMETHING_WENT_WRONG",
        "PUBLIC_ERROR_VIDEO_GENERATION_TIMED_OUT",
        "PUBLIC_ERROR_APP_UNAVAILABLE",
        "PUBLIC_ERROR_VERTEX_SERVICE_UNAVAILABLE",
    }
)
_BY_REASON: tuple[tuple[frozenset[str], type[UpstreamError]], ...] = (
    (POLICY_REASONS, UpstreamContentRejectedError),
    (INPUT_REASONS, UpstreamInputRejectedError),
    (frozenset({RISK_REASON}), UpstreamFlaggedError),
    (THROTTLE_REASONS, UpstreamRateLimitedError),
    (SITE_WIDE_REASONS, UpstreamOverloadedError),
    (MODEL_QUOTA_REASONS, UpstreamModelQuotaError),
    (ACCOUNT_QUOTA_REASONS, UpstreamQuotaError),
    (DENIED_REASONS, UpstreamForbiddenError),
    (frozenset({"PUBLIC_ERROR_CONCURRENT_LIMIT_REACHED"}), UpstreamConcurrencyError),
    (frozenset({"PUBLIC_ERROR_GENERATION_ALREADY_IN_PROGRESS"}), UpstreamInProgressError),
    (TRANSIENT_REASONS, UpstreamUnavailableError),
)
# Codes that can describe an operation Flow accepted (btcfoxman: "DEADLINE_EXCEEDED, UNKNOWN,
# INTERNAL, UNAVAILABLE and ALREADY_EXISTS can describe an accepted operation"; fograd saw a bare
# [5] on MZZa6b and the job ran): after an asynchronous submit they prove nothing.
UNCONFIRMED_CODES = frozenset({1, 4, 5, 6, 10, 13, 14, 15})


def classify_rpc(
    code: int, reasons: tuple[str, ...], *, endpoint: str, submit: bool = False
) -> UpstreamError:
    """A batchexecute error status (code plus decoded reasons) as a typed error.

    Reasons decide first (``_BY_REASON``), then the code. A reasonless ``[8]`` is throttling, never
    spent credits (no live capture shows credits running out without a reason). ``submit`` marks an
    asynchronous video submit, after which a code in ``UNCONFIRMED_CODES`` proves nothing was
    created. A bare ``[2]`` stays a captcha refusal (one source; unconfirmed).
    """
    status, http = RPC_STATUS.get(code, ("UNKNOWN", 500))
    error = GoogleError(http, status, reasons)
    message = f"{endpoint}: RPC status [{code}] {','.join(reasons)}".strip()
    for group, cls in _BY_REASON:
        if group.intersection(reasons):
            return cls(message, endpoint=endpoint, error=error)
    if submit and code in UNCONFIRMED_CODES:
        return UpstreamUnconfirmedError(message, endpoint=endpoint, error=error)
    if code == 8:
        return UpstreamRateLimitedError(message, endpoint=endpoint, error=error)
    if code == 2:
        return UpstreamCaptchaError(message, endpoint=endpoint, error=error, retry_after=60)
    if code == 9:
        return UpstreamInvalidRequestError(message, endpoint=endpoint, error=error)
    return classify(error, endpoint=endpoint)
