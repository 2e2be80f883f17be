"""The operator's view of tasks and health: every licence's tasks listed and inspected, a task
cancelled while it waits for an account (nothing sent to Flow for it), refused once submitted, and
``/admin/health`` telling what serves and what does not."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from gateway import keys
from gateway.licensing import hash_key, new_licence_key
from tests.conftest import SimHandle

ClientWith = Callable[..., Awaitable[TestClient]]
ADMIN_KEY = "sk-admin-test-0123456789abcdefghijklmnop"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
OTHER_KEY = new_licence_key()
# One account serving one video at a time: a second video waits for it in the queue.
ONE_SLOT = (
    f'[[licences]]\nid = "lic-b"\nkey_sha256 = "{hash_key(OTHER_KEY)}"\n'
    '[[accounts]]\nlabel = "only"\nsession_token = "st-ultra-1"\nvideo_concurrency = 1\n'
)
ENV = {"GATEWAY_ADMIN_KEY_SHA256": hash_key(ADMIN_KEY)}


@pytest.fixture
async def http(client_with: ClientWith) -> TestClient:
    return await client_with(env=ENV, accounts=ONE_SLOT)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def create_video(http: TestClient, key: str, prompt: str) -> dict[str, object]:
    resp = await http.post(
        "/v1/videos", json={"prompt": prompt, "model": "veo_3_1-fast"}, headers=bearer(key)
    )
    assert resp.status == 200, await resp.text()
    doc: dict[str, object] = await resp.json()
    return doc


async def admin_task(http: TestClient, task_id: object) -> dict[str, object]:
    resp = await http.get(f"/admin/tasks/{task_id}", headers=ADMIN)
    assert resp.status == 200
    doc: dict[str, object] = await resp.json()
    return doc


async def wait_for_stage(http: TestClient, task_id: object, stage: str) -> dict[str, object]:
    for _ in range(500):
        doc = await admin_task(http, task_id)
        if doc["stage"] == stage:
            return doc
        await asyncio.sleep(0.01)
    raise AssertionError(f"task {task_id} never reached {stage}: {doc}")


async def test_cancel_before_submit_spends_nothing_and_a_submitted_task_is_refused(
    http: TestClient, licence_key: str, simulator: SimHandle
) -> None:
    simulator.sim.faults.add(route="video.submit", kind="hang", count=1)  # the first submit never answers
    first = await create_video(http, licence_key, "holds the only slot")
    await wait_for_stage(http, first["id"], "submitting")
    waiting = await create_video(http, licence_key, "waits for the slot")
    assert (await admin_task(http, waiting["id"]))["stage"] == "queued"

    resp = await http.post(f"/admin/tasks/{waiting['id']}/cancel", headers=ADMIN)
    assert resp.status == 200
    cancelled = await resp.json()
    assert (cancelled["status"], cancelled["error_code"]) == ("failed", "cancelled")
    seen = await (await http.get(f"/v1/videos/{waiting['id']}", headers=bearer(licence_key))).json()
    assert (seen["status"], seen["error"]["code"]) == ("failed", "cancelled")  # its owner sees why

    refused = await http.post(f"/admin/tasks/{first['id']}/cancel", headers=ADMIN)
    assert refused.status == 409
    assert (await refused.json())["error"]["code"] == "task_not_cancellable"
    again = await http.post(f"/admin/tasks/{waiting['id']}/cancel", headers=ADMIN)
    assert again.status == 409  # already finished
    assert (await http.post("/admin/tasks/video_nope/cancel", headers=ADMIN)).status == 404
    assert (await http.post(f"/admin/tasks/{first['id']}/cancel", headers=bearer(licence_key))).status == 401
    # Free the slot (its owner deletes the stuck video): nothing is left to run, and the one submit
    # Flow saw, once it ends, is the first video's.
    assert (await http.delete(f"/v1/videos/{first['id']}", headers=bearer(licence_key))).status == 200
    assert http.app[keys.TASKS].running == 0
    for _ in range(500):
        if simulator.sim.stats.calls("video.submit"):
            break
        await asyncio.sleep(0.01)
    assert simulator.sim.stats.calls("video.submit") == 1
    audit = await (await http.get(f"/admin/audit?target={waiting['id']}", headers=ADMIN)).json()
    assert [(e["action"], e["actor"], e["after"]["status"]) for e in audit["data"]] == [
        ("task.cancel", "admin-api", "failed")
    ]


async def test_the_admin_lists_every_licence_s_tasks_and_filters_them(
    http: TestClient, licence_key: str, simulator: SimHandle
) -> None:
    simulator.sim.faults.add(route="video.submit", kind="hang", count=1)
    mine = await create_video(http, licence_key, "lic-a's")
    theirs = await create_video(http, OTHER_KEY, "lic-b's")
    doc = await (await http.get("/admin/tasks", headers=ADMIN)).json()
    assert {t["id"]: t["owner"] for t in doc["data"]} == {mine["id"]: "lic-a", theirs["id"]: "lic-b"}
    assert doc["data"][0]["id"] == theirs["id"]  # newest first
    only_b = await (await http.get("/admin/tasks?owner=lic-b&kind=video", headers=ADMIN)).json()
    assert [t["id"] for t in only_b["data"]] == [theirs["id"]]
    page = await (await http.get("/admin/tasks?limit=1", headers=ADMIN)).json()
    assert page["has_more"] is True and page["last_id"] == theirs["id"]
    rest = await (await http.get(f"/admin/tasks?limit=1&after={theirs['id']}", headers=ADMIN)).json()
    assert [t["id"] for t in rest["data"]] == [mine["id"]] and rest["has_more"] is False
    assert (await (await http.get("/admin/tasks?kind=image", headers=ADMIN)).json())["data"] == []
    bad = await http.get("/admin/tasks?status=lost", headers=ADMIN)
    assert bad.status == 400 and (await bad.json())["error"]["param"] == "status"
    assert (await http.get("/admin/tasks?limit=0", headers=ADMIN)).status == 400
    # A licence still sees only its own: the admin view is not reachable with a licence key.
    assert (await http.get("/admin/tasks", headers=bearer(licence_key))).status == 401
    listed = await (await http.get("/v1/videos", headers=bearer(OTHER_KEY))).json()
    assert [v["id"] for v in listed["data"]] == [theirs["id"]]


async def test_health_reports_each_dependency(http: TestClient, licence_key: str) -> None:
    resp = await http.get("/admin/health", headers=ADMIN)
    assert resp.status == 200
    doc = await resp.json()
    assert doc["status"] == "ok" and doc["problems"] == []
    assert doc["store"] == {"ok": True}
    assert doc["transports"]["rest"]["accounts"] == 1 and doc["transports"]["rest"]["serving"] == 1
    assert doc["captcha"]["provider"] == "anticaptcha" and doc["captcha"]["state"] in ("idle", "ok")
    assert doc["workers"] == {
        "connected": 0,
        "accounts": 0,
        "in_flight": 0,
        "captcha_refusals": 0,
        "remote_accounts": 0,
    }
    assert doc["webhooks"] == {"backlog": 0} and doc["tasks"]["running"] == 0
    image = await http.post(
        "/v1/images/generations", json={"model": "nano_banana", "prompt": "x"}, headers=bearer(licence_key)
    )
    assert image.status == 200
    after = await (await http.get("/admin/health", headers=ADMIN)).json()
    assert after["captcha"]["state"] == "ok" and after["captcha"]["recent_ok"] >= 1
    assert (await http.get("/admin/health")).status == 401
