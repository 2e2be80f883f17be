"""``/openapi.json`` is valid OpenAPI 3.1, describes every route, and tells the truth: a walk through
both dialects and the admin API (images, a video to completion, a task, models, a licence, usage,
Google's operations, errors of both shapes) validates every answer against the document's schema
for its route, method and status. The response objects are closed, so a field a renderer gains
without the document fails here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from openapi_spec_validator import validate

from gateway.config import Settings
from gateway.licensing import hash_key
from gateway.openapi.serve import DOCUMENT, document_of
from gateway.simulator import SimulatorConfig
from tests.conftest import CAPTCHA_KEY, ServerFactory
from tests.contract.documented import Contract, Recorder

ADMIN_KEY = "sk-admin-contract-0123456789abcdefghijklmnop"
FAST = {
    "GATEWAY_TASKS_POLL_INTERVAL": "0.1",
    "GATEWAY_TASKS_POLL_AFTER_MS": "50",
    "GATEWAY_TASKS_LINK_DELAY": "0.05",
}
GEMINI = "/gemini/v1beta"
# The objects the walk must have validated at least once (the brief's "main response objects").
MAIN_OBJECTS = {
    "Video",
    "VideoList",
    "VideoDeleted",
    "ImagesResponse",
    "ImageTask",
    "ModelList",
    "ChatCompletion",
    "Licence",
    "UsageReport",
    "AdminLicence",
    "IssuedLicence",
    "LicenceList",
    "AuditList",
    "UsageTotals",
    "UsageRecords",
    "TaskList",
    "Task",
    "AdminHealth",
    "Error",
    "GoogleError",
    "GenerateContentResponse",
    "PredictResponse",
    "Operation",
    "GeminiModelList",
    "PublisherModelList",
    "IssuedWorkerEnrolment",
    "WorkerEnrolmentList",
    "WorkerEnrolment",
    "ConsoleSession",
}


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(image_scale=0.1, captcha_client_key=CAPTCHA_KEY, video_duration=0.3)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def gateway(
    aiohttp_server: ServerFactory,
    settings_factory: Callable[..., Settings],
    app_factory: Callable[[Settings], web.Application],
    accounts_toml: str,
    recorder: Recorder,
) -> TestServer:
    app = app_factory(
        settings_factory(FAST, f'[admin]\nkey_sha256 = "{hash_key(ADMIN_KEY)}"\n\n' + accounts_toml)
    )
    recorder.install(app)
    return await aiohttp_server(app)


class Walk:
    """Requests to the gateway, each answer kept by the app's recorder."""

    def __init__(self, http: ClientSession, server: TestServer, licence_key: str) -> None:
        self.http, self.server = http, server
        self.licence = {"Authorization": f"Bearer {licence_key}"}
        self.admin = {"Authorization": f"Bearer {ADMIN_KEY}"}

    async def call(self, method: str, path: str, status: int, *, admin: bool = False, **kw: Any) -> Any:
        headers = kw.pop("headers", self.admin if admin else self.licence)
        async with self.http.request(method, self.server.make_url(path), headers=headers, **kw) as resp:
            body = await resp.read()
            assert resp.status == status, (method, path, resp.status, body[:300])
            return await resp.json() if resp.content_type == "application/json" else body

    async def until(self, path: str, done: Callable[[Any], bool]) -> Any:
        """Polls ``path`` until ``done`` says so (the simulator finishes in well under a second)."""
        for _ in range(400):
            doc = await self.call("GET", path, 200)
            if done(doc):
                return doc
            await asyncio.sleep(0.05)
        raise AssertionError(f"{path} never finished: {doc}")


@pytest.fixture
async def walk(gateway: TestServer, licence_key: str) -> AsyncIterator[Walk]:
    async with ClientSession() as http:
        yield Walk(http, gateway, licence_key)


