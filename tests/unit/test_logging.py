import json
import logging

import pytest
import structlog
from aiohttp import web
from aiohttp.http_exceptions import LineTooLong
from aiohttp.test_utils import make_mocked_request
from aiohttp.web_protocol import RequestPayloadError

from gateway.config import LoggingSettings
from gateway.obs import access_log
from gateway.obs.access_log import AccessLogger
from gateway.obs.logging import configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> object:
    root, server = logging.getLogger(), logging.getLogger("aiohttp.server")
    handlers, level, filters = root.handlers[:], root.level, server.filters[:]
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    server.filters[:] = filters
    structlog.reset_defaults()
    access_log.use(enabled=True, json_to=None)


def test_json_lines_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(level="info", format="json"))
    structlog.get_logger("t").info(
        "upstream_call", authorization="Bearer ya29.secret", note="token ya29.abcdefgh"
    )
    logging.getLogger("aiohttp.server").warning("stdlib line with Bearer sk-flow-abcdefghijkl")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["event"] == "upstream_call" and lines[0]["level"] == "info" and "timestamp" in lines[0]
    assert lines[0]["authorization"] == "***"
    assert "ya29" not in lines[0]["note"]
    assert "sk-flow-abcdefghijkl" not in lines[1]["event"]


def test_access_line_has_no_query_string(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(level="info", format="json"))
    request = make_mocked_request(
        "GET", "/v1/media/img_x?expires=1&signature=secret-sig", headers={"User-Agent": "ua"}
    )
    response = web.Response(status=200, headers={"x-request-id": "req_1"})
    AccessLogger(logging.getLogger("gateway.access"), "").log(request, response, 0.0123)
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert (line["event"], line["path"], line["status"], line["request_id"]) == (
        "http_request",
        "/v1/media/img_x",
        200,
        "req_1",
    )
    assert "secret-sig" not in json.dumps(line)
    assert line["duration_ms"] == 12.3


def test_level_filter(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(level="warning", format="console"))
    structlog.get_logger("t").info("hidden")
    structlog.get_logger("t").warning("shown")
    out = capsys.readouterr().out
    assert "shown" in out and "hidden" not in out


def test_a_request_aiohttp_could_not_parse_is_one_info_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(level="info", format="json"))
    server = logging.getLogger("aiohttp.server")
    try:
        raise LineTooLong("x" * 20, "8190")
    except LineTooLong as exc:
        server.exception("Error handling request from %s", "127.0.0.1", exc_info=exc)
    try:
        raise RuntimeError("a bug")
    except RuntimeError as exc:
        server.exception("Error handling request from %s", "127.0.0.1", exc_info=exc)
    client, bug = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (client["event"], client["level"], client["http_status"], client["http_error"]) == (
        "bad_http_request",
        "info",
        400,
        "LineTooLong",
    )
    assert "exception" not in client
    assert bug["level"] == "error" and "RuntimeError" in bug["exception"]


def test_a_client_mistake_is_not_shown_below_warning(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(level="warning", format="json"))
    logging.getLogger("aiohttp.server").error("Unhandled exception", exc_info=RequestPayloadError("bad gzip"))
    assert capsys.readouterr().out == ""


def test_access_line_carries_the_error_code_and_licence_and_is_off_below_info(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(LoggingSettings(level="info", format="json"))
    request = make_mocked_request("POST", "/v1/x/sk-flow-abcdefghijklmnop", headers={"User-Agent": "ua"})
    request[access_log.ERROR_CODE] = "model_not_found"
    request[access_log.LICENCE_ID] = "alice"
    AccessLogger(logging.getLogger("gateway.access"), "").log(request, web.Response(status=404), 0.001)
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert (line["code"], line["licence_id"], line["level"]) == ("model_not_found", "alice", "info")
    assert "sk-flow-abcdefghijklmnop" not in line["path"]  # a key pasted into a path is scrubbed
    assert AccessLogger(logging.getLogger("gateway.access"), "").enabled
    configure_logging(LoggingSettings(level="warning", format="json"))
    assert not AccessLogger(logging.getLogger("gateway.access"), "").enabled
