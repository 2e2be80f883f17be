"""A licence's limits end to end: each limit under concurrency (the budget race: fifty requests
against a budget for ten), refusals that spend nothing upstream, reservation then settlement with a
failure refunding, usage reports (grouped, CSV) and their isolation between licences, the counters
rebuilt after a restart, the rate-limit headers, and a chat's usage streamed or not."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.config import LicenceSettings, Settings
from gateway.licensing import hash_key, new_licence_key
from gateway.simulator import SimulatorConfig
from tests.conftest import CAPTCHA_KEY, SimHandle
from tests.e2e.test_chat import events
from tests.e2e.test_videos_http import FAST, finished

ADMIN_KEY = "sk-admin-test-0123456789abcdefghijklmnop"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
KEY_B = new_licence_key()
SPENDING = ("images.generate", "video.submit", "upload", "captcha.create")
Limited = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(image_scale=0.1, captcha_client_key=CAPTCHA_KEY, video_duration=0.3)


@pytest.fixture
def auth(licence_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {licence_key}"}


@pytest.fixture
def limited_settings(settings_factory: Callable[..., Settings], licence_key: str) -> Callable[..., Settings]:
    """Settings whose licence ``lic-a`` (the ``licence_key``) has these limits, beside an unlimited
    ``lic-b`` (``KEY_B``); the admin API on."""

    def make(env: dict[str, str] | None = None, **limits: Any) -> Settings:
        base = settings_factory({**FAST, "GATEWAY_ADMIN_KEY_SHA256": hash_key(ADMIN_KEY), **(env or {})})
        licences = (
            LicenceSettings(id="lic-a", key_sha256=hash_key(licence_key), **limits),
            LicenceSettings(id="lic-b", key_sha256=hash_key(KEY_B)),
        )
        return msgspec.structs.replace(base, licences=licences)

    return make


@pytest.fixture
def limited(
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    limited_settings: Callable[..., Settings],
    app_factory: Callable[[Settings], web.Application],
) -> Limited:
    async def make(**limits: Any) -> TestClient:
        return await aiohttp_client(app_factory(limited_settings(**limits)))

    return make


def spent(simulator: SimHandle) -> int:
    """Calls that spend something upstream (a generation, an upload, a captcha solve)."""
    return sum(simulator.sim.stats.calls(route) for route in SPENDING)


async def video(http: TestClient, auth: dict[str, str], model: str = "veo_3_1-fast") -> Any:
    return await http.post("/v1/videos", json={"prompt": "a cat", "model": model}, headers=auth)


async def image(http: TestClient, auth: dict[str, str], **fields: object) -> Any:
    return await http.post(
        "/v1/images/generations", json={"prompt": "a cat", "model": "nano_banana", **fields}, headers=auth
    )


async def statuses(calls: list[Awaitable[Any]]) -> list[int]:
    return [r.status for r in await asyncio.gather(*calls)]


async def test_fifty_parallel_videos_against_a_budget_for_ten(
    limited: Limited, auth: dict[str, str], simulator: SimHandle
) -> None:
    http = await limited(daily_credits=200)  # veo_3_1-fast costs 20
    responses = await asyncio.gather(*(video(http, auth) for _ in range(50)))
    admitted = [r for r in responses if r.status == 200]
    refused = [r for r in responses if r.status != 200]
    assert len(admitted) == 10
    for resp in refused:
        assert resp.status == 429 and resp.headers["x-should-retry"] == "false"
        assert (await resp.json())["error"]["code"] == "insufficient_quota"
    for resp in admitted:
        assert (await finished(http, auth, (await resp.json())["id"]))["status"] == "completed"
    assert simulator.sim.stats.calls("video.submit") == 10
    licence = await (await http.get("/v1/licence", headers=auth)).json()
    assert licence["used"]["credits_today"] == 200 and licence["remaining"]["credits_today"] == 0


async def test_requests_per_minute_under_concurrency_with_retry_after_and_headers(
    limited: Limited, auth: dict[str, str], simulator: SimHandle
) -> None:
    http = await limited(rpm=5)
    responses = await asyncio.gather(*(image(http, auth) for _ in range(20)))
    assert sorted(r.status for r in responses) == [200] * 5 + [429] * 15
    for resp in responses:
        assert resp.headers["x-ratelimit-limit-requests"] == "5"
        assert int(resp.headers["x-ratelimit-remaining-requests"]) < 5  # its own request counted
        assert resp.headers["x-ratelimit-reset-requests"].endswith("s")
        if resp.status == 429:
            assert resp.headers["x-ratelimit-remaining-requests"] == "0"
            assert (await resp.json())["error"]["code"] == "rate_limit_exceeded"
            assert 1 <= int(resp.headers["retry-after"]) <= 60 and "retry-after-ms" in resp.headers
    assert simulator.sim.stats.calls("images.generate") == 5
    listed = await http.get("/v1/videos", headers=auth)  # reads do not spend the limit, and show it
    assert listed.status == 200 and listed.headers["x-ratelimit-limit-requests"] == "5"
    other = await http.get("/v1/videos", headers={"Authorization": f"Bearer {KEY_B}"})
    assert "x-ratelimit-limit-requests" not in other.headers  # no rpm limit: no numbers to send


async def test_generations_in_progress_under_concurrency(limited: Limited, auth: dict[str, str]) -> None:
    http = await limited(max_concurrency=2)
    responses = await asyncio.gather(*(video(http, auth) for _ in range(10)))
    assert sorted(r.status for r in responses) == [200] * 2 + [429] * 8
    refused = next(r for r in responses if r.status == 429)
    assert (await refused.json())["error"]["code"] == "rate_limit_exceeded" and refused.headers["retry-after"]
    for resp in responses:
        if resp.status == 200:
            await finished(http, auth, (await resp.json())["id"])
    assert (await video(http, auth)).status == 200  # finished videos free their slots


async def test_daily_image_cap_under_concurrency(limited: Limited, auth: dict[str, str]) -> None:
    http = await limited(daily_images=3)
    assert sorted(await statuses([image(http, auth) for _ in range(10)])) == [200] * 3 + [429] * 7
    assert (await image(http, auth)).status == 429
    assert (await image(http, {"Authorization": f"Bearer {KEY_B}"})).status == 200  # another licence


async def test_a_refused_model_or_group_spends_nothing(
    limited: Limited, auth: dict[str, str], simulator: SimHandle
) -> None:
    http = await limited(models=["nano_banana*"], groups=["pro"])
    before = spent(simulator)
    resp = await video(http, auth)
    assert resp.status == 403
    assert (await resp.json())["error"] == {
        "message": "The model 'veo_3_1-fast' is not allowed for this licence.",
        "type": "permission_error",
        "param": "model",
        "code": "model_not_allowed",
    }
    resp = await image(http, {**auth, "x-flow-account-group": "ultra"})
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "group_not_allowed"
    chat = await http.post(
        "/v1/chat/completions",
        json={"model": "veo_3_1", "messages": [{"role": "user", "content": "x"}], "stream": True},
        headers=auth,
    )
    assert chat.status == 403  # refused before the stream starts
    assert spent(simulator) == before
    resp = await image(http, auth)  # no group named: the licence's own (pro) is used
    assert resp.status == 200
    assert simulator.sim.stats.calls("images.generate", account="pro1@example.com") == 1


async def test_reservation_then_settlement_and_a_failure_refunds(
    limited: Limited, auth: dict[str, str], simulator: SimHandle
) -> None:
    http = await limited(daily_images=1)
    simulator.sim.faults.add(route="images.generate", kind="unsafe", count=1)
    failed = await image(http, auth)
    assert failed.status == 400  # Flow refused it: not retried, and it costs nothing
    licence = await (await http.get("/v1/licence", headers=auth)).json()
    assert licence["used"]["images_today"] == 0 and licence["remaining"]["images_today"] == 1
    resp = await image(http, auth)  # the failure cost nothing: the cap of one is still there
    assert resp.status == 200
    assert (await resp.json())["usage"]["flow_credits"] == 0  # nano_banana costs no credits
    assert (await image(http, auth)).status == 429
    records = await (await http.get("/admin/usage/records", headers=ADMIN)).json()
    outcomes = [(r["outcome"], r["error_code"], r["credits_settled"]) for r in records["data"]]
    assert outcomes == [("failed", "moderation_blocked", 0), ("succeeded", "", 0)]
    assert records["data"][1]["account_id"] and records["data"][1]["transport"] == "rest"


async def test_a_failed_video_gives_its_credits_back(
    limited: Limited, auth: dict[str, str], simulator: SimHandle
) -> None:
    http = await limited(daily_credits=20)
    simulator.sim.faults.add(route="video.submit", kind="video_failed", count=1)
    first = await (await video(http, auth)).json()
    assert (await video(http, auth)).status == 429  # 20 of 20 reserved
    assert (await finished(http, auth, first["id"]))["status"] == "failed"
    second = await video(http, auth)
    assert second.status == 200  # the failure was refunded
    await finished(http, auth, (await second.json())["id"])
    licence = await (await http.get("/v1/licence", headers=auth)).json()
    assert licence["used"]["credits_today"] == 20 and licence["used"]["in_progress"] == 0


async def test_usage_reports_group_export_and_never_cross_licences(
    limited: Limited, auth: dict[str, str]
) -> None:
    http = await limited()
    other = {"Authorization": f"Bearer {KEY_B}"}
    for headers in (auth, auth, other):
        assert (await image(http, headers)).status == 200
    done = await (await video(http, auth)).json()
    await finished(http, auth, done["id"])

    own = await (await http.get("/v1/usage?group_by=model,kind", headers=other)).json()
    assert own["licence_id"] == "lic-b"
    assert [(r["model"], r["kind"], r["requests"], r["images"]) for r in own["data"]] == [
        ("nano_banana", "image", 1, 1)
    ]
    refused = await http.get("/v1/usage?group_by=account_id", headers=other)
    assert refused.status == 400  # account ids stay internal
    mine = await (await http.get("/v1/usage?group_by=kind&licence_id=lic-b", headers=auth)).json()
    assert [(r["kind"], r["requests"]) for r in mine["data"]] == [("image", 2), ("video", 1)]  # its own

    totals = await (await http.get("/admin/usage?group_by=licence_id", headers=ADMIN)).json()
    assert [(r["licence_id"], r["requests"], r["credits"]) for r in totals["data"]] == [
        ("lic-a", 3, 20),
        ("lic-b", 1, 0),
    ]
    resp = await http.get("/admin/usage?group_by=licence_id,kind&format=csv", headers=ADMIN)
    assert resp.content_type == "text/csv"
    lines = (await resp.text()).splitlines()
    assert lines[0] == "licence_id,kind,requests,images,videos,succeeded,failed,credits,reserved"
    assert lines[1:] == [
        "lic-a,image,2,2,0,2,0,0,0",
        "lic-a,video,1,0,1,1,0,20,0",
        "lic-b,image,1,1,0,1,0,0,0",
    ]
    assert (await http.get("/admin/usage?group_by=secret", headers=ADMIN)).status == 400
    assert (await http.get("/admin/usage", headers=auth)).status == 401


async def test_the_licence_shows_limits_and_what_is_left_without_secrets(
    limited: Limited, auth: dict[str, str], licence_key: str
) -> None:
    http = await limited(rpm=10, daily_images=5, monthly_credits=1000, progress="content", priority=3)
    assert (await image(http, auth, n=2)).status == 200
    resp = await http.get("/v1/licence", headers=auth)
    doc = await resp.json()
    assert doc["id"] == "lic-a" and doc["limits"]["daily_images"] == 5 and doc["priority"] == 3
    assert doc["used"]["images_today"] == 2 and doc["remaining"]["images_today"] == 3
    assert doc["remaining"]["requests_this_minute"] == 9 and doc["remaining"]["credits_today"] is None
    assert resp.headers["x-ratelimit-remaining-requests"] == "9"
    text = orjson.dumps(doc).decode()
    assert hash_key(licence_key) not in text and licence_key not in text and "secret" not in text


async def test_a_restart_keeps_reservations_of_unfinished_tasks(
    limited_settings: Callable[..., Settings],
    app_factory: Callable[[Settings], web.Application],
    tmp_path: Path,
    auth: dict[str, str],
    simulator: SimHandle,
) -> None:
    env = {"GATEWAY_STORE_BACKEND": "sqlite", "GATEWAY_STORE_PATH": str(tmp_path / "state.sqlite3")}
    settings = limited_settings(env, daily_credits=60, max_concurrency=5)
    first = TestClient(TestServer(app_factory(settings)))
    await first.start_server()
    done = await (await video(first, auth)).json()
    await finished(first, auth, done["id"])  # 20 settled
    simulator.sim.faults.add(route="video.submit", kind="video_stuck", count=1)
    running = await (await video(first, auth)).json()  # 20 reserved: Flow never finishes it
    for _ in range(200):  # until it is submitted (a restart then resumes it, never sends it again)
        state = await (await first.get(f"/v1/videos/{running['id']}", headers=auth)).json()
        if state["status"] == "in_progress":
            break
        await asyncio.sleep(0.02)
    await first.close()

    second = TestClient(TestServer(app_factory(settings)))
    await second.start_server()
    try:
        licence = await (await second.get("/v1/licence", headers=auth)).json()
        assert licence["used"]["credits_today"] == 40 and licence["used"]["in_progress"] == 1
        extra = await video(second, auth)
        assert extra.status == 200  # 60 of 60 now
        assert (await video(second, auth)).status == 429
        deleted = await second.delete(f"/v1/videos/{running['id']}", headers=auth)
        assert deleted.status == 200
        # Flow took that job before the delete: Flow bills it, so the licence keeps paying for it
        # (deleting right after a submit must not be a way round the budget).
        await finished(second, auth, (await extra.json())["id"])
        licence = await (await second.get("/v1/licence", headers=auth)).json()
        assert licence["used"]["credits_today"] == 60 and licence["used"]["in_progress"] == 0
        assert (await video(second, auth)).status == 429
        usage = await (await second.get("/v1/usage?group_by=model", headers=auth)).json()
        assert sum(row["credits"] for row in usage["data"]) == 60
    finally:
        await second.close()


async def test_chat_usage_is_the_same_streamed_or_not_and_progress_follows_the_licence(
    limited: Limited, auth: dict[str, str]
) -> None:
    http = await limited(progress="content")
    body = {"model": "veo_3_1-fast", "messages": [{"role": "user", "content": "a cat"}]}
    whole = await (await http.post("/v1/chat/completions", json=body, headers=auth)).json()
    streamed = await http.post(
        "/v1/chat/completions",
        json={**body, "stream": True, "stream_options": {"include_usage": True}},
        headers=auth,
    )
    data, _ = events(await streamed.text())
    assert data[-1] == "[DONE]"
    assert data[-2]["choices"] == [] and data[-2]["usage"] == whole["usage"]
    tokens = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    assert whole["usage"] == {**tokens, "flow_credits": 20}  # Flow bills credits, not tokens
    deltas = [c["choices"][0]["delta"] for c in data[:-2] if c["choices"]]
    assert not any("reasoning_content" in d for d in deltas)  # the licence says: progress in content
    assert any("Task " in str(d.get("content")) for d in deltas)


async def test_metrics_count_generations_by_licence_and_model(limited: Limited, auth: dict[str, str]) -> None:
    http = await limited(daily_images=1)
    await image(http, auth)
    await image(http, auth)
    text = await (await http.get("/metrics")).text()
    labels = 'kind="image",licence="lic-a",model="nano_banana",outcome="succeeded"'  # sorted by name
    assert f"gateway_licence_generations_total{{{labels}}} 1.0" in text
    assert 'gateway_licence_refusals_total{code="insufficient_quota",licence="lic-a"} 1.0' in text


async def test_a_client_that_leaves_gives_its_reservation_back(
    limited: Limited, auth: dict[str, str], simulator: SimHandle
) -> None:
    http = await limited(max_concurrency=1)
    simulator.sim.faults.add(route="images.generate", kind="hang", count=1)
    with pytest.raises(TimeoutError):  # the client gives up while Flow holds its call
        async with asyncio.timeout(0.5):
            await image(http, auth)
    for _ in range(200):
        licence = await (await http.get("/v1/licence", headers=auth)).json()
        if licence["used"]["in_progress"] == 0:
            break
        await asyncio.sleep(0.02)
    assert licence["used"]["in_progress"] == 0
    assert (await image(http, auth)).status == 200  # its slot is free again
    records = await (await http.get("/admin/usage/records", headers=ADMIN)).json()
    assert [(r["outcome"], r["error_code"]) for r in records["data"]] == [
        ("cancelled", "client_closed"),
        ("succeeded", ""),
    ]
