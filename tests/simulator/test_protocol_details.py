"""Finer points: token rotation, tRPC errors, redirects, legacy upload, solver, control API, CLI."""

from __future__ import annotations

import base64
import io
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from gateway.simulator import Faults, SimAccount, Simulator, SimulatorConfig
from gateway.simulator.__main__ import load_accounts, main
from tests.simulator.batch_support import Clock
from tests.simulator.test_strictness import COOKIE, KEY, UA, Flow, google_error

ST = {"Cookie": f"{COOKIE}=st-u"}


def png(width: int = 12, height: int = 8) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (9, 99, 199)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


async def test_access_token_is_reused_then_rotated_near_expiry(aiohttp_client: Callable[..., Any]) -> None:
    clock = Clock()
    sim = Simulator(
        SimulatorConfig(access_token_lifetime=3600), accounts=[SimAccount("st-u", "u@x")], clock=clock
    )
    client = await aiohttp_client(sim.create_app())
    first = await (await client.get("/fx/api/auth/session", headers=ST)).json()
    clock.advance(3500)  # 100 s left: still reused
    again = await (await client.get("/fx/api/auth/session", headers=ST)).json()
    assert first["access_token"] == again["access_token"] and first["access_token"].startswith("ya29.")
    assert first["expires"].endswith("Z") and first["user"]["email"] == "u@x"
    clock.advance(45)  # within 60 s of expiry: a new token, the old one still valid until it expires
    new = (await (await client.get("/fx/api/auth/session", headers=ST)).json())["access_token"]
    assert new != first["access_token"]
    for token in (first["access_token"], new):
        assert (await client.get("/v1/credits", headers={"authorization": f"Bearer {token}"})).status == 200
    clock.advance(60)  # past the first token's expiry
    old = await client.get("/v1/credits", headers={"authorization": f"Bearer {first['access_token']}"})
    assert old.status == 401
    assert (await client.get("/v1/credits", headers={"authorization": f"Bearer {new}"})).status == 200


async def test_trpc_refuses_the_signed_out_and_bad_bodies(client: TestClient) -> None:
    body = {"json": {"projectTitle": "t", "toolName": "PINHOLE"}}
    resp = await client.post("/fx/api/trpc/project.createProject", json=body)
    doc = await resp.json()
    assert resp.status == 401 and doc["error"]["json"]["data"]["code"] == "UNAUTHORIZED"
    bad = {"json": {"projectTitle": "t", "toolName": "ASSET_MANAGER"}}
    resp = await client.post("/fx/api/trpc/project.createProject", json=bad, headers=ST)
    assert resp.status == 400
    for path in ("general.fetchUserPreferences", "videoFx.getFlowAppConfig", "videoFx.getUserSettings"):
        assert await (await client.get(f"/fx/api/trpc/{path}")).json() == {}
    flow = Flow(client)
    await flow.login()
    delete = {"json": {"projectToDeleteId": flow.project}}
    assert (await client.post("/fx/api/trpc/project.deleteProject", json=delete, headers=ST)).status == 200
    resp = await flow.generate(flow.image_body(await flow.token()))
    assert (await google_error(resp))[:2] == (400, "INVALID_ARGUMENT")  # the project is gone


async def test_media_redirect_is_per_account(client: TestClient) -> None:
    mine, theirs = Flow(client), Flow(client, "st-p")
    await mine.login()
    await theirs.login()
    resp = await mine.generate(mine.image_body(await mine.token()))
    name = (await resp.json())["media"][0]["name"]
    url = f"/fx/api/trpc/media.getMediaUrlRedirect?name={name}&mediaUrlType=MEDIA_URL_TYPE_FULL_MEDIA"
    resp = await client.get(url, headers=ST, allow_redirects=False)
    assert resp.status == 302 and f"/image/{name}?Expires=" in resp.headers["Location"]
    other = await client.get(url, headers={"Cookie": f"{COOKIE}=st-p"}, allow_redirects=False)
    assert (await google_error(other))[:2] == (404, "NOT_FOUND")
    unknown = url.replace(name, "00000000-0000-4000-8000-000000000000")
    assert (await client.get(unknown, headers=ST, allow_redirects=False)).status == 404


async def test_image_requests_are_checked_entry_by_entry(client: TestClient) -> None:
    flow = Flow(client)
    await flow.login()
    body = flow.image_body(await flow.token())
    del body["requests"][0]["clientContext"]["recaptchaContext"]
    assert await google_error(await flow.generate(body)) == (
        403,
        "PERMISSION_DENIED",
        ["PUBLIC_ERROR_SOMETHING_WENT_WRONG"],
    )
    body = flow.image_body(await flow.token())
    body["requests"] = body["requests"] * 5
    assert (await flow.generate(body)).status == 400
    body = flow.image_body(await flow.token())
    del body["mediaGenerationContext"]
    assert (await flow.generate(body)).status == 400
    body = flow.image_body(await flow.token())
    body["clientContext"] = {**body["clientContext"], "sessionId": "1751371234567"}
    assert (await flow.generate(body)).status == 400
    body = flow.image_body(await flow.token())
    body["requests"] = body["requests"] * 3
    resp = await flow.generate(body)
    assert resp.status == 200 and len((await resp.json())["media"]) == 3


