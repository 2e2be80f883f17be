"""Webhooks end to end: a finished video or asynchronous image is POSTed, signed, to the URL the
request (or its licence) named; bad URLs are refused before any task exists; a hanging receiver
holds up no task; what a gateway left undelivered is delivered by the next one; one licence is
never told of another's tasks; the admin API shows every attempt and sends one again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway import keys
from gateway.config import Settings
from gateway.licensing import hash_key, new_licence_key
from gateway.service.webhook_sign import new_webhook_secret
from gateway.simulator import SimulatorConfig
from tests.conftest import CAPTCHA_KEY
from tests.e2e.test_videos_http import FAST
from tests.support.webhook_receiver import Receiver, receiver_factory, verified

__all__ = ["receiver_factory"]  # the fixture, imported for pytest
ClientWith = Callable[..., Awaitable[TestClient]]
Receivers = Callable[[], Awaitable[Receiver]]
SECRET = new_webhook_secret()  # the gateway-wide one: config licences have none of their own
ADMIN_KEY = "sk-admin-test-0123456789abcdefghijklmnop"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
ENV = {**FAST, "GATEWAY_WEBHOOKS_SECRET": SECRET, "GATEWAY_ADMIN_KEY_SHA256": hash_key(ADMIN_KEY)}
VIDEO = {"prompt": "a lighthouse", "model": "veo_3_1-fast"}
ARRIVAL = 20.0  # seconds a test waits for a webhook (it comes as soon as the task ends)


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(image_scale=0.1, captcha_client_key=CAPTCHA_KEY, video_duration=0.3)


@pytest.fixture
def auth(licence_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {licence_key}"}


async def arrival(receiver: Receiver, count: int = 1) -> list[tuple[Any, bytes]]:
    """Wait (on the receiver's event, no polling) until ``count`` requests have come."""
    async with asyncio.timeout(ARRIVAL):
        while len(receiver.got) < count:
            receiver.arrived.clear()
            await receiver.arrived.wait()
    return receiver.got


async def test_a_finished_video_is_posted_signed_to_the_requests_url(
    client_with: ClientWith, receiver_factory: Receivers, auth: dict[str, str]
) -> None:
    http, receiver = await client_with(env=ENV), await receiver_factory()
    created = await http.post("/flow/v1/videos", json={**VIDEO, "webhook_url": receiver.url}, headers=auth)
    assert created.status == 200, await created.text()
    video_id = (await created.json())["id"]
    [(headers, body)] = await arrival(receiver)
    assert verified(SECRET, headers, body, now=time.time())
    envelope = orjson.loads(body)
    assert envelope["type"] == "video.completed"
    # The task object exactly as the API returns it.
    assert envelope["data"] == await (await http.get(f"/flow/v1/videos/{video_id}", headers=auth)).json()

    await http.app[keys.WEBHOOKS].dispatcher.settled()  # the receiver's answer recorded
    listed = await (await http.get("/admin/webhooks", params={"task_id": video_id}, headers=ADMIN)).json()
    [delivery] = listed["data"]
    assert delivery["id"] == headers["webhook-id"] and delivery["licence_id"] == "lic-a"
    assert delivery["status"] == "delivered" and delivery["event"] == "video.completed"
    assert [(a["status"], a["error"]) for a in delivery["history"]] == [(200, None)]
    assert SECRET not in str(listed)
    one = await (await http.get(f"/admin/webhooks/{delivery['id']}", headers=ADMIN)).json()
    assert one["body"] == envelope


async def test_an_async_image_task_is_posted_with_urls_that_open(
    client_with: ClientWith, receiver_factory: Receivers, auth: dict[str, str]
) -> None:
    http, receiver = await client_with(env=ENV), await receiver_factory()
    headers = {**auth, "x-flow-webhook-url": receiver.url}  # the header form
    body = {"model": "nano_banana", "prompt": "a kite", "async": True}  # b64 ordered: the webhook has URLs
    created = await http.post("/flow/v1/images/generations", json=body, headers=headers)
    assert created.status == 202, await created.text()
    [(sent_headers, sent)] = await arrival(receiver)
    assert verified(SECRET, sent_headers, sent, now=time.time())
    envelope = orjson.loads(sent)
    assert envelope["type"] == "image.completed"
    assert envelope["data"]["id"] == (await created.json())["id"]
    [image] = envelope["data"]["data"]
    async with aiohttp.ClientSession() as plain, plain.get(image["url"]) as opened:  # signed: no licence
        assert opened.status == 200 and (await opened.read())[:2] == b"\xff\xd8"


async def test_a_bad_or_private_url_is_refused_before_any_task_exists(
    client_with: ClientWith, auth: dict[str, str]
) -> None:
    http = await client_with(env={**ENV, "GATEWAY_WEBHOOKS_ALLOW_PRIVATE_URLS": "false"})
    for body, extra_headers in (
        ({**VIDEO, "webhook_url": "http://127.0.0.1:9/hook"}, {}),
        ({**VIDEO, "webhook_url": "http://169.254.169.254/latest"}, {}),
        (VIDEO, {"x-flow-webhook-url": "http://localhost/hook"}),
        ({**VIDEO, "webhook_url": "gopher://example.com/"}, {}),
        ({**VIDEO, "webhook_url": 42}, {}),
    ):
        resp = await http.post("/flow/v1/videos", json=body, headers={**auth, **extra_headers})
        assert resp.status == 400, body
        error = (await resp.json())["error"]
        assert error["code"] == "invalid_webhook_url" and error["param"] == "webhook_url"
    form = aiohttp.FormData({**VIDEO, "webhook_url": "http://10.0.0.7/hook"})  # the SDK's multipart
    assert (await http.post("/flow/v1/videos", data=form, headers=auth)).status == 400
    image = {"model": "nano_banana", "prompt": "x", "async": True, "webhook_url": "http://10.1.2.3/"}
    assert (await http.post("/flow/v1/images/generations", json=image, headers=auth)).status == 400
    listed = await (await http.get("/flow/v1/videos", headers=auth)).json()
    assert listed["data"] == []  # nothing was created, nothing was spent


async def test_a_synchronous_image_request_naming_a_webhook_is_refused(
    client_with: ClientWith, receiver_factory: Receivers, auth: dict[str, str]
) -> None:
    http, receiver = await client_with(env=ENV), await receiver_factory()
    body = {"model": "nano_banana", "prompt": "x", "webhook_url": receiver.url}
    resp = await http.post("/flow/v1/images/generations", json=body, headers=auth)
    assert resp.status == 400
    assert (await resp.json())["error"]["param"] == "webhook_url"


async def test_a_hanging_receiver_holds_up_no_task_and_no_other_delivery(
    client_with: ClientWith, receiver_factory: Receivers, auth: dict[str, str]
) -> None:
    http = await client_with(env=ENV)
    hanging, quick = await receiver_factory(), await receiver_factory()
    hanging.hold = asyncio.Event()
    try:
        first = await http.post("/flow/v1/videos", json={**VIDEO, "webhook_url": hanging.url}, headers=auth)
        first_id = (await first.json())["id"]
        await arrival(hanging)  # its receiver now holds the request open
        done = await (await http.get(f"/flow/v1/videos/{first_id}", headers=auth)).json()
        assert done["status"] == "completed"
        second = await http.post("/flow/v1/videos", json={**VIDEO, "webhook_url": quick.url}, headers=auth)
        [(_, body)] = await arrival(quick)  # the next task ends and is delivered meanwhile
        assert orjson.loads(body)["data"]["id"] == (await second.json())["id"]
        assert not hanging.hold.is_set() and len(hanging.got) == 1
    finally:
        hanging.hold.set()


async def started(app: web.Application) -> TestClient:
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_what_a_gateway_left_undelivered_the_next_one_delivers(
    settings_factory: Callable[..., Settings],
    app_factory: Callable[[Settings], web.Application],
    receiver_factory: Receivers,
    auth: dict[str, str],
    tmp_path: Path,
) -> None:
    env = {**ENV, "GATEWAY_STORE_BACKEND": "sqlite", "GATEWAY_STORE_PATH": str(tmp_path / "state.sqlite3")}
    receiver = await receiver_factory()
    receiver.hold = asyncio.Event()
    first = await started(app_factory(settings_factory(env)))
    created = await first.post("/flow/v1/videos", json={**VIDEO, "webhook_url": receiver.url}, headers=auth)
    video_id = (await created.json())["id"]
    [(interrupted, _)] = await arrival(receiver)  # in flight when the gateway stops
    await first.close()
    receiver.hold.set()
    receiver.hold = None

    second = await started(app_factory(settings_factory(env)))
    try:
        (_, _), (headers, body) = await arrival(receiver, 2)
        assert headers["webhook-id"] == interrupted["webhook-id"]  # the same delivery: receivers dedupe
        assert verified(SECRET, headers, body, now=time.time())  # the secret survived the restart too
        assert orjson.loads(body)["data"]["id"] == video_id
        await second.app[keys.WEBHOOKS].dispatcher.settled()  # the receiver's answer recorded
        query = {"task_id": video_id}
        listed = await (await second.get("/admin/webhooks", params=query, headers=ADMIN)).json()
        [delivery] = listed["data"]
        assert delivery["status"] == "delivered"
        assert delivery["attempts"] == 1  # the interrupted attempt is not counted
    finally:
        await second.close()


async def test_one_licence_is_never_told_of_anothers_tasks(
    client_with: ClientWith,
    receiver_factory: Receivers,
    accounts_toml: str,
    auth: dict[str, str],
) -> None:
    receiver_a, receiver_b = await receiver_factory(), await receiver_factory()
    key_b, secret_b = new_licence_key(), new_webhook_secret()
    licence_b = (
        f'[[licences]]\nid = "lic-b"\nkey_sha256 = "{hash_key(key_b)}"\n'
        f'webhook_url = "{receiver_b.url}"\nwebhook_secret = "{secret_b}"\n'
    )
    http = await client_with(env=ENV, accounts=accounts_toml + licence_b)
    auth_b = {"Authorization": f"Bearer {key_b}"}
    made_a = await http.post("/flow/v1/videos", json={**VIDEO, "webhook_url": receiver_a.url}, headers=auth)
    made_b = await http.post("/flow/v1/videos", json=VIDEO, headers=auth_b)  # the licence's URL applies
    [(headers_a, body_a)] = await arrival(receiver_a)
    [(headers_b, body_b)] = await arrival(receiver_b)
    assert orjson.loads(body_a)["data"]["id"] == (await made_a.json())["id"]
    assert orjson.loads(body_b)["data"]["id"] == (await made_b.json())["id"]
    assert verified(secret_b, headers_b, body_b, now=time.time())  # b's own secret
    assert not verified(secret_b, headers_a, body_a, now=time.time())
    assert verified(SECRET, headers_a, body_a, now=time.time())
    for licence_id, task in (("lic-a", made_a), ("lic-b", made_b)):
        listed = await (
            await http.get("/admin/webhooks", params={"licence_id": licence_id}, headers=ADMIN)
        ).json()
        assert [d["task_id"] for d in listed["data"]] == [(await task.json())["id"]]
    assert secret_b not in str(listed)


async def test_a_failed_delivery_is_sent_again_from_the_admin_api(
    client_with: ClientWith, receiver_factory: Receivers, auth: dict[str, str]
) -> None:
    http, receiver = await client_with(env=ENV), await receiver_factory()
    receiver.status = 500
    await http.post("/flow/v1/videos", json={**VIDEO, "webhook_url": receiver.url}, headers=auth)
    [(headers, _)] = await arrival(receiver)
    message_id = headers["webhook-id"]
    await http.app[keys.WEBHOOKS].dispatcher.settled()  # its failure written: it cannot overwrite the retry
    receiver.status = 200
    retried = await http.post(f"/admin/webhooks/{message_id}/retry", headers=ADMIN)
    assert retried.status == 200 and (await retried.json())["status"] == "pending"
    await arrival(receiver, 2)  # sent again at once, not after the 5 s backoff
    audit = await (await http.get("/admin/audit", params={"target": message_id}, headers=ADMIN)).json()
    assert [e["action"] for e in audit["data"]] == ["webhook.retry"]
    assert (await http.post("/admin/webhooks/msg_nope/retry", headers=ADMIN)).status == 404
    bad = await http.get("/admin/webhooks", params={"status": "lost"}, headers=ADMIN)
    assert bad.status == 400 and (await bad.json())["error"]["param"] == "status"


async def test_a_remix_reports_to_the_url_it_names(
    client_with: ClientWith, receiver_factory: Receivers, auth: dict[str, str]
) -> None:
    http, receiver = await client_with(env=ENV), await receiver_factory()
    created = await http.post("/flow/v1/videos", json={**VIDEO, "webhook_url": receiver.url}, headers=auth)
    source_id = (await created.json())["id"]
    await arrival(receiver)  # the source is completed
    remix = {"prompt": "the same lighthouse, at dawn", "webhook_url": receiver.url}
    remixed = await http.post(f"/flow/v1/videos/{source_id}/remix", json=remix, headers=auth)
    assert remixed.status == 200, await remixed.text()
    (_, _), (headers, body) = await arrival(receiver, 2)
    assert verified(SECRET, headers, body, now=time.time())
    data = orjson.loads(body)["data"]
    assert data["id"] == (await remixed.json())["id"] and data["remixed_from_video_id"] == source_id
