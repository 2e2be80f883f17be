"""flow.google.com end to end, as the live captures show it: every video mode through a browser
worker, each account's own catalogue and credits, the error reasons and what each does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from gateway.cli import doctor as cli_doctor
from gateway.licensing import hash_key
from gateway.simulator import SimAccount, SimulatorConfig
from gateway.upstream.flow.batch import decode_freq
from tests.conftest import CAPTCHA_KEY, SimHandle
from tests.e2e.test_videos_http import FAST, b64_image, create, finished
from tests.support.scripted_worker import ScriptedWorker, WorkerAccount

SECRET = "worker-secret-for-tests"
ADMIN_KEY = "sk-admin-test-0123456789abcdefghijklmnop"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
ClientWith = Callable[..., Awaitable[TestClient]]
JPEG = b"\xff\xd8\xff"


@pytest.fixture
def sim_accounts() -> list[SimAccount]:
    return [
        SimAccount("st-ultra-1", "ultra1@example.com", "PAYGATE_TIER_TWO", 5000),
        SimAccount("st-legacy-1", "legacy1@example.com", "PAYGATE_TIER_ONE", 5000, cohort="legacy"),
    ]


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(image_scale=0.1, captcha_client_key=CAPTCHA_KEY, video_duration=0.3)


@pytest.fixture
async def gateway(client_with: ClientWith) -> TestClient:
    env = {
        **FAST,
        "GATEWAY_WORKERS_SECRET": SECRET,
        "GATEWAY_WORKERS_DEFAULT_TIER": "pro",
        "GATEWAY_ADMIN_KEY_SHA256": hash_key(ADMIN_KEY),
    }
    return await client_with(env, accounts="")


async def start_worker(gateway: TestClient, simulator: SimHandle, *accounts: WorkerAccount) -> ScriptedWorker:
    url = str(gateway.make_url("/flow/v1/flow-worker")).replace("http", "ws", 1) + f"?key={SECRET}"
    worker = ScriptedWorker(url, simulator.url, list(accounts))
    await worker.start()
    return worker


def account(simulator: SimHandle, key: str, token: str, groups: list[str]) -> WorkerAccount:
    return WorkerAccount(key, token, simulator.sim.project_of(token), groups=groups)


@pytest.fixture
async def ultra(gateway: TestClient, simulator: SimHandle) -> AsyncIterator[ScriptedWorker]:
    worker = await start_worker(gateway, simulator, account(simulator, "ultra", "st-ultra-1", ["u"]))
    yield worker
    await worker.stop()


@pytest.fixture
def auth(licence_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {licence_key}"}


def payloads(worker: ScriptedWorker, rpcid: str) -> list[Any]:
    return [decode_freq(c["freq"])[1] for c in worker.calls if c["rpcid"] == rpcid]


async def admin_account(gateway: TestClient, key: str) -> dict[str, Any]:
    listing = await (await gateway.get("/admin/accounts?kind=worker", headers=ADMIN)).json()
    (found,) = [a for a in listing["data"] if a["worker_key"] == key]
    return found  # type: ignore[no-any-return]


async def test_every_video_mode_completes_with_its_mp4_and_poster(
    ultra: ScriptedWorker, gateway: TestClient, auth: dict[str, str]
) -> None:
    bodies = [
        {"prompt": "text", "model": "veo_3_1-fast|[u]"},
        {"prompt": "first", "model": "veo_3_1-fl-landscape", "input_reference": b64_image()},
        {
            "prompt": "first+last",
            "model": "veo_3_1-fl-lite",
            "input_reference": [b64_image(), b64_image((1, 1, 1))],
        },
        {"prompt": "refs", "model": "veo_3_1-fast-landscape", "input_reference": [b64_image()]},
        {"prompt": "relaxed", "model": "veo_3_1-relaxed-4s"},
        {"prompt": "hd", "model": "veo_3_1-fast-hd"},
        {"prompt": "4k", "model": "veo_3_1-lite-4K-landscape"},
        {"prompt": "omni", "model": "omni_flash-10s"},
    ]
    videos = [await create(gateway, auth, body) for body in bodies]
    done = [await finished(gateway, auth, v["id"]) for v in videos]
    assert [d["status"] for d in done] == ["completed"] * len(bodies), done
    remix = await gateway.post(
        f"/v1/videos/{videos[0]['id']}/remix",
        json={"prompt": "more", "model": "veo_3_1-lite-extend"},
        headers=auth,
    )
    extended = await finished(gateway, auth, (await remix.json())["id"])
    assert extended["status"] == "completed", extended
    for video in [*videos, extended]:
        mp4 = await (await gateway.get(f"/v1/videos/{video['id']}/content", headers=auth)).read()
        poster = await gateway.get(f"/v1/videos/{video['id']}/content?variant=thumbnail", headers=auth)
        assert mp4[4:8] == b"ftyp"
        assert poster.status == 200 and (await poster.read()).startswith(JPEG), video["id"]
    # Keys came from the account's own catalogue (Ultra: the _ultra twin, the Lite low-priority lane).
    keys = [p[0][0][1] for p in payloads(ultra, "YhhmEf")]
    assert keys[:2] == ["veo_3_1_t2v_fast_portrait_ultra", "veo_3_1_t2v_lite_4s_low_priority"]
    assert payloads(ultra, "MZZa6b")[0][0][0][2] == "veo_3_1_r2v_fast_landscape_ultra"
    assert payloads(ultra, "fZytfe")[0][0][0][2] == "veo_3_1_extension_lite"
    # Each upscale names its source by media id and by generation id, with the target enum.
    rows = [p[0][0] for p in payloads(ultra, "p0UkFb")]
    assert sorted((r[6], r[31]) for r in rows) == [
        (2, "veo_3_1_upsampler_1080p"),
        (3, "veo_3_1_upsampler_4k"),
    ]
    assert all(r[4][1] and r[4][1] != r[0][1] for r in rows)


async def test_variants_are_rows_of_one_call_and_a_short_answer_is_what_came(
    ultra: ScriptedWorker, gateway: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    resp = await gateway.post(
        "/v1/images/generations", json={"prompt": "fox", "model": "nano_banana", "n": 4}, headers=auth
    )
    assert resp.status == 200 and len((await resp.json())["data"]) == 4
    (call,) = payloads(ultra, "ogiZ0b")
    assert len(call[1]) == 4 and call[1][0][5] == "BELUGA"  # the migrated catalogue's Nano Banana
    simulator.sim.faults.add(route="batch.ogiZ0b", kind="partial_batch")
    short = await gateway.post(
        "/v1/images/generations", json={"prompt": "fox", "model": "nano_banana", "n": 4}, headers=auth
    )
    assert short.status == 200 and len((await short.json())["data"]) == 3
    assert len(payloads(ultra, "ogiZ0b")) == 2  # no second token spent on the missing one


async def test_each_account_is_routed_by_its_own_catalogue(
    gateway: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    worker = await start_worker(
        gateway,
        simulator,
        account(simulator, "migrated", "st-ultra-1", []),
        account(simulator, "legacy", "st-legacy-1", []),
    )
    try:
        for model, key in (
            ("nano_banana_2_1", "migrated"),
            ("imagen_4", "legacy"),
            ("nano_banana_2_lite", "migrated"),
        ):
            resp = await gateway.post(
                "/v1/images/generations", json={"prompt": "x", "model": model}, headers=auth
            )
            assert resp.status == 200, await resp.text()
            assert worker.calls[-1]["account_key"] == key, model
        migrated = await admin_account(gateway, "migrated")
        assert migrated["tier"] == "ultra" and migrated["credits"] is not None
        assert "BELUGA" in migrated["models"] and "NARWHAL" not in migrated["models"]
        listed = {m["id"] for m in (await (await gateway.get("/v1/models", headers=auth)).json())["data"]}
        assert {"nano_banana_2_1", "imagen_4", "veo_3_1", "omni_flash"} <= listed
    finally:
        await worker.stop()


async def test_an_unreadable_catalogue_still_serves_and_says_so(
    gateway: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    simulator.sim.faults.add(route="batch.HTrJv", kind="internal", count=10)
    worker = await start_worker(gateway, simulator, account(simulator, "a", "st-ultra-1", []))
    try:
        resp = await gateway.post(
            "/v1/images/generations", json={"prompt": "x", "model": "nano_banana_pro"}, headers=auth
        )
        assert resp.status == 200, await resp.text()
        found = await admin_account(gateway, "a")
        assert found["models"] is None and found["catalogue_problems"], found
        metrics = await (await gateway.get("/metrics")).text()
        assert (
            "gateway_account_catalogue_unread_total 1.0" in metrics
            or "gateway_account_catalogue_unread_total 2.0" in metrics
        )
    finally:
        await worker.stop()


async def test_a_throttle_in_integer_form_is_429_and_the_account_cools(
    ultra: ScriptedWorker, gateway: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    simulator.sim.faults.add(
        route="batch.ogiZ0b", kind="public_error", reason="PUBLIC_ERROR_USER_REQUESTS_THROTTLED", form="int"
    )
    resp = await gateway.post(
        "/v1/images/generations", json={"prompt": "x", "model": "nano_banana"}, headers=auth
    )
    error = (await resp.json())["error"]
    assert (resp.status, error["code"]) == (429, "rate_limit_exceeded"), error
    assert int(resp.headers["Retry-After"]) > 0
    found = await admin_account(gateway, "ultra")
    assert found["state"] == "cooling_down" and found["cooldown_until"], found


async def test_unusual_activity_pauses_the_account_and_is_not_sprayed(
    gateway: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    worker = await start_worker(
        gateway,
        simulator,
        account(simulator, "one", "st-ultra-1", []),
        account(simulator, "two", "st-legacy-1", []),
    )
    try:
        simulator.sim.faults.add(
            route="batch.ogiZ0b", kind="public_error", reason="PUBLIC_ERROR_UNUSUAL_ACTIVITY", form="base64"
        )
        resp = await gateway.post(
            "/v1/images/generations", json={"prompt": "x", "model": "nano_banana_pro"}, headers=auth
        )
        error = (await resp.json())["error"]
        assert (resp.status, error["code"], resp.headers["x-should-retry"]) == (
            502,
            "upstream_flagged",
            "false",
        )
        assert len(payloads(worker, "ogiZ0b")) == 1  # not tried on the other account
        flagged = worker.calls[-1]["account_key"]
        found = await admin_account(gateway, flagged)
        assert found["state"] == "cooling_down" and "unusual activity" in found["reason"]
    finally:
        await worker.stop()


async def test_a_model_quota_is_that_model_on_that_account_until_midnight(
    gateway: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    worker = await start_worker(
        gateway,
        simulator,
        account(simulator, "one", "st-ultra-1", []),
        account(simulator, "two", "st-legacy-1", []),
    )
    try:
        simulator.sim.faults.add(
            route="batch.ogiZ0b",
            kind="public_error",
            reason="PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED",
            form="int",
        )
        resp = await gateway.post(
            "/v1/images/generations", json={"prompt": "x", "model": "nano_banana_pro"}, headers=auth
        )
        assert resp.status == 200  # served by the other account
        first, second = [c["account_key"] for c in worker.calls if c["rpcid"] == "ogiZ0b"]
        assert first != second
        found = await admin_account(gateway, first)
        assert found["state"] == "active" and "quota:nano_banana_pro" in found["refused"]
    finally:
        await worker.stop()


async def test_doctor_reports_each_account_without_spending(
    ultra: ScriptedWorker, gateway: TestClient, simulator: SimHandle
) -> None:
    resp = await gateway.post("/admin/doctor", headers=ADMIN)
    (check,) = (await resp.json())["data"]
    assert check["ok"] and check["tier"] == "ultra" and check["tier_read"], check
    assert "veo_3_1-relaxed" in check["serves"] and "nano_banana_2_1" in check["serves"]
    assert check["tab"]["signed_in"] and "NOT_FOUND" in check["media"]
    assert all(not c.get("captcha") for c in ultra.calls)  # reads only (and the probe): no token minted


@pytest.mark.drift_expected
async def test_an_unknown_reply_shape_is_counted_and_shown_without_values(
    ultra: ScriptedWorker, gateway: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    url = f"{simulator.url}/image/media-secret-id?Signature=bad"
    payload = json.dumps([["media-secret-id", url]])  # an older guess at the shape, not the captured one
    body = ")]}'\n\n" + json.dumps([["wrb.fr", "ogiZ0b", payload, None, None, None, "generic"]])
    ultra.rewrite = lambda rpcid, text: body if rpcid == "ogiZ0b" else text
    await gateway.post("/v1/images/generations", json={"prompt": "x", "model": "nano_banana"}, headers=auth)
    drift = (await (await gateway.get("/admin/upstream", headers=ADMIN)).json())["shape_mismatches"]
    assert drift["ogiZ0b"]["count"] == 1 and "secret" not in json.dumps(drift), drift
    assert (
        'gateway_upstream_shape_mismatch_total{rpc="ogiZ0b"} 1.0'
        in await (await gateway.get("/metrics")).text()
    )


async def test_the_doctor_command_prints_the_report(
    ultra: ScriptedWorker, gateway: TestClient, tmp_path: Path
) -> None:
    key_file = tmp_path / "admin-key"
    key_file.write_text(ADMIN_KEY + "\n")
    url = str(gateway.make_url("")).rstrip("/")
    checks = await cli_doctor.ask(url, ADMIN_KEY, aiohttp.ClientTimeout(total=30))
    text = cli_doctor.render(checks)
    assert text.startswith("ok  ultra (wrk_") and "tier: ultra (read from Flow)" in text
    assert "omni_flash" in text and "NOT_FOUND, as expected" in text
    with pytest.raises(ValueError, match="HTTP 401"):
        await cli_doctor.ask(url, "wrong", aiohttp.ClientTimeout(total=30))
    assert cli_doctor.render([]).startswith("no browser worker is connected")