async def test_the_document_is_valid_openapi_31_served_without_a_licence_and_built_once(
    gateway: TestServer, walk: Walk
) -> None:
    first = await walk.call("GET", "/openapi.json", 200, headers={})
    validate(first)  # openapi-spec-validator: OpenAPI 3.1 and JSON Schema 2020-12
    assert first["openapi"] == "3.1.0"
    body = gateway.app[DOCUMENT]["/openapi.json"]
    assert await walk.call("GET", "/openapi.json", 200, headers={}) == first
    assert gateway.app[DOCUMENT]["/openapi.json"] is body  # kept, not built again


async def test_every_route_has_a_description(gateway: TestServer) -> None:
    document, missing = document_of(gateway.app)
    assert missing == []
    described = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    routes = {(r.method, r.resource.canonical) for r in gateway.app.router.routes() if r.resource is not None}
    assert described == routes
    schemes = document["components"]["securitySchemes"]
    assert {
        schemes["GoogleKeyQuery"]["in"],
        schemes["GoogleApiKey"]["name"],
        schemes["LicenceApiKey"]["name"],
    } == {
        "query",
        "x-goog-api-key",
        "x-api-key",
    }
    google = document["paths"][f"{GEMINI}/models/{{model}}:generateContent"]["post"]
    assert {"GoogleKeyQuery": []} in google["security"]
    assert google["responses"]["4XX"] == {"$ref": "#/components/responses/GoogleError"}
    admin = document["paths"]["/admin/licences"]["post"]
    assert admin["security"] == [{"AdminBearer": []}, {"AdminKey": []}, {"ConsoleSession": []}]
    assert admin["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/LicenceInput"
    }


async def test_real_answers_match_the_document(walk: Walk, recorder: Recorder) -> None:
    await _openai(walk)
    await _google(walk)
    await _admin(walk)
    document = await walk.call("GET", "/openapi.json", 200, headers={})
    contract = Contract(document)
    checked = {contract.check(answer) for answer in recorder.answers}
    assert checked >= MAIN_OBJECTS, f"not validated: {sorted(MAIN_OBJECTS - checked)}"


async def _openai(walk: Walk) -> None:
    image = {"model": "nano_banana_pro", "prompt": "a red fox"}
    await walk.call("POST", "/v1/images/generations", 200, json=image)
    await walk.call("POST", "/flow/v1/images/generations", 200, json={**image, "response_format": "url"})
    task = await walk.call("POST", "/v1/images/generations", 202, json={**image, "async": True})
    await walk.until(f"/v1/images/{task['id']}", lambda d: d["status"] == "completed")
    video = await walk.call(
        "POST", "/v1/videos", 200, json={"model": "veo_3_1-fast", "prompt": "a fox", "seconds": "4"}
    )
    await walk.until(f"/v1/videos/{video['id']}", lambda d: d["status"] == "completed")
    await walk.call("GET", "/v1/videos?limit=5", 200)
    await walk.call("GET", f"/v1/videos/{video['id']}/content", 200)
    await walk.call("DELETE", f"/v1/videos/{video['id']}", 200)
    chat = {"model": "nano_banana", "messages": [{"role": "user", "content": "a fox"}]}
    await walk.call("POST", "/v1/chat/completions", 200, json=chat)
    await walk.call("POST", "/v1/chat/completions", 200, json={**chat, "stream": True})
    for path in ("/v1/models", "/v1/models?all=true", "/v1/models/dall-e-3", "/v1/models/veo_3_1"):
        await walk.call("GET", path, 200)
    await walk.call("GET", "/v1/licence", 200)
    await walk.call("GET", "/v1/usage?group_by=model,day", 200)
    await walk.call("GET", "/v1/usage?format=csv", 200)
    await walk.call("GET", "/v1/videos/video_nope", 404)
    await walk.call("POST", "/v1/videos", 400, json={"prompt": "a fox", "n": 2})
    await walk.call("GET", "/v1/models", 401, headers={})
    for probe in ("/healthz", "/readyz", "/metrics"):
        await walk.call("GET", probe, 200, headers={})


