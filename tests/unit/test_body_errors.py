"""A request body aiohttp could not read is the client's mistake, classified by exception class."""

from __future__ import annotations

import pytest
from aiohttp.http_exceptions import ContentEncodingError, ContentLengthError, DecompressSizeError
from aiohttp.web_protocol import RequestPayloadError

from gateway.middleware.errors import body_error


def unreadable(cause: Exception | None) -> RequestPayloadError:
    exc = RequestPayloadError("whatever aiohttp says")
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("cause", "encoding", "status", "code"),
    [
        (ContentEncodingError("gzip"), "gzip", 400, "invalid_content_encoding"),
        (None, "deflate", 400, "invalid_content_encoding"),  # the cause is kept only for a waiting reader
        (DecompressSizeError("too big"), "gzip", 413, "payload_too_large"),
        (ContentLengthError("short"), "", 400, "invalid_body"),
        (None, "", 400, "invalid_body"),
        (None, "identity", 400, "invalid_body"),
    ],
)
def test_body_errors(cause: Exception | None, encoding: str, status: int, code: str) -> None:
    error = body_error(unreadable(cause), encoding)
    assert (error.status, error.code, error.param) == (status, code, None)
    assert "whatever aiohttp says" not in error.message  # never the parser's own text
