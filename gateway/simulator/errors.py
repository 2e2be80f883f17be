"""Google-style error responses, as Flow's hosts send them (flow-protocol.md §9).

Bodies are ``{"error": {"code", "message", "status", "details": [ErrorInfo]}}`` with
``Content-Type: application/json; charset=UTF-8`` and ``server: ESF``. Raising
:class:`GoogleError` anywhere in a handler produces one. A GoogleError with an empty ``status``
renders as an empty body (the bare ``HTTP 400`` Flow answers to outdated body shapes, §9).
"""

from __future__ import annotations

import orjson
from aiohttp import web

ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
JSON_TYPE = "application/json; charset=UTF-8"


class GoogleError(Exception):
    """An error answer: HTTP status, Google status, message and optional ErrorInfo reason."""

    def __init__(
        self,
        http: int,
        status: str,
        message: str,
        *,
        reason: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.http, self.status, self.message, self.reason, self.retry_after = (
            http,
            status,
            message,
            reason,
            retry_after,
        )

    def response(self) -> web.Response:
        """The HTTP response for this error."""
        if not self.status:
            return web.Response(status=self.http, headers={"server": "ESF"})
        error: dict[str, object] = {"code": self.http, "message": self.message, "status": self.status}
        if self.reason:
            error["details"] = [
                {"@type": ERROR_INFO, "reason": self.reason, "domain": "aisandbox-pa.googleapis.com"}
            ]
        headers = {"server": "ESF"}
        if self.retry_after is not None:
            headers["Retry-After"] = str(int(self.retry_after))
        return web.Response(
            body=orjson.dumps({"error": error}),
            status=self.http,
            headers=headers,
            content_type="application/json",
            charset="UTF-8",
        )


def invalid(message: str = "Request contains an invalid argument.", reason: str | None = None) -> GoogleError:
    """400 INVALID_ARGUMENT."""
    return GoogleError(400, "INVALID_ARGUMENT", message, reason=reason)


def unauthenticated() -> GoogleError:
    """401 UNAUTHENTICATED, Google's wording."""
    return GoogleError(
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 "
        "access token, login cookie or other valid authentication credential.",
    )


def recaptcha_failed(reason: str = "PUBLIC_ERROR_UNUSUAL_ACTIVITY") -> GoogleError:
    """403 PERMISSION_DENIED reCAPTCHA evaluation failed."""
    return GoogleError(403, "PERMISSION_DENIED", "reCAPTCHA evaluation failed", reason=reason)


def not_found(message: str = "Requested entity was not found.") -> GoogleError:
    """404 NOT_FOUND."""
    return GoogleError(404, "NOT_FOUND", message)


def json_reply(doc: object, *, status: int = 200) -> web.Response:
    """A Google-style JSON success answer."""
    return web.Response(
        body=orjson.dumps(doc),
        status=status,
        headers={"server": "ESF"},
        content_type="application/json",
        charset="UTF-8",
    )


def tier_refused() -> GoogleError:
    """403 for a model or resolution the account's tier does not include.

    The real refusal's wording and reason are unknown (flow-protocol.md open question 8): this
    reason, ``PUBLIC_ERROR_TIER_NOT_ALLOWED``, is the simulator's guess.
    """
    return GoogleError(
        403,
        "PERMISSION_DENIED",
        "The caller does not have permission",
        reason="PUBLIC_ERROR_TIER_NOT_ALLOWED",
    )


def quota_exceeded() -> GoogleError:
    """429 for spent credits.

    The real wording is unknown (flow-protocol.md open question 8); ``PUBLIC_ERROR_USER_QUOTA_EXCEEDED``
    is the simulator's guess.
    """
    return GoogleError(
        429, "RESOURCE_EXHAUSTED", "Quota exceeded.", reason="PUBLIC_ERROR_USER_QUOTA_EXCEEDED"
    )


# HTTP status and Google status name of each grpc code, as Google's HTTP/JSON gateways map them.
GRPC_HTTP = {
    1: (499, "CANCELLED"),
    2: (500, "UNKNOWN"),
    3: (400, "INVALID_ARGUMENT"),
    4: (504, "DEADLINE_EXCEEDED"),
    5: (404, "NOT_FOUND"),
    6: (409, "ALREADY_EXISTS"),
    7: (403, "PERMISSION_DENIED"),
    8: (429, "RESOURCE_EXHAUSTED"),
    9: (400, "FAILED_PRECONDITION"),
    10: (409, "ABORTED"),
    11: (400, "OUT_OF_RANGE"),
    12: (501, "UNIMPLEMENTED"),
    13: (500, "INTERNAL"),
    14: (503, "UNAVAILABLE"),
    15: (500, "DATA_LOSS"),
    16: (401, "UNAUTHENTICATED"),
}


def grpc_error(code: int, reason: str | None, *, retry_after: float | None = None) -> GoogleError:
    """The REST answer of a grpc ``code`` with an optional ``PUBLIC_ERROR_*`` reason."""
    http, status = GRPC_HTTP[code]
    return GoogleError(http, status, reason or status, reason=reason, retry_after=retry_after)
