"""The simulator refuses what Flow refuses: each test sends one wrong thing and expects Flow's answer."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from gateway.simulator import SimAccount, Simulator, SimulatorConfig

UA = "TestAgent/1.0"
COOKIE = "__Secure-next-auth.session-token"
KEY = "k"


class Flow:
    """A minimal hand-written Flow client, to drive the simulator step by step."""

    def __init__(self, client: TestClient, session_token: str = "st-u") -> None:
        self.client, self.st = client, session_token
        self.at = ""
        self.project = ""

    async def login(self) -> None:
        resp = await self.client.get("/fx/api/auth/session", headers={"Cookie": f"{COOKIE}={self.st}"})
        self.at = (await resp.json())["access_token"]
        resp = await self.client.post(
            "/fx/api/trpc/project.createProject",
            json={"json": {"projectTitle": "t", "toolName": "PINHOLE"}},
            headers={"Cookie": f"{COOKIE}={self.st}"},
        )
        self.project = (await resp.json())["result"]["data"]["json"]["result"]["projectId"]

    async def token(self, action: str = "IMAGE_GENERATION", ua: str = UA) -> str:
        task = {
            "type": "RecaptchaV3TaskProxylessM1S9",
            "websiteURL": "https://labs.google/fx/tools/flow/project/p",
            "websiteKey": "6LdsFiUsAAAAAIjVDZcuLhaHiDn5nnHVXVRQGeMV",
            "pageAction": action,
            "userAgent": ua,
        }
        created = await (
            await self.client.post("/captcha/createTask", json={"clientKey": KEY, "task": task})
        ).json()
        result = await (
            await self.client.post(
                "/captcha/getTaskResult", json={"clientKey": KEY, "taskId": created["taskId"]}
            )
        ).json()
        return str(result["solution"]["gRecaptchaResponse"])

    def ctx(self, token: str | None) -> dict[str, Any]:
        ctx: dict[str, Any] = {
            "sessionId": f";{int(time.time() * 1000)}",
            "projectId": self.project,
            "tool": "PINHOLE",
        }
        if token is not None:
            ctx["recaptchaContext"] = {"token": token, "applicationType": "RECAPTCHA_APPLICATION_TYPE_WEB"}
        return ctx

    def image_body(self, token: str | None, **item: Any) -> dict[str, Any]:
        ctx = self.ctx(token)
        request = {
            "clientContext": ctx,
            "seed": 1,
            "imageModelName": "GEM_PIX_2",
            "imageAspectRatio": "IMAGE_ASPECT_RATIO_LANDSCAPE",
            "structuredPrompt": {"parts": [{"text": "a fox"}]},
            "imageInputs": [],
            **item,
        }
        return {
            "clientContext": ctx,
            "mediaGenerationContext": {"batchId": "b"},
            "useNewMedia": True,
            "requests": [request],
        }

    async def post(self, path: str, body: object, *, ua: str = UA, at: str | None = None) -> Any:
        headers = {"authorization": f"Bearer {self.at if at is None else at}", "User-Agent": ua}
        return await self.client.post(path, json=body, headers=headers)

    async def generate(self, body: object, *, ua: str = UA) -> Any:
        return await self.post(f"/v1/projects/{self.project}/flowMedia:batchGenerateImages", body, ua=ua)


async def google_error(resp: Any) -> tuple[int, str, list[str]]:
    body = await resp.json()
    error = body["error"]
    return resp.status, error["status"], [d["reason"] for d in error.get("details", [])]


async def test_happy_path_image_upload_generate_fetch_upsample(client: TestClient, sim: Simulator) -> None:
    flow = Flow(client)
    await flow.login()
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="PNG")
    up = await flow.post(
        "/v1/flow/uploadImage",
        {
            "clientContext": flow.ctx(None),
            "fileName": "a.png",
            "imageBytes": base64.b64encode(buf.getvalue()).decode(),
            "isHidden": False,
            "isUserUploaded": True,
            "mimeType": "image/png",
        },
    )
    media_name = (await up.json())["media"]["name"]
    resp = await flow.generate(
        flow.image_body(
            await flow.token(),
            imageInputs=[{"name": media_name, "imageInputType": "IMAGE_INPUT_TYPE_REFERENCE"}],
        )
    )
    assert resp.status == 200, await resp.text()
    (media,) = (await resp.json())["media"]
    image_resp = await client.get(
        media["image"]["generatedImage"]["fifeUrl"].split(str(client.make_url("")))[-1]
    )
    image = Image.open(io.BytesIO(await image_resp.read()))
    assert image.format == "JPEG"
    assert image.width / image.height == pytest.approx(16 / 9, rel=0.05)
    up2k = await flow.post(
        "/v1/flow/upsampleImage",
        {
            "mediaId": media["name"],
            "targetResolution": "UPSAMPLE_IMAGE_RESOLUTION_2K",
            "clientContext": {**flow.ctx(await flow.token()), "userPaygateTier": "PAYGATE_TIER_TWO"},
        },
    )
    big = Image.open(io.BytesIO(base64.b64decode((await up2k.json())["encodedImage"])))
    assert big.width == pytest.approx(image.width * 2, abs=2)
    assert sim.stats.calls("images.generate", with_token=True) == 1
    assert sim.stats.calls("images.upsample", account="u@x", with_token=True) == 1


async def test_wrong_cookie_name_is_not_signed_in(client: TestClient) -> None:
    resp = await client.get("/fx/api/auth/session", headers={"Cookie": "next-auth.session-token=st-u"})
    assert await resp.json() == {}
    resp = await client.get("/fx/api/auth/session", headers={"Cookie": f"{COOKIE}=st-unknown"})
    assert await resp.json() == {}


async def test_bad_or_expired_access_token_is_401(aiohttp_client: Callable[..., Any]) -> None:
    sim = Simulator(SimulatorConfig(access_token_lifetime=61.0), accounts=[SimAccount("st-u", "u@x")])
    client = await aiohttp_client(sim.create_app())
    resp = await client.get("/v1/credits", headers={"authorization": "Bearer ya29.nope"})
    assert (await google_error(resp))[:2] == (401, "UNAUTHENTICATED")
    flow = Flow(client)
    await flow.login()
    assert (await client.get("/v1/credits", headers={"authorization": f"Bearer {flow.at}"})).status == 200
    sim.revoke_session("st-u")
    assert (await client.get("/v1/credits", headers={"authorization": f"Bearer {flow.at}"})).status == 401


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        ("missing", "PUBLIC_ERROR_SOMETHING_WENT_WRONG"),
        ("forged", "PUBLIC_ERROR_UNUSUAL_ACTIVITY"),
        ("video_action", "PUBLIC_ERROR_UNUSUAL_ACTIVITY"),
        ("other_ua", "PUBLIC_ERROR_UNUSUAL_ACTIVITY"),
    ],
)
async def test_recaptcha_is_strict(client: TestClient, mutate: str, reason: str) -> None:
    flow = Flow(client)
    await flow.login()
    ua = UA
    if mutate == "missing":
        token = None
    elif mutate == "forged":
        token = "0cAFcWforged"
    elif mutate == "video_action":
        token = await flow.token("VIDEO_GENERATION")
    else:
        token, ua = await flow.token(), "OtherAgent/2.0"
    resp = await flow.generate(flow.image_body(token), ua=ua)
    assert await google_error(resp) == (403, "PERMISSION_DENIED", [reason])


async def test_replayed_token_is_refused(client: TestClient) -> None:
    flow = Flow(client)
    await flow.login()
    token = await flow.token()
    assert (await flow.generate(flow.image_body(token))).status == 200
    resp = await flow.generate(flow.image_body(token))
    assert (await google_error(resp))[0] == 403


@pytest.mark.parametrize(
    "item",
    [
        {"imageModelName": "GEM_PIX"},
        {"imageAspectRatio": "IMAGE_ASPECT_RATIO_WIDE"},
        {"imageModelName": "IMAGEN_3_5", "imageAspectRatio": "IMAGE_ASPECT_RATIO_SQUARE"},
        {"structuredPrompt": {"parts": []}},
        {"imageInputs": [{"name": "not-mine", "imageInputType": "IMAGE_INPUT_TYPE_REFERENCE"}]},
        {"seed": "one"},
    ],
)
async def test_bad_enums_and_references_are_400(client: TestClient, item: dict[str, Any]) -> None:
    flow = Flow(client)
    await flow.login()
    resp = await flow.generate(flow.image_body(await flow.token(), **item))
    assert (await google_error(resp))[:2] == (400, "INVALID_ARGUMENT")


async def test_other_accounts_project_is_400(client: TestClient) -> None:
    mine, theirs = Flow(client), Flow(client, "st-p")
    await mine.login()
    await theirs.login()
    mine.project = theirs.project
    resp = await mine.generate(mine.image_body(await mine.token()))
    assert (await google_error(resp))[:2] == (400, "INVALID_ARGUMENT")


async def test_4k_upsample_needs_ultra(client: TestClient) -> None:
    flow = Flow(client, "st-p")
    await flow.login()
    resp = await flow.generate(flow.image_body(await flow.token()))
    name = (await resp.json())["media"][0]["name"]
    resp = await flow.post(
        "/v1/flow/upsampleImage",
        {
            "mediaId": name,
            "targetResolution": "UPSAMPLE_IMAGE_RESOLUTION_4K",
            "clientContext": {**flow.ctx(await flow.token()), "userPaygateTier": "PAYGATE_TIER_ONE"},
        },
    )
    assert await google_error(resp) == (403, "PERMISSION_DENIED", ["PUBLIC_ERROR_TIER_NOT_ALLOWED"])


async def test_upload_must_be_raw_base64_of_the_declared_type(client: TestClient) -> None:
    flow = Flow(client)
    await flow.login()
    for data, mime in (
        ("data:image/png;base64,AAAA", "image/png"),
        (base64.b64encode(b"GIF89a...").decode(), "image/png"),
        ("!!", "image/png"),
    ):
        resp = await flow.post(
            "/v1/flow/uploadImage",
            {
                "clientContext": flow.ctx(None),
                "fileName": "a",
                "imageBytes": data,
                "isUserUploaded": True,
                "mimeType": mime,
            },
        )
        assert resp.status == 400


async def test_captcha_solver_refusals(client: TestClient) -> None:
    task = {
        "type": "RecaptchaV3TaskProxylessM1S9",
        "websiteURL": "https://labs.google/fx/tools/flow/project/p",
        "websiteKey": "6LdsFiUsAAAAAIjVDZcuLhaHiDn5nnHVXVRQGeMV",
        "pageAction": "IMAGE_GENERATION",
    }
    cases = [
        ({"clientKey": "bad", "task": task}, "ERROR_KEY_DOES_NOT_EXIST"),
        ({"clientKey": KEY, "task": {**task, "type": "Nope"}}, "ERROR_TASK_NOT_SUPPORTED"),
        ({"clientKey": KEY, "task": {**task, "websiteKey": "x"}}, "ERROR_WRONG_GOOGLEKEY"),
        ({"clientKey": KEY, "task": {**task, "pageAction": "LOGIN"}}, "ERROR_BAD_PARAMETERS"),
        ({"clientKey": KEY, "task": {**task, "websiteURL": "https://evil"}}, "ERROR_BAD_PARAMETERS"),
    ]
    for body, code in cases:
        doc = await (await client.post("/captcha/createTask", json=body)).json()
        assert (doc["errorId"], doc["errorCode"]) == (1, code)


@pytest.mark.parametrize(
    ("kind", "status", "google", "reason"),
    [
        ("rate_limited", 429, "RESOURCE_EXHAUSTED", "PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC"),
        ("recaptcha", 403, "PERMISSION_DENIED", "PUBLIC_ERROR_UNUSUAL_ACTIVITY"),
        ("unsafe", 400, "INVALID_ARGUMENT", "PUBLIC_ERROR_UNSAFE_GENERATION"),
        ("internal", 500, "INTERNAL", None),
        ("unavailable", 503, "UNAVAILABLE", None),
        ("quota", 429, "RESOURCE_EXHAUSTED", "PUBLIC_ERROR_USER_QUOTA_EXCEEDED"),
        ("unauthenticated", 401, "UNAUTHENTICATED", None),
    ],
)
async def test_fault_kinds(
    client: TestClient, sim: Simulator, kind: str, status: int, google: str, reason: str | None
) -> None:
    flow = Flow(client)
    await flow.login()
    sim.faults.add(route="images.generate", kind=kind, count=1, account="u@x", retry_after=7)
    resp = await flow.generate(flow.image_body(await flow.token()))
    assert await google_error(resp) == (status, google, [reason] if reason else [])
    assert resp.headers["server"] == "ESF"
    if kind == "rate_limited":
        assert resp.headers["Retry-After"] == "7"
    assert (await flow.generate(flow.image_body(await flow.token()))).status == 200  # used up


async def test_fault_only_hits_its_account_and_empty_400(client: TestClient, sim: Simulator) -> None:
    mine, other = Flow(client), Flow(client, "st-p")
    await mine.login()
    await other.login()
    sim.faults.add(route="images.generate", kind="empty_400", count=5, account="st-p")
    assert (await mine.generate(mine.image_body(await mine.token()))).status == 200
    resp = await other.generate(other.image_body(await other.token()))
    assert resp.status == 400
    assert await resp.read() == b""


async def test_hang_holds_until_the_client_gives_up(client: TestClient, sim: Simulator) -> None:
    flow = Flow(client)
    await flow.login()
    sim.faults.add(route="images.generate", kind="hang", count=1)
    token = await flow.token()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await flow.generate(flow.image_body(token))
    for _ in range(40):  # the hung handler notices the client left and ends (no leaked task)
        if sim.stats.inflight("u@x") == 0:
            break
        await asyncio.sleep(0.05)
    assert sim.stats.inflight("u@x") == 0
    assert sim.stats.recent("images.generate")[-1].status == 499


async def test_hang_ends_at_shutdown(aiohttp_server: Callable[..., Any]) -> None:
    sim = Simulator(SimulatorConfig(), accounts=[SimAccount("st-u", "u@x")])
    server = await aiohttp_server(sim.create_app())
    sim.faults.add(route="captcha.create", kind="hang", count=1)
    async with aiohttp.ClientSession() as session:
        pending = asyncio.ensure_future(session.post(server.make_url("/captcha/createTask"), json={}))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await server.close()
        assert time.monotonic() - started < 2
        with contextlib.suppress(aiohttp.ClientError):
            (await pending).close()
    assert sim.stats.calls("captcha.create") == 1


async def test_media_urls_expire(aiohttp_client: Callable[..., Any]) -> None:
    sim = Simulator(
        SimulatorConfig(image_scale=0.05, captcha_client_key=KEY, media_url_ttl=-1),
        accounts=[SimAccount("st-u", "u@x", "PAYGATE_TIER_TWO")],
    )
    client = await aiohttp_client(sim.create_app())
    flow = Flow(client)
    await flow.login()
    url = (await (await flow.generate(flow.image_body(await flow.token()))).json())["media"][0]["image"][
        "generatedImage"
    ]["fifeUrl"]
    resp = await client.get(url.split(str(client.make_url("")))[-1])
    assert resp.status == 403
