"""Google's error shape for every gateway error, and which paths speak Google's dialect."""

from __future__ import annotations

import logging

import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from gateway.config import LoggingSettings
from gateway.errors import (
    AuthenticationError,
    BadGatewayError,
    ContentPolicyError,
    GatewayError,
    GatewayTimeoutError,
    InternalError,
    InvalidRequestError,
    MethodNotAllowedError,
    ModelNotFoundError,
    NoCapacityError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    QuotaExceededError,
    ServiceUnavailableError,
)
from gateway.gemini.dialect import error_body, is_google_path, operation_error
from gateway.obs import access_log
from gateway.obs.access_log import AccessLogger
from gateway.obs.logging import configure_logging


@pytest.mark.parametrize(
    ("error", "status", "name"),
    [
        (InvalidRequestError("bad", param="parameters.sampleCount"), 400, "INVALID_ARGUMENT"),
        (ContentPolicyError("refused"), 400, "INVALID_ARGUMENT"),
        (PayloadTooLargeError("big"), 413, "INVALID_ARGUMENT"),
        (AuthenticationError("who"), 401, "UNAUTHENTICATED"),
        (PermissionDeniedError("no", code="model_not_allowed"), 403, "PERMISSION_DENIED"),
        (NotFoundError("gone"), 404, "NOT_FOUND"),
        (ModelNotFoundError("what model"), 404, "NOT_FOUND"),
        (MethodNotAllowedError("verb"), 405, "UNIMPLEMENTED"),
        (QuotaExceededError("spent"), 429, "RESOURCE_EXHAUSTED"),
        (NoCapacityError("busy", retry_after=2.2), 429, "RESOURCE_EXHAUSTED"),
        (InternalError("bug"), 500, "INTERNAL"),
        (BadGatewayError("flow failed"), 502, "UNAVAILABLE"),
        (ServiceUnavailableError("none"), 503, "UNAVAILABLE"),
        (GatewayTimeoutError("slow"), 504, "DEADLINE_EXCEEDED"),
    ],
)
def test_every_error_class_has_googles_status(error: GatewayError, status: int, name: str) -> None:
    body = error_body(error)["error"]
    assert isinstance(body, dict)
    assert (body["code"], body["status"], body["message"]) == (status, name, error.message)
    info = body["details"][0]
    assert info == {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": error.code.upper(),
        "domain": "flow-gateway",
    }


def test_the_field_at_fault_and_the_retry_delay_are_googles_details() -> None:
    bad = error_body(InvalidRequestError("one video per operation", param="parameters.sampleCount"))["error"]
    assert isinstance(bad, dict)
    assert bad["details"][1] == {
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": "parameters.sampleCount", "description": "one video per operation"}],
    }
    busy = error_body(NoCapacityError("busy", retry_after=2.2))["error"]
    assert isinstance(busy, dict)
    assert busy["details"][-1] == {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3s"}


@pytest.mark.parametrize(
    ("code", "number"),
    [
        ("moderation_blocked", 3),
        ("video_failed", 14),
        ("upstream_timeout", 4),
        ("interrupted", 14),
        ("cancelled", 1),
    ],
)
def test_a_failed_task_is_an_operation_error_with_googles_code(code: str, number: int) -> None:
    error = operation_error(code, "what happened")
    assert (error["code"], error["message"]) == (number, "what happened")


@pytest.mark.parametrize(
    ("path", "google"),
    [
        ("/gemini", True),
        ("/gemini/v1/models", True),
        ("/v1beta/models/x:generateContent", True),
        ("/v1beta1/publishers/google/models", True),
        ("/v1/models", False),
        ("/flow/v1/videos", False),
        ("/geminix/v1", False),
        ("/v1betax", False),
        ("/admin/licences", False),
    ],
)
def test_the_dialect_is_decided_by_path(path: str, google: bool) -> None:
    assert is_google_path(path) is google


def test_a_key_in_googles_query_never_reaches_the_access_line(capsys: pytest.CaptureFixture[str]) -> None:
    root, server = logging.getLogger(), logging.getLogger("aiohttp.server")
    handlers, level, filters = root.handlers[:], root.level, server.filters[:]
    configure_logging(LoggingSettings(level="info", format="json"))
    try:
        request = make_mocked_request("GET", "/gemini/v1beta/models?key=sk-flow-secret-in-the-query")
        AccessLogger(logging.getLogger("gateway.access"), "").log(request, web.Response(status=200), 0.001)
        out = capsys.readouterr().out
    finally:
        root.handlers[:], server.filters[:] = handlers, filters
        root.setLevel(level)
        structlog.reset_defaults()
        access_log.use(enabled=True, json_to=None)
    assert '"path":"/gemini/v1beta/models"' in out
    assert "sk-flow-secret" not in out