async def test_a_form_body_is_not_json(client: TestClient) -> None:
    flow = Flow(client)
    await flow.login()
    headers = {"authorization": f"Bearer {flow.at}", "User-Agent": UA}
    resp = await client.post("/v1/flow/uploadImage", data={"a": "b"}, headers=headers)
    assert (await google_error(resp))[:2] == (400, "INVALID_ARGUMENT")


async def test_legacy_upload_reports_the_real_size(client: TestClient) -> None:
    flow = Flow(client)
    await flow.login()
    ctx = {"sessionId": ";1751371234567", "tool": "ASSET_MANAGER"}
    image = {"rawImageBytes": png(30, 20), "mimeType": "image/png", "isUserUploaded": True}
    resp = await flow.post("/v1:uploadUserImage", {"imageInput": image, "clientContext": ctx})
    doc = await resp.json()
    assert (doc["width"], doc["height"]) == (30, 20)
    assert doc["mediaGenerationId"]["mediaGenerationId"].startswith("CAMa")
    resp = await flow.post("/v1:uploadUserImage", {"imageInput": image, "clientContext": {"tool": "PINHOLE"}})
    assert resp.status == 400


async def test_upsample_checks_tier_and_project(client: TestClient) -> None:
    flow = Flow(client, "st-p")
    await flow.login()
    name = (await (await flow.generate(flow.image_body(await flow.token()))).json())["media"][0]["name"]
    ok = {
        "mediaId": name,
        "targetResolution": "UPSAMPLE_IMAGE_RESOLUTION_2K",
        "clientContext": {**flow.ctx(await flow.token()), "userPaygateTier": "PAYGATE_TIER_ONE"},
    }
    assert (await flow.post("/v1/flow/upsampleImage", ok)).status == 200
    wrong_tier = {
        **ok,
        "clientContext": {**flow.ctx(await flow.token()), "userPaygateTier": "PAYGATE_TIER_TWO"},
    }
    assert (await flow.post("/v1/flow/upsampleImage", wrong_tier)).status == 400
    bad_target = {**ok, "targetResolution": "UPSAMPLE_IMAGE_RESOLUTION_8K"}
    bad_target["clientContext"] = {**flow.ctx(await flow.token()), "userPaygateTier": "PAYGATE_TIER_ONE"}
    assert (await flow.post("/v1/flow/upsampleImage", bad_target)).status == 400


async def test_free_accounts_get_no_2k(aiohttp_client: Callable[..., Any]) -> None:
    sim = Simulator(
        SimulatorConfig(image_scale=0.05, captcha_client_key=KEY),
        accounts=[SimAccount("st-u", "u@x", "PAYGATE_TIER_NOT_PAID")],
    )
    flow = Flow(await aiohttp_client(sim.create_app()))
    await flow.login()
    name = (await (await flow.generate(flow.image_body(await flow.token()))).json())["media"][0]["name"]
    body = {
        "mediaId": name,
        "targetResolution": "UPSAMPLE_IMAGE_RESOLUTION_2K",
        "clientContext": {**flow.ctx(await flow.token()), "userPaygateTier": "PAYGATE_TIER_NOT_PAID"},
    }
    resp = await flow.post("/v1/flow/upsampleImage", body)
    assert await google_error(resp) == (403, "PERMISSION_DENIED", ["PUBLIC_ERROR_TIER_NOT_ALLOWED"])


async def test_check_app_availability_needs_the_public_key(client: TestClient) -> None:
    body = {"clientContext": {"tool": "PINHOLE"}}
    assert (await client.post("/v1:checkAppAvailability", json=body)).status == 403
    key = {"x-goog-api-key": "AIzaSyBtrm0o5ab1c-Ec8ZuLcGt3oJAA5VWt3pY"}
    resp = await client.post("/v1:checkAppAvailability", json=body, headers=key)
    assert resp.status == 200 and await resp.json() == {}


async def test_bad_signature_is_403(client: TestClient) -> None:
    flow = Flow(client)
    await flow.login()
    doc = await (await flow.generate(flow.image_body(await flow.token()))).json()
    url = doc["media"][0]["image"]["generatedImage"]["fifeUrl"].split(str(client.make_url("")))[-1]
    assert (await client.get(url)).status == 200
    assert (await client.get(url[:-3] + "AAA")).status == 403
    assert (await client.get(url.split("?")[0])).status == 403


