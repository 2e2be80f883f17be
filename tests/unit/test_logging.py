import json
import logging

import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from gateway.config import LoggingSettings
from gateway.obs.access_log import AccessLogger
from gateway.obs.logging import configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


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
