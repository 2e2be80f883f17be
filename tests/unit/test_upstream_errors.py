import orjson
import pytest

from gateway.upstream.flow import errors as up


def body(code: int, status: str, *reasons: str) -> bytes:
    details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": r} for r in reasons]
    return orjson.dumps(
        {"error": {"code": code, "message": "whatever text", "status": status, "details": details}}
    )


@pytest.mark.parametrize(
    ("http", "raw", "endpoint", "expected"),
    [
        (403, body(403, "PERMISSION_DENIED"), "images.generate", up.UpstreamCaptchaError),
        (
            403,
            body(403, "PERMISSION_DENIED", "PUBLIC_ERROR_SOMETHING_WENT_WRONG"),
            "images.generate",
            up.UpstreamCaptchaError,
        ),
        (
            403,
            body(403, "PERMISSION_DENIED", "PUBLIC_ERROR_UNUSUAL_ACTIVITY"),
            "video.submit",
            up.UpstreamCaptchaError,
        ),
        (403, body(403, "PERMISSION_DENIED"), "upload", up.UpstreamForbiddenError),
        (
            403,
            body(403, "PERMISSION_DENIED", "PUBLIC_ERROR_TIER_NOT_ALLOWED"),
            "images.upsample",
            up.UpstreamForbiddenError,
        ),
        (
            429,
            body(429, "RESOURCE_EXHAUSTED", "PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC"),
            "images.generate",
            up.UpstreamRateLimitedError,
        ),
        (
            429,
            body(429, "RESOURCE_EXHAUSTED", "PUBLIC_ERROR_USER_QUOTA_EXCEEDED"),
            "video.submit",
            up.UpstreamQuotaError,
        ),
        (
            400,
            body(400, "INVALID_ARGUMENT", "PUBLIC_ERROR_UNSAFE_GENERATION"),
            "images.generate",
            up.UpstreamContentRejectedError,
        ),
        (400, body(400, "INVALID_ARGUMENT"), "images.generate", up.UpstreamInvalidRequestError),
        (400, b"", "images.generate", up.UpstreamInvalidRequestError),
        (401, body(401, "UNAUTHENTICATED"), "credits", up.UpstreamAuthError),
        (404, body(404, "NOT_FOUND"), "media.get", up.UpstreamNotFoundError),
        (500, body(500, "INTERNAL"), "images.generate", up.UpstreamUnavailableError),
        (503, b"<html>busy</html>", "images.generate", up.UpstreamUnavailableError),
        (504, b"", "images.generate", up.UpstreamTimeoutError),
    ],
)
def test_classification_by_structure(http: int, raw: bytes, endpoint: str, expected: type) -> None:
    error = up.classify(up.parse_google_error(http, raw), endpoint=endpoint)
    assert type(error) is expected
    assert error.endpoint == endpoint


def test_message_text_is_not_used_for_classification() -> None:
    raw = orjson.dumps(
        {"error": {"code": 400, "message": "reCAPTCHA evaluation failed 429 quota", "status": "X"}}
    )
    assert type(up.classify(up.parse_google_error(400, raw), endpoint="images.generate")) is (
        up.UpstreamInvalidRequestError
    )


def test_reason_and_retry_after_are_kept() -> None:
    raw = body(429, "RESOURCE_EXHAUSTED", "PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC")
    error = up.classify(up.parse_google_error(429, raw), endpoint="images.generate", retry_after=20)
    assert error.reason == "PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC"
    assert error.retry_after == 20


@pytest.mark.parametrize("raw", [b"not json", b"[1,2]", b'{"error": "text"}', b'{"error": {"details": "x"}}'])
def test_odd_bodies_parse_without_raising(raw: bytes) -> None:
    parsed = up.parse_google_error(418, raw)
    assert parsed.http_status == 418
    assert parsed.reasons == ()