async def test_solver_delay_then_a_stable_solution(aiohttp_client: Callable[..., Any]) -> None:
    clock = Clock()
    sim = Simulator(SimulatorConfig(captcha_client_key=KEY, captcha_delay=20), clock=clock)
    client = await aiohttp_client(sim.create_app())
    task = {
        "type": "ReCaptchaV3EnterpriseTaskProxyLess",
        "websiteURL": "https://labs.google/fx/tools/flow/project/p",
        "websiteKey": "6LdsFiUsAAAAAIjVDZcuLhaHiDn5nnHVXVRQGeMV",
        "pageAction": "VIDEO_GENERATION",
    }
    created = await (await client.post("/captcha/createTask", json={"clientKey": KEY, "task": task})).json()
    query = {"clientKey": KEY, "taskId": created["taskId"]}
    clock.advance(19)
    assert (await (await client.post("/captcha/getTaskResult", json=query)).json())["status"] == "processing"
    clock.advance(1)
    first = await (await client.post("/captcha/getTaskResult", json=query)).json()
    second = await (await client.post("/captcha/getTaskResult", json=query)).json()
    assert first["status"] == "ready" and first == second
    assert first["solution"]["userAgent"].startswith("Mozilla/5.0")
    unknown = await (await client.post("/captcha/getTaskResult", json={**query, "taskId": "x"})).json()
    assert unknown["errorCode"] == "ERROR_NO_SUCH_CAPCHA_ID"


async def test_solver_faults_speak_the_solver_protocol(client: TestClient, sim: Simulator) -> None:
    sim.faults.add(route="captcha.create", kind="rate_limited", count=1)
    sim.faults.add(route="captcha.create", kind="internal", count=1)
    doc = await (await client.post("/captcha/createTask", json={})).json()
    assert (doc["errorId"], doc["errorCode"]) == (1, "ERROR_NO_SLOT_AVAILABLE")
    assert (await client.post("/captcha/createTask", json={})).status == 500


async def test_stats_log_and_inflight(client: TestClient, sim: Simulator) -> None:
    flow = Flow(client)
    await flow.login()
    await flow.generate(flow.image_body("0cAFcWforged"))
    await flow.generate(flow.image_body(await flow.token()))
    records = sim.stats.recent("images.generate")
    assert [(r.status, r.token_present, r.with_token) for r in records] == [
        (403, True, False),
        (200, True, True),
    ]
    assert sim.stats.calls("images.generate", account="u@x") == 2
    assert sim.stats.calls("images.generate", account="u@x", with_token=True) == 1
    assert sim.stats.inflight("u@x") == 0 and sim.stats.max_inflight("u@x") == 1
    stats = await (await client.get("/_sim/stats")).json()
    assert stats["recent"][-1]["route"] == "images.generate" and stats["max_inflight"] == {"u@x": 1}


async def test_control_faults_and_revoke(client: TestClient) -> None:
    fault = {"route": "credits", "kind": "rate_limited", "rate": 0.5, "account": "u@x", "retry_after": 3}
    assert (await client.post("/_sim/faults", json=fault)).status == 200
    listed = await (await client.get("/_sim/faults")).json()
    assert listed == [{**fault, "count": None, "reason": None, "form": None, "code": None, "delay": None}]
    assert (
        await client.post("/_sim/faults", json={"route": "image.generate", "kind": "internal"})
    ).status == 400
    assert (
        await client.post("/_sim/faults", json={"route": "credits", "kind": "internal", "count": 0})
    ).status == 400
    assert (await client.post("/_sim/accounts", json={"email": "no-token@x"})).status == 400
    assert (await client.post("/_sim/accounts/revoke", json={"session_token": "st-u"})).status == 200
    assert await (await client.get("/fx/api/auth/session", headers=ST)).json() == {}
    assert (await client.post("/_sim/accounts/revoke", json={"session_token": "nobody"})).status == 404


def test_random_faults_follow_the_seed() -> None:
    def fired(seed: int) -> list[bool]:
        faults = Faults(random.Random(seed), routes=["credits"])
        faults.add(route="credits", kind="internal", rate=0.5)
        return [faults.take("credits", ()) is not None for _ in range(20)]

    assert fired(1) == fired(1) and any(fired(1)) and not all(fired(1))
    with pytest.raises(ValueError, match="rate"):
        Faults(random.Random(), routes=["credits"]).add(route="credits", kind="internal", rate=2.0)


def test_cli_help_and_accounts_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0 and "--image-scale" in capsys.readouterr().out
    path = tmp_path / "accounts.toml"
    path.write_text(
        '[[accounts]]\nsession_token = "st-a"\nemail = "a@x"\ntier = "PAYGATE_TIER_TWO"\ncredits = 7\n'
        '[[accounts]]\nsession_token = "st-b"\nemail = "b@x"\ncohort = "legacy"\n'
    )
    assert load_accounts(str(path)) == [
        SimAccount("st-a", "a@x", "PAYGATE_TIER_TWO", 7),
        SimAccount("st-b", "b@x", cohort="legacy"),
    ]
    path.write_text('[[accounts]]\nsession_token = "st-a"\nemail = "a@x"\ncohort = "beta"\n')
    with pytest.raises(ValueError, match="cohort"):
        load_accounts(str(path))
    path.write_text('[[accounts]]\nemail = "a@x"\n')
    with pytest.raises(ValueError, match="session_token"):
        load_accounts(str(path))
