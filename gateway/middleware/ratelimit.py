"""``x-ratelimit-limit-requests``, ``x-ratelimit-remaining-requests`` and ``x-ratelimit-reset-requests``
(OpenAI's names) on every response to a licence that has a requests-per-minute limit.

Set in ``on_response_prepare`` rather than by a middleware: a stream is prepared inside its handler
(before a middleware could add headers) and an error is rendered outside it (by the error
middleware), and the headers belong on both. They are read when the response is prepared, so a
generation request's own admission is already counted. A licence without an rpm limit gets none:
there is no number to send. The window counts generation requests (the admissions), not reads: a
client polling its video does not spend its limit. With replicas on Redis the window is the shared
one (read from Redis: when it does not answer, the headers are left out rather than guessed).
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.errors import StoreUnavailableError

LIMIT, REMAINING, RESET = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
)


def install_ratelimit_headers(app: web.Application) -> None:
    """Add the headers to every response prepared for a request with a limited licence."""

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        licence = request.get(keys.LICENCE)
        if licence is None or not licence.rpm or keys.QUOTA not in request.app:
            return
        try:
            window = await request.app[keys.QUOTA].window(licence)
        except StoreUnavailableError:  # shared counters away: the response goes without them
            return
        response.headers[LIMIT] = str(window.limit)
        response.headers[REMAINING] = str(window.remaining)
        response.headers[RESET] = window.reset_duration

    app.on_response_prepare.append(on_prepare)