async def _google(walk: Walk) -> None:
    prompt = {"contents": [{"parts": [{"text": "a red fox"}]}]}
    await walk.call("POST", f"{GEMINI}/models/gemini-2.5-flash-image:generateContent", 200, json=prompt)
    await walk.call("POST", f"{GEMINI}/models/gemini-2.5-flash-image:streamGenerateContent", 200, json=prompt)
    imagen = {"instances": [{"prompt": "a red fox"}]}
    await walk.call(
        "POST", "/v1beta1/publishers/google/models/imagen-4.0-generate-001:predict", 200, json=imagen
    )
    veo = {"instances": [{"prompt": "a red fox"}], "parameters": {"durationSeconds": 4}}
    started = await walk.call(
        "POST", f"{GEMINI}/models/veo-3.1-fast-generate-preview:predictLongRunning", 200, json=veo
    )
    await walk.until(f"{GEMINI}/{started['name']}", lambda d: d["done"])
    vertex = "/v1beta1/publishers/google/models/veo-3.1-fast-generate-preview"
    operation = started["name"].rsplit("/", 1)[1]
    name = f"publishers/google/models/veo-3.1-fast-generate-preview/operations/{operation}"
    await walk.call("POST", f"{vertex}:fetchPredictOperation", 200, json={"operationName": name})
    await walk.call("GET", f"{GEMINI}/models", 200)
    await walk.call("GET", f"{GEMINI}/models/veo-3.1-generate-preview", 200)
    await walk.call("GET", "/v1beta1/publishers/google/models", 200)
    await walk.call("POST", f"{GEMINI}/models/gemini-2.5-flash-image:generateContent", 400, json={"seed": 1})
    await walk.call("GET", f"{GEMINI}/operations/video_nope", 404)


async def _admin(walk: Walk) -> None:
    licence = {"name": "contract", "models": ["veo_3_1*"], "daily_credits": 100}
    created = await walk.call("POST", "/admin/licences", 201, admin=True, json=licence)
    lid = created["id"]
    await walk.call("GET", "/admin/licences", 200, admin=True)
    await walk.call("GET", f"/admin/licences/{lid}", 200, admin=True)
    await walk.call("PATCH", f"/admin/licences/{lid}", 200, admin=True, json={"rpm": 10})
    await walk.call("POST", f"/admin/licences/{lid}/rotate", 200, admin=True, json={"grace_seconds": 0})
    await walk.call("POST", f"/admin/licences/{lid}/disable", 200, admin=True)
    await walk.call("DELETE", f"/admin/licences/{lid}", 200, admin=True)
    await walk.call("GET", "/admin/audit", 200, admin=True)
    await walk.call("GET", "/admin/usage?group_by=licence_id,model", 200, admin=True)
    await walk.call("GET", "/admin/usage/records", 200, admin=True)
    tasks = await walk.call("GET", "/admin/tasks", 200, admin=True)
    await walk.call("GET", f"/admin/tasks/{tasks['data'][0]['id']}", 200, admin=True)
    accounts = await walk.call("GET", "/admin/accounts", 200, admin=True)
    await walk.call("GET", f"/admin/accounts/{accounts['data'][0]['id']}", 200, admin=True)
    for path in ("/admin/health", "/admin/pool", "/admin/upstream", "/admin/workers", "/admin/webhooks"):
        await walk.call("GET", path, 200, admin=True)
    await walk.call("POST", "/admin/doctor", 200, admin=True)
    enrolled = await walk.call("POST", "/admin/workers/enrolments", 201, admin=True, json={"name": "w1"})
    await walk.call("GET", "/admin/workers/enrolments", 200, admin=True)
    await walk.call("DELETE", f"/admin/workers/enrolments/{enrolled['id']}", 200, admin=True)
    await walk.call("GET", "/console/session", 200, headers={})
    await walk.call("POST", "/console/session", 201, headers={}, json={"key": ADMIN_KEY})
    await walk.call("GET", "/admin/licences/lic_nope", 404, admin=True)
    await walk.call("POST", "/admin/licences", 400, admin=True, json={"name": "x", "bogus": 1})
