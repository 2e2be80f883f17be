"""structlog configuration: context variables, ISO timestamps, redaction, JSON or console output.

``configure_logging`` is called once, by ``__main__``; library code only calls ``structlog.get_logger``.
aiohttp's and asyncio's stdlib loggers are routed through the same processors, so every line,
whoever writes it, is redacted and rendered the same way. A request aiohttp cannot parse (a header
line too long, broken chunked framing, a body encoding it cannot decode) is answered 400 by aiohttp
before the app sees it, and logged by aiohttp as an error with a traceback: that is the client's
mistake, so :class:`ClientMistakeFilter` turns it into one ``bad_http_request`` line at info.

Our own lines skip stdlib logging: structlog renders them and writes each straight to stdout (one
write and a flush per line), which costs less than half of a trip through a ``LogRecord``, a handler
and a formatter; only other libraries' records take that trip.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import orjson
import structlog
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from gateway.obs import access_log
from gateway.obs.redact import redact_processor

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def _dumps(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


class _NamedWriter(structlog.WriteLogger):
    """A line writer that knows its logger's name (for the ``logger`` field)."""

    def __init__(self, name: str, file: TextIO) -> None:
        super().__init__(file)
        self.name = name


class ClientMistakeFilter(logging.Filter):
    """Rewrites aiohttp's error record for a request it could not parse (recognised by the exception
    class and its 4xx code, never the text) as ``bad_http_request`` at info, without the traceback."""

    def __init__(self, threshold: int) -> None:
        super().__init__()
        self._threshold = threshold

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep other records as they are; keep a rewritten one only if info lines are wanted."""
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= exc.code < 500:
            status = exc.code
        elif isinstance(exc, RequestPayloadError):
            status = 400
        else:
            return True
        record.msg, record.args = "bad_http_request", ()
        record.levelno, record.levelname = logging.INFO, "INFO"
        record.exc_info, record.exc_text = None, None
        record.http_status, record.http_error = status, type(exc).__name__
        return self._threshold <= logging.INFO


def configure_logging(settings: Any) -> None:
    """Set up structlog and stdlib logging for ``settings`` (a ``LoggingSettings``)."""
    level = LEVELS[settings.level]
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_processor,
    ]
    foreign = [*shared, structlog.stdlib.ExtraAdder(allow=("http_status", "http_error"))]
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_dumps)
        if settings.format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    out = sys.stdout
    structlog.configure(
        processors=[*shared, renderer],
        logger_factory=lambda *args: _NamedWriter(str(args[0]) if args else "", out),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=foreign,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    access_log.use(
        enabled=level <= logging.INFO,
        json_to=access_log.stdout_bytes() if settings.format == "json" else None,
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # our AccessLogger writes the access lines
    server = logging.getLogger("aiohttp.server")
    for old in [f for f in server.filters if isinstance(f, ClientMistakeFilter)]:
        server.removeFilter(old)  # configured again (tests): one filter, with the new level
    server.addFilter(ClientMistakeFilter(level))
