"""Each middleware alone, in a bare application with a one-line handler."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from gateway import keys
from gateway.config import LicenceSettings
from gateway.errors import NoCapacityError, QuotaExceededError
from gateway.licensing import LicenceRegistry, hash_key
from gateway.middleware.errors import error_middleware
from gateway.middleware.licence import licence_middleware
from gateway.middleware.metrics import metrics_middleware
from gateway.middleware.request_context import install_response_headers, request_context_middleware
from gateway.obs.metrics import GatewayMetrics, metrics_handler

ClientFactory = Callable[..., Any]


async def ok(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "id": request.get(keys.REQUEST_ID)})


async def test_request_id_generated_echoed_and_sanitised(aiohttp_client: ClientFactory) -> None:
    app = web.Application(middlewares=[request_context_middleware()])
    app.router.add_get("/", ok)
    client: TestClient = await aiohttp_client(app)
    generated = await client.get("/")
    assert generated.headers["x-request-id"].startswith("req_")
    assert (await generated.json())["id"] == generated.headers["x-request-id"]
    assert int(generated.headers["openai-processing-ms"]) >= 0
    echoed = await client.get("/", headers={"x-request-id": "client-123"})
    assert echoed.headers["x-request-id"] == "client-123"
    evil = await client.get("/", headers={"x-request-id": "a b\tc" + "x" * 200})
    assert evil.headers["x-request-id"].startswith("req_")


async def test_request_id_on_errors_and_streams(aiohttp_client: ClientFactory) -> None:
    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"data")
        return response

    async def missing(_: web.Request) -> web.Response:
        raise web.HTTPNotFound

    app = web.Application(middlewares=[request_context_middleware()])
    install_response_headers(app)
    app.router.add_get("/stream", stream)
    app.router.add_get("/missing", missing)
    client: TestClient = await aiohttp_client(app)
    assert (await client.get("/stream")).headers["x-request-id"].startswith("req_")
    assert (await client.get("/missing", headers={"x-request-id": "r1"})).headers["x-request-id"] == "r1"


async def test_errors_render_gateway_errors_with_retry_headers(aiohttp_client: ClientFactory) -> None:
    async def busy(_: web.Request) -> web.Response:
        raise NoCapacityError("all busy", retry_after=12.5)

    async def spent(_: web.Request) -> web.Response:
        raise QuotaExceededError("spent")

    app = web.Application(middlewares=[error_middleware()])
    app.router.add_get("/busy", busy)
    app.router.add_get("/spent", spent)
    client: TestClient = await aiohttp_client(app)
    resp = await client.get("/busy")
    assert resp.status == 429
    assert await resp.json() == {
        "error": {"message": "all busy", "type": "requests", "param": None, "code": "rate_limit_exceeded"}
    }
    assert (resp.headers["retry-after"], resp.headers["retry-after-ms"]) == ("13", "12500")
    spent_resp = await client.get("/spent")
    assert (spent_resp.status, spent_resp.headers["x-should-retry"]) == (429, "false")


async def test_errors_404_405_413_and_bugs(aiohttp_client: ClientFactory) -> None:
    async def bug(_: web.Request) -> web.Response:
        raise RuntimeError("secret internals ya29.token")

    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    app = web.Application(middlewares=[request_context_middleware(), error_middleware()], client_max_size=10)
    app.router.add_get("/bug", bug)
    app.router.add_post("/echo", echo)
    client: TestClient = await aiohttp_client(app)
    not_found = await client.get("/nowhere")
    assert (not_found.status, (await not_found.json())["error"]["message"]) == (
        404,
        "Invalid URL (GET /nowhere)",
    )
    assert (await client.get("/echo")).status == 405
    too_big = await client.post("/echo", data=b"x" * 100)
    assert (too_big.status, (await too_big.json())["error"]["code"]) == (413, "payload_too_large")
    with capture_logs() as logs:
        crashed = await client.get("/bug", headers={"x-request-id": "req-9"})
    body = await crashed.json()
    assert crashed.status == 500
    assert body["error"]["message"] == "Internal server error (request id req-9)"
    assert "secret" not in str(body)
    assert any(entry["event"] == "unhandled_error" for entry in logs)


async def test_cancellation_is_not_a_500(aiohttp_client: ClientFactory) -> None:
    seen: list[BaseException] = []

    async def slow(_: web.Request) -> web.Response:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError as exc:
            seen.append(exc)
            raise
        return web.Response()

    app = web.Application(middlewares=[error_middleware()], handler_args={"handler_cancellation": True})
    app.router.add_get("/slow", slow)
    client: TestClient = await aiohttp_client(app)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await client.get("/slow")
    await asyncio.sleep(0.1)
    assert len(seen) == 1


async def test_metrics_by_route_template(aiohttp_client: ClientFactory) -> None:
    metrics = GatewayMetrics()
    app = web.Application(middlewares=[metrics_middleware(metrics), error_middleware()])
    app.router.add_get("/v1/models/{model_id}", ok)
    app.router.add_get("/metrics", metrics_handler(metrics))
    client: TestClient = await aiohttp_client(app)
    for name in ("a", "b", "c"):
        await client.get(f"/v1/models/{name}")
    await client.get("/missing")
    text = await (await client.get("/metrics")).text()
    assert 'gateway_http_requests_total{method="GET",route="/v1/models/{model_id}",status="200"} 3.0' in text
    assert 'route="unmatched",status="404"' in text
    assert 'gateway_http_inflight_requests{route="/v1/models/{model_id}"} 0.0' in text
    assert "/v1/models/a" not in text


@pytest.fixture
def registry() -> LicenceRegistry:
    return LicenceRegistry([LicenceSettings(id="lic-1", key_sha256=hash_key("sk-flow-good-key-123"))])


@pytest.fixture
async def licensed(aiohttp_client: ClientFactory, registry: LicenceRegistry) -> TestClient:
    async def who(request: web.Request) -> web.Response:
        return web.json_response({"licence": request[keys.LICENCE].id})

    app = web.Application(
        middlewares=[error_middleware(), licence_middleware(registry, exempt=lambda r: r.path == "/healthz")]
    )
    app.router.add_get("/who", who)
    app.router.add_get("/healthz", ok)
    return await aiohttp_client(app)  # type: ignore[no-any-return]


@pytest.mark.parametrize("header", ["Authorization", "x-api-key", "x-goog-api-key"])
async def test_licence_headers(licensed: TestClient, header: str) -> None:
    value = "Bearer sk-flow-good-key-123" if header == "Authorization" else "sk-flow-good-key-123"
    resp = await licensed.get("/who", headers={header: value})
    assert await resp.json() == {"licence": "lic-1"}


async def test_licence_missing_wrong_and_exempt(licensed: TestClient) -> None:
    missing = await licensed.get("/who")
    assert (missing.status, (await missing.json())["error"]["code"]) == (401, "invalid_api_key")
    with capture_logs() as logs:
        wrong = await licensed.get("/who", headers={"Authorization": "Bearer sk-flow-wrong-key-999"})
    message = (await wrong.json())["error"]["message"]
    assert wrong.status == 401
    assert "sk-flow-wrong-key-999" not in message and "sk-fl***99" in message
    assert "sk-flow-wrong-key-999" not in str(logs)
    assert (await licensed.get("/healthz")).status == 200
