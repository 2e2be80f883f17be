"""The CORS middleware alone, in a bare app with a stand-in licence check and one handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import TestClient
from aiohttp.typedefs import Handler

from gateway.middleware.cors import CorsPolicy, cors_middlewares, install_cors_headers

ClientFor = Callable[[web.Application], Awaitable[TestClient]]
ORIGIN = "https://ui.example"
PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}


@web.middleware
async def needs_key(request: web.Request, handler: Handler) -> web.StreamResponse:
    if "Authorization" not in request.headers:
        raise web.HTTPUnauthorized(text="no key")
    return await handler(request)


async def streamed(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"x-ratelimit-remaining-videos": "3", "Vary": "Accept"})
    await response.prepare(request)  # headers go out here: the middleware never sees this response
    await response.write(b"data: 1\n\n")
    return response


def app_for(origins: tuple[str, ...]) -> web.Application:
    policy = CorsPolicy(origins)
    app = web.Application(middlewares=[*cors_middlewares(policy), needs_key])
    install_cors_headers(app, policy)
    app.router.add_post("/v1/stream", streamed)
    return app


async def test_a_streamed_answer_carries_the_headers_and_its_rate_limits(aiohttp_client: ClientFor) -> None:
    client = await aiohttp_client(app_for((ORIGIN,)))
    resp = await client.post("/v1/stream", headers={"Origin": ORIGIN, "Authorization": "Bearer k"})
    assert resp.status == 200 and resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert resp.headers["Vary"] == "Accept, Origin"
    assert "x-ratelimit-remaining-videos" in resp.headers["Access-Control-Expose-Headers"].split(", ")


async def test_any_origin_and_a_malformed_header_list(aiohttp_client: ClientFor) -> None:
    client = await aiohttp_client(app_for(("*",)))
    asked = {**PREFLIGHT, "Origin": "http://localhost:3000", "Access-Control-Request-Headers": "a b;(c)"}
    resp = await client.options("/v1/stream", headers=asked)
    assert resp.status == 204 and resp.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert (
        resp.headers["Access-Control-Allow-Headers"]
        == "authorization, content-type, x-api-key, x-goog-api-key"
    )
    assert resp.headers["Access-Control-Max-Age"] == "600"


async def test_off_by_default_sends_nothing_and_answers_no_preflight(aiohttp_client: ClientFor) -> None:
    client = await aiohttp_client(app_for(()))
    resp = await client.options("/v1/stream", headers=PREFLIGHT)
    assert resp.status == 401  # not answered: the licence check sees it, as without CORS
    resp = await client.post("/v1/stream", headers={"Origin": ORIGIN, "Authorization": "Bearer k"})
    assert resp.status == 200 and not any(h.startswith("Access-Control") for h in resp.headers)


async def test_an_origin_is_matched_whole(aiohttp_client: ClientFor) -> None:
    client = await aiohttp_client(app_for((ORIGIN + "/",)))  # a trailing slash in the config is fine
    resp = await client.options("/v1/stream", headers={**PREFLIGHT, "Origin": ORIGIN + ".evil.example"})
    assert resp.status == 401 and "Access-Control-Allow-Origin" not in resp.headers
    resp = await client.options("/v1/stream", headers={**PREFLIGHT, "Origin": ORIGIN.upper()})
    assert resp.status == 204
