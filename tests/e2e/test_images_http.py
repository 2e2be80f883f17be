"""End to end over raw HTTP: the product document's curl requests, bad input, and upstream failures."""

from __future__ import annotations

import asyncio
import base64
import io
import re
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient
from PIL import Image
from structlog.testing import capture_logs

from gateway import keys
from gateway.config import Settings
from tests.conftest import SimHandle

ClientFactory = Callable[..., object]
ClientWith = Callable[..., Awaitable[TestClient]]


def png_bytes(size: tuple[int, int] = (40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 200, 10)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
async def http(
    aiohttp_client: ClientFactory, settings: Settings, app_factory: Callable[[Settings], web.Application]
) -> TestClient:
    return await aiohttp_client(app_factory(settings))  # type: ignore[no-any-return, operator]


@pytest.fixture
def auth(licence_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {licence_key}"}


async def error_of(resp: object) -> dict[str, object]:
    body = await resp.json()  # type: ignore[attr-defined]
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]  # type: ignore[no-any-return]


async def test_doc_multipart_generation(http: TestClient, auth: dict[str, str]) -> None:
    form = FormData()
    form.add_field("prompt", "画小猫")
    form.add_field("model", "nano_banana")
    resp = await http.post("/flow/v1/images/generations", data=form, headers=auth)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert Image.open(io.BytesIO(base64.b64decode(body["data"][0]["b64_json"]))).height > 0
    assert resp.headers["x-request-id"]


async def test_doc_multipart_edit(http: TestClient, auth: dict[str, str], simulator: SimHandle) -> None:
    form = FormData()
    form.add_field("image[]", png_bytes(), filename="example.jpg", content_type="image/jpeg")
    form.add_field("prompt", "换一个风格")
    form.add_field("model", "nano_banana")
    resp = await http.post("/flow/v1/images/edits", data=form, headers=auth)
    assert resp.status == 200, await resp.text()
    assert simulator.sim.stats.calls("upload") == 1


async def test_root_routes_and_other_key_headers(http: TestClient, licence_key: str) -> None:
    for header in ("x-api-key", "x-goog-api-key"):
        resp = await http.get("/v1/models", headers={header: licence_key})
        assert resp.status == 200
    models = await resp.json()
    ids = {m["id"] for m in models["data"]}
    assert {"nano_banana", "nano_banana_pro", "imagen_4", "veo_3_1"} <= ids


async def test_edit_with_json_data_url(http: TestClient, auth: dict[str, str]) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    resp = await http.post(
        "/v1/images/edits", json={"model": "nano_banana", "prompt": "p", "image": data_url}, headers=auth
    )
    assert resp.status == 200, await resp.text()


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "param"),
    [
        (
            "/v1/images/generations",
            {"data": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            None,
        ),
        ("/v1/images/generations", {"json": ["a"]}, 400, None),
        ("/v1/images/generations", {"json": {"model": "nano_banana-9K", "prompt": "x"}}, 400, "model"),
        ("/v1/images/generations", {"json": {"model": "nano_banana", "prompt": "x", "n": 0}}, 400, "n"),
        ("/v1/images/generations", {"json": {"model": "nano_banana", "prompt": "x", "n": 5}}, 400, "n"),
        (
            "/v1/images/generations",
            {"json": {"model": "nano_banana", "prompt": "x", "colour": "red"}},
            400,
            "colour",
        ),
        ("/v1/images/generations", {"json": {"model": "nope", "prompt": "x"}}, 404, "model"),
        (
            "/v1/images/edits",
            {"json": {"model": "nano_banana", "prompt": "x", "image": "%%%notbase64"}},
            400,
            "image",
        ),
        (
            "/v1/images/edits",
            {"json": {"model": "nano_banana", "prompt": "x", "image": "aGVsbG8gd29ybGQ="}},
            400,
            "image",
        ),
        (
            "/v1/images/edits",
            {"data": b"--zzz\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=zzz"}},
            400,
            None,
        ),
    ],
)
async def test_bad_input(
    http: TestClient,
    auth: dict[str, str],
    path: str,
    kwargs: dict[str, object],
    status: int,
    param: str | None,
) -> None:
    headers = {**auth, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    resp = await http.post(path, headers=headers, **kwargs)  # type: ignore[arg-type]
    assert resp.status == status, await resp.text()
    error = await error_of(resp)
    assert error["param"] == param


async def test_missing_licence_is_401(http: TestClient) -> None:
    resp = await http.post("/v1/images/generations", json={"model": "nano_banana", "prompt": "x"})
    assert resp.status == 401
    assert (await error_of(resp))["code"] == "invalid_api_key"


async def test_unknown_route_is_an_openai_404(http: TestClient, auth: dict[str, str]) -> None:
    resp = await http.post("/v1/nothing", headers=auth)
    assert resp.status == 404
    await error_of(resp)


async def test_oversized_body_is_413(client_with: ClientWith, auth: dict[str, str]) -> None:
    client = await client_with({"GATEWAY_MAX_BODY_BYTES": "2000"})
    form = FormData()
    form.add_field("image", b"\x89PNG\r\n\x1a\n" + b"\0" * 5000, filename="a.png", content_type="image/png")
    form.add_field("prompt", "x")
    form.add_field("model", "nano_banana")
    resp = await client.post("/v1/images/edits", data=form, headers=auth)
    assert resp.status == 413
    assert (await error_of(resp))["code"] == "payload_too_large"


async def test_loopback_image_url_is_refused(
    client_with: ClientWith, auth: dict[str, str], simulator: SimHandle
) -> None:
    client = await client_with({"GATEWAY_MEDIA_ALLOW_PRIVATE_URLS": "false"})
    resp = await client.post(
        "/v1/images/edits",
        headers=auth,
        json={"model": "nano_banana", "prompt": "x", "image": "http://127.0.0.1:9/secret.png"},
    )
    assert resp.status == 400
    error = await error_of(resp)
    assert error["param"] == "image"
    assert simulator.sim.stats.calls("images.generate") == 0


async def test_rate_limited_account_fails_over(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    for token in ("st-ultra-1", "st-ultra-2", "st-pro-1"):
        if token != "st-pro-1":
            simulator.sim.faults.add(
                route="images.generate", kind="rate_limited", count=1, account=token, retry_after=20
            )
    resp = await http.post(
        "/v1/images/generations", json={"model": "nano_banana", "prompt": "x"}, headers=auth
    )
    assert resp.status == 200, await resp.text()


async def test_content_refusal_is_not_retried(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    simulator.sim.faults.add(route="images.generate", kind="unsafe", count=5)
    resp = await http.post(
        "/v1/images/generations", json={"model": "nano_banana", "prompt": "x"}, headers=auth
    )
    assert resp.status == 400
    assert (await error_of(resp))["code"] == "moderation_blocked"
    assert simulator.sim.stats.calls("images.generate") == 1


async def test_upstream_500_everywhere_is_a_bounded_503_incident(
    http: TestClient, auth: dict[str, str], simulator: SimHandle, settings: Settings
) -> None:
    simulator.sim.faults.add(route="images.generate", kind="internal", count=100)
    with capture_logs() as logs:
        resp = await http.post(
            "/v1/images/generations", json={"model": "nano_banana", "prompt": "x"}, headers=auth
        )
    failed = [e["log_level"] for e in logs if e["event"] == "request_failed"]
    assert failed == ["warning"]  # Flow's state, not a gateway bug: no error line per request
    # Two of the three accounts failed in a row: an upstream incident, not two bad accounts. The
    # third attempt is not spent; the client learns when to come back.
    assert resp.status == 503 and int(resp.headers["Retry-After"]) >= 1
    assert (await error_of(resp))["code"] == "upstream_incident"
    assert simulator.sim.stats.calls("images.generate") == 2 < settings.flow.max_attempts


async def test_every_account_rate_limited_is_429_with_retry_after(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    simulator.sim.faults.add(route="images.generate", kind="rate_limited", count=100, retry_after=20)
    resp = await http.post(
        "/v1/images/generations", json={"model": "nano_banana", "prompt": "x"}, headers=auth
    )
    assert resp.status == 429
    assert (await error_of(resp))["code"] == "rate_limit_exceeded"
    assert 1 <= int(resp.headers["retry-after"]) <= 20


async def test_upstream_hang_is_a_504(
    client_with: ClientWith, auth: dict[str, str], simulator: SimHandle
) -> None:
    simulator.sim.faults.add(route="images.generate", kind="hang", count=100)
    client = await client_with(
        {
            "GATEWAY_FLOW_IMAGE_TIMEOUT": "0.3",
            "GATEWAY_FLOW_GENERATION_TIMEOUT": "5",
            "GATEWAY_FLOW_MAX_ATTEMPTS": "2",
        }
    )
    resp = await client.post(
        "/v1/images/generations", json={"model": "nano_banana", "prompt": "x"}, headers=auth
    )
    assert resp.status == 504
    for _ in range(200):  # the simulator records a hung call once the gateway gives up on it
        if simulator.sim.stats.calls("images.generate") >= 2:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert simulator.sim.stats.calls("images.generate") == 2  # two attempts (max_attempts), no more
    assert (await error_of(resp))["code"] == "upstream_timeout"


async def test_metrics_after_a_generation(http: TestClient, auth: dict[str, str]) -> None:
    resp = await http.post(
        "/v1/images/generations", json={"model": "nano_banana", "prompt": "x"}, headers=auth
    )
    assert resp.status == 200
    text = await (await http.get("/metrics")).text()
    for needle in (
        'gateway_http_requests_total{method="POST",route="/v1/images/generations",status="200"} 1.0',
        'gateway_upstream_requests_total{endpoint="batchGenerateImages",outcome="2xx"} 1.0',
        'gateway_captcha_solves_total{outcome="ok",provider="anticaptcha"} 1.0',
        'gateway_pool_inflight_leases{capability="image",group="ultra"} 0.0',
        'gateway_pool_lease_limit{capability="image",group="ultra"} 8.0',
        'gateway_pool_picks_total{capability="image"} 1.0',
        'gateway_upstream_calls_per_request_count{route="/v1/images/generations"} 1.0',
        "gateway_generation_duration_seconds_count",
        'gateway_pool_outcomes_total{outcome="success"} 1.0',
        "gateway_pool_waiting_requests 0.0",
    ):
        assert needle in text, needle
    counts = re.findall(r'gateway_pool_accounts\{kind="rest",state="active",tier="(\w+)"\} (\d+)\.0', text)
    calls = re.search(r'gateway_upstream_calls_per_request_sum\{route="/v1/images/generations"\} (\d+)', text)
    # session exchange, credits, project, generate, download: every call of this request counted
    assert calls is not None and int(calls.group(1)) >= 4
    assert sum(int(n) for _, n in counts) == 3  # every account active, by tier (known once refreshed)
    assert "st-ultra" not in text and "sk-flow" not in text


async def test_health_and_readiness(http: TestClient, client_with: ClientWith) -> None:
    assert await (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert (ready.status, (await ready.json())["accounts_serving"]) == (200, 3)
    empty = await client_with(accounts="")
    not_ready = await empty.get("/readyz")
    assert (not_ready.status, (await not_ready.json())["status"]) == (503, "not_ready")


async def test_model_routes(http: TestClient, auth: dict[str, str]) -> None:
    one = await (await http.get("/flow/v1/models/nano_banana_pro", headers=auth)).json()
    assert one["id"] == "nano_banana_pro" and one["object"] == "model"
    assert one["parameters"]["image_size"] == {"values": ["1K", "2K", "4K"], "default": "1K"}
    missing = await http.get("/flow/v1/models/stable-diffusion-3", headers=auth)  # dall-e-3 is an alias
    assert (missing.status, (await error_of(missing))["code"]) == (404, "model_not_found")


async def test_migrated_account_needs_a_worker_and_another_serves(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    for token in ("st-ultra-1", "st-ultra-2"):
        simulator.sim.migrate(token)
    body = {"model": "nano_banana", "prompt": "x"}
    # three at once: least-loaded selection tries each account first once
    responses = await asyncio.gather(
        *(http.post("/v1/images/generations", json=body, headers=auth) for _ in range(3))
    )
    assert [r.status for r in responses] == [200, 200, 200]
    states = {view.label: (view.state, view.reason) for view in http.app[keys.POOL].table.snapshot()}
    assert states["pro1"][0] == "active"
    for label in ("ultra1", "ultra2"):
        state, reason = states[label]
        assert state == "needs_worker" and "flow.google.com" in reason  # demoted, not retried or disabled
