"""Which requests speak Google's dialect, and Google's error shape for the gateway's errors.

The one place that decides the dialect, by path: ``/gemini/...``, and ``/v1beta/...`` and
``/v1beta1/...`` at the root (the root's ``/v1`` is OpenAI's). The error middleware renders every
error of such a request with :class:`GoogleErrors` (``{"error": {"code", "message", "status",
"details"}}``, the HTTP status kept, so both SDKs' status dispatch still works); the licence
middleware reads the key from ``?key=`` there too, as Google's API does. Nothing here knows the
routes: only prefixes.
"""

from __future__ import annotations

import re

from aiohttp import web

from gateway.api.render import json_response
from gateway.errors import GatewayError, error_for_code

PREFIX = "/gemini"
ROOT_PREFIXES = ("/v1beta", "/v1beta1")
VERSIONS = ("v1", "v1beta", "v1beta1")
DOMAIN = "flow-gateway"  # ErrorInfo.domain: the codes in ``reason`` are this gateway's (api.md §6)
_BASE = re.compile(r"^(?:/gemini)?/(?:v1|v1beta|v1beta1)(?=/|$)")
# HTTP status -> Google's canonical status name and its google.rpc.Code number (the number is what a
# long-running operation's ``error.code`` carries; an HTTP error keeps the HTTP status).
STATUSES: dict[int, tuple[str, int]] = {
    400: ("INVALID_ARGUMENT", 3),
    401: ("UNAUTHENTICATED", 16),
    403: ("PERMISSION_DENIED", 7),
    404: ("NOT_FOUND", 5),
    405: ("UNIMPLEMENTED", 12),
    409: ("ABORTED", 10),
    413: ("INVALID_ARGUMENT", 3),
    416: ("OUT_OF_RANGE", 11),
    429: ("RESOURCE_EXHAUSTED", 8),
    499: ("CANCELLED", 1),
    500: ("INTERNAL", 13),
    502: ("UNAVAILABLE", 14),  # Flow failed after the retries: worth trying again later
    503: ("UNAVAILABLE", 14),
    504: ("DEADLINE_EXCEEDED", 4),
}
# Task endings with a google.rpc.Code of their own (an operator cancelled it before it was submitted).
TASK_CODES = {"cancelled": 1}
OTHER_CLIENT_ERROR = ("FAILED_PRECONDITION", 9)
OTHER_SERVER_ERROR = ("INTERNAL", 13)


def is_google_path(path: str) -> bool:
    """True for the paths Google's dialect owns."""
    return any(path == p or path.startswith(p + "/") for p in (PREFIX, *ROOT_PREFIXES))


def is_google_request(request: web.Request) -> bool:
    """:func:`is_google_path` of the request (the middlewares' predicate)."""
    return is_google_path(request.path)


def api_base(request: web.Request) -> str:
    """The prefix and version the request came in on (``/gemini/v1beta``), for URLs it is given."""
    match = _BASE.match(request.path)
    return match.group(0) if match is not None else PREFIX + "/v1beta"


def status_of(http_status: int) -> tuple[str, int]:
    """Google's status name and ``google.rpc.Code`` for an HTTP status."""
    found = STATUSES.get(http_status)
    if found is not None:
        return found
    return OTHER_SERVER_ERROR if http_status >= 500 else OTHER_CLIENT_ERROR


def error_body(error: GatewayError) -> dict[str, object]:
    """Google's error envelope: the field at fault as a ``BadRequest`` violation, our code as the
    ``ErrorInfo`` reason (upper case, as Google writes reasons), the retry delay as ``RetryInfo``."""
    name, _ = status_of(error.status)
    details: list[dict[str, object]] = [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": error.code.upper(), "domain": DOMAIN}
    ]
    if error.param:
        violation = {"field": error.param, "description": error.message}
        details.append({"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [violation]})
    if error.retry_after is not None:
        delay = f"{max(1, round(error.retry_after + 0.499))}s"
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay})
    return {"error": {"code": error.status, "message": error.message, "status": name, "details": details}}


def operation_error(code: str, message: str) -> dict[str, object]:
    """A failed task as a long-running operation's ``error`` (a ``google.rpc.Status``): the code its
    failure would have had as a direct request, as Google's number."""
    number = TASK_CODES.get(code) or status_of(error_for_code(code, message).status)[1]
    return {
        "code": number,
        "message": message,
        "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": code.upper(), "domain": DOMAIN}
        ],
    }


class GoogleErrors:
    """The error middleware's dialect for Google's paths."""

    def claims(self, request: web.Request) -> bool:
        """Google's paths only."""
        return is_google_request(request)

    def render(self, error: GatewayError) -> web.Response:
        """The error in Google's shape, with the gateway's retry headers."""
        return json_response(error_body(error), status=error.status, headers=error.headers())
