"""The gateway's client-facing error tree; rendered once, by the error middleware.

Every error a client can see is one of these. Each class carries its HTTP status, the OpenAI
``type`` and default ``code``; instances add the message, the offending ``param`` and retry hints.
This module knows nothing of HTTP frameworks or of Flow: upstream errors live in
``gateway.upstream.flow.errors`` and are mapped onto this tree by ``gateway.service.retry``.

::

    GatewayError                     (status, type, code; message, param, retry_after, should_retry)
    ├── InvalidRequestError          400  invalid_request_error   invalid_request (param set)
    │   ├── ContentPolicyError       400  invalid_request_error   moderation_blocked    x-should-retry: false
    │   └── PayloadTooLargeError     413  invalid_request_error   payload_too_large
    ├── AuthenticationError          401  invalid_request_error   invalid_api_key
    ├── PermissionDeniedError        403  permission_error        model_not_allowed
    │   ├── LicenceExpiredError      403  permission_error        licence_expired
    │   ├── LicenceRevokedError      403  permission_error        licence_revoked
    │   └── LicenceDisabledError     403  permission_error        licence_disabled
    ├── NotFoundError                404  invalid_request_error   not_found
    │   └── ModelNotFoundError       404  invalid_request_error   model_not_found
    ├── MethodNotAllowedError        405  invalid_request_error   method_not_allowed
    ├── ClientClosedError            499  invalid_request_error   client_closed (the client left)
    ├── QuotaExceededError           429  insufficient_quota      insufficient_quota    x-should-retry: false
    ├── NoCapacityError              429  requests                rate_limit_exceeded   Retry-After(-ms)
    ├── ServiceUnavailableError      503  server_error            no_usable_accounts / draining  Retry-After
    │   ├── StoreUnavailableError    503  server_error            store_unavailable     Retry-After
    │   └── MediaUnavailableError    503  server_error            media_unavailable     Retry-After
    ├── BadGatewayError              502  server_error            upstream_error
    ├── GatewayTimeoutError          504  server_error            upstream_timeout
    └── InternalError                500  server_error            internal_error (message = request id only)
"""

from __future__ import annotations

from typing import ClassVar


class GatewayError(Exception):
    """Base of every client-facing error; subclasses fix status, type and default code."""

    status: ClassVar[int] = 500
    type: ClassVar[str] = "server_error"
    default_code: ClassVar[str] = "internal_error"
    default_should_retry: ClassVar[bool | None] = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        should_retry: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code or self.default_code
        self.retry_after = retry_after
        self.should_retry = should_retry if should_retry is not None else self.default_should_retry

    def body(self) -> dict[str, dict[str, str | None]]:
        """The OpenAI error envelope for this error."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def headers(self) -> dict[str, str]:
        """Retry hints the OpenAI SDK reads (``retry-after``, ``retry-after-ms``, ``x-should-retry``)."""
        out: dict[str, str] = {}
        if self.retry_after is not None:
            seconds = max(1, round(self.retry_after + 0.499))
            out["retry-after"] = str(seconds)
            out["retry-after-ms"] = str(max(1, int(self.retry_after * 1000)))
        if self.should_retry is not None:
            out["x-should-retry"] = "true" if self.should_retry else "false"
        return out


class InvalidRequestError(GatewayError):
    """The request is malformed or names an invalid value (400)."""

    status = 400
    type = "invalid_request_error"
    default_code = "invalid_request"
    default_should_retry = False


class ContentPolicyError(InvalidRequestError):
    """Flow refused the prompt or the images (400, never retried)."""

    default_code = "moderation_blocked"


class PayloadTooLargeError(InvalidRequestError):
    """The body or one of its parts is larger than allowed (413)."""

    status = 413
    default_code = "payload_too_large"


class AuthenticationError(GatewayError):
    """The licence key is missing or unknown (401)."""

    status = 401
    type = "invalid_request_error"
    default_code = "invalid_api_key"
    default_should_retry = False


class PermissionDeniedError(GatewayError):
    """The licence, or every entitled account, may not do this (403)."""

    status = 403
    type = "permission_error"
    default_code = "model_not_allowed"
    default_should_retry = False


class LicenceExpiredError(PermissionDeniedError):
    """The licence's ``expires_at`` has passed (403)."""

    default_code = "licence_expired"


class LicenceRevokedError(PermissionDeniedError):
    """The licence was revoked: its keys no longer work (403)."""

    default_code = "licence_revoked"


class LicenceDisabledError(PermissionDeniedError):
    """An operator disabled the licence for now (403)."""

    default_code = "licence_disabled"


class NotFoundError(GatewayError):
    """The route or the resource does not exist for this caller (404)."""

    status = 404
    type = "invalid_request_error"
    default_code = "not_found"
    default_should_retry = False


class ModelNotFoundError(NotFoundError):
    """The model name is not in the catalogue (404)."""

    default_code = "model_not_found"


class MethodNotAllowedError(GatewayError):
    """The route exists but not for this method (405)."""

    status = 405
    type = "invalid_request_error"
    default_code = "method_not_allowed"
    default_should_retry = False


class ConflictError(GatewayError):
    """The target is in a state that forbids the change (409): e.g. cancelling a task already
    submitted, or changing through the API a licence the config file owns."""

    status = 409
    type = "invalid_request_error"
    default_code = "conflict"
    default_should_retry = False


class ClientClosedError(GatewayError):
    """The client left before its work was dispatched: nothing more is spent for it (499, the status
    proxies log for a client that closed the request; nobody reads the body)."""

    status = 499
    type = "invalid_request_error"
    default_code = "client_closed"
    default_should_retry = False


class QuotaExceededError(GatewayError):
    """A budget is spent: the licence's, or every account's credits (429, not retryable)."""

    status = 429
    type = "insufficient_quota"
    default_code = "insufficient_quota"
    default_should_retry = False


class NoCapacityError(GatewayError):
    """Every capable account is busy or cooling down (429 with Retry-After)."""

    status = 429
    type = "requests"
    default_code = "rate_limit_exceeded"


class ServiceUnavailableError(GatewayError):
    """No account can serve now, or the gateway is draining (503 with Retry-After)."""

    status = 503
    type = "server_error"
    default_code = "no_usable_accounts"


class StoreUnavailableError(ServiceUnavailableError, OSError):
    """The shared store (Redis) does not answer: 503, retry soon; nothing was half-written.

    An ``OSError`` too, so the background loops that already treat an ``OSError`` as "the store is
    down, try again next time" (as with SQLite's I/O errors) do the same with Redis."""

    default_code = "store_unavailable"


class MediaUnavailableError(ServiceUnavailableError, OSError):
    """The media storage (S3) does not answer or refuses: 503, retry soon; nothing was stored.

    An ``OSError`` too, like a failing disk, so the retention sweep logs it and tries again later."""

    default_code = "media_unavailable"


class BadGatewayError(GatewayError):
    """Flow failed after the retries allowed (502)."""

    status = 502
    type = "server_error"
    default_code = "upstream_error"


class GatewayTimeoutError(GatewayError):
    """Flow did not answer within the deadline (504)."""

    status = 504
    type = "server_error"
    default_code = "upstream_timeout"


class InternalError(GatewayError):
    """A bug in the gateway (500); the message names only the request id."""

    status = 500
    type = "server_error"
    default_code = "internal_error"


# Codes a task may end with that are not a class's default code, and the class that carries them.
_CODE_CLASSES: dict[str, type[GatewayError]] = {
    "video_failed": BadGatewayError,
    "video_unavailable": BadGatewayError,
    "upstream_captcha_failed": BadGatewayError,
    "input_missing": BadGatewayError,
    "worker_unavailable": ServiceUnavailableError,
    "interrupted": ServiceUnavailableError,
    "account_removed": ServiceUnavailableError,
    "account_unavailable": ServiceUnavailableError,
    "no_account_in_group": PermissionDeniedError,
    "upstream_flagged": BadGatewayError,
    "upstream_unconfirmed": BadGatewayError,
    "generation_in_progress": ServiceUnavailableError,
    "invalid_input": InvalidRequestError,
    "source_unavailable": InvalidRequestError,
}


def error_for_code(code: str, message: str) -> GatewayError:
    """The client error a stored code stands for (a task's ``error.code``), so a failed task can be
    answered with the status its failure would have had as a direct request."""
    cls = _CODE_CLASSES.get(code)
    if cls is None:
        cls = next((c for c in _subclasses(GatewayError) if c.default_code == code), BadGatewayError)
    return cls(message, code=code)


def _subclasses(cls: type[GatewayError]) -> list[type[GatewayError]]:
    found = []
    for sub in cls.__subclasses__():
        found.extend([sub, *_subclasses(sub)])
    return found
