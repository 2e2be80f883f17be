"""The gateway on Redis (``GATEWAY_STORE_URL`` alone selects it), against a real redis-server: an
image and a video generated, then a new gateway on the same Redis (a restart, or another replica)
serves both; Redis going away answers 503 ``store_unavailable`` and service resumes when it is back."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import yarl
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway import keys
from gateway.config import Settings
from gateway.licensing import hash_key
from gateway.store.redis_store import RedisStore
from tests.e2e.test_videos_http import FAST, finished
from tests.support.redis_server import RedisServer, start_server, unique_prefix

AppFactory = Callable[[Settings], web.Application]
ADMIN_KEY = "sk-admin-test-0123456789abcdefghijklmnop"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


async def started(app: web.Application) -> TestClient:
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_images_and_videos_on_redis_outlive_the_gateway(
    settings_factory: Callable[..., Settings],
    app_factory: AppFactory,
    redis_server: RedisServer,
    licence_key: str,
) -> None:
    env = {**FAST, "GATEWAY_STORE_URL": redis_server.url, "GATEWAY_STORE_PREFIX": unique_prefix()}
    auth = {"Authorization": f"Bearer {licence_key}"}
    first = await started(app_factory(settings_factory(env)))
    try:
        assert isinstance(first.app[keys.STORE], RedisStore)
        body = {"model": "nano_banana", "prompt": "a fox", "response_format": "url"}
        resp = await first.post("/v1/images/generations", json=body, headers=auth)
        assert resp.status == 200, await resp.text()
        image = yarl.URL((await resp.json())["data"][0]["url"])
        resp = await first.post(
            "/flow/v1/videos", json={"prompt": "a fox", "model": "veo_3_1-fast"}, headers=auth
        )
        video_id = (await resp.json())["id"]
        assert (await finished(first, auth, video_id))["status"] == "completed"
    finally:
        await first.close()

    second = await started(app_factory(settings_factory(env)))  # a restart: nothing but Redis is shared
    try:
        resp = await second.get(f"/flow/v1/videos/{video_id}", headers=auth)
        assert (resp.status, (await resp.json())["status"]) == (200, "completed")
        listed = await (await second.get("/flow/v1/videos", headers=auth)).json()
        assert [v["id"] for v in listed["data"]] == [video_id]
        content = await second.get(f"/flow/v1/videos/{video_id}/content", headers=auth)
        assert (await content.read())[4:8] == b"ftyp"
        signed = await second.get(image.path_qs)  # the signing key and the media record are in Redis
        assert signed.status == 200
        assert signed.headers["Content-Type"].startswith("image/")
    finally:
        await second.close()


async def test_redis_going_away_answers_503_and_service_resumes(
    settings_factory: Callable[..., Settings],
    app_factory: AppFactory,
    tmp_path: Path,
    licence_key: str,
) -> None:
    server = start_server(tmp_path / "redis", keep_data=True)  # its own: this test stops it
    env = {**FAST, "GATEWAY_STORE_URL": server.url}
    auth = {"Authorization": f"Bearer {licence_key}"}
    http = await started(app_factory(settings_factory(env)))
    try:
        resp = await http.post(
            "/flow/v1/videos", json={"prompt": "a fox", "model": "veo_3_1-fast"}, headers=auth
        )
        video_id = (await resp.json())["id"]
        assert (await finished(http, auth, video_id))["status"] == "completed"

        server.stop()
        resp = await http.get("/flow/v1/videos", headers=auth)
        error = (await resp.json())["error"]
        assert (resp.status, error["code"], error["type"]) == (503, "store_unavailable", "server_error")
        assert resp.headers["Retry-After"] == "2"
        ready = await http.get("/readyz")
        assert (ready.status, (await ready.json())["store"]) == (503, False)

        server.start()
        resp = await http.get("/flow/v1/videos", headers=auth)
        assert resp.status == 200
        assert [v["id"] for v in (await resp.json())["data"]] == [video_id]
        assert (await http.get("/readyz")).status == 200
    finally:
        await http.close()
        server.stop()


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """``check`` comes true within about five seconds (far less than the hour the polls wait)."""
    for _ in range(250):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("never came true")


async def test_a_change_on_one_replica_reaches_another_at_once(
    settings_factory: Callable[..., Settings],
    app_factory: AppFactory,
    redis_server: RedisServer,
) -> None:
    """The registries poll once an hour here: only the pub/sub message can carry the change."""
    env = {
        "GATEWAY_STORE_URL": redis_server.url,
        "GATEWAY_STORE_PREFIX": unique_prefix(),
        "GATEWAY_ADMIN_KEY_SHA256": hash_key(ADMIN_KEY),
        "GATEWAY_LICENSING_SYNC_INTERVAL": "3600",
        "GATEWAY_POOL_SYNC_INTERVAL": "3600",
    }
    one = await started(app_factory(settings_factory(env)))
    two = await started(app_factory(settings_factory(env)))
    try:
        resp = await one.post("/admin/licences", json={"name": "team"}, headers=ADMIN)
        assert resp.status == 201, await resp.text()
        created = await resp.json()
        key = {"Authorization": f"Bearer {created['key']}"}

        async def models_status() -> int:
            return (await two.get("/v1/models", headers=key)).status

        await eventually(lambda: _is(models_status(), 200))
        assert (await one.delete(f"/admin/licences/{created['id']}", headers=ADMIN)).status == 200
        await eventually(lambda: _is(models_status(), 403))

        account_id = (await (await one.get("/admin/accounts", headers=ADMIN)).json())["data"][0]["id"]
        assert (await one.post(f"/admin/accounts/{account_id}/disable", headers=ADMIN)).status == 200

        async def state_on_two() -> str:
            doc = await (await two.get(f"/admin/accounts/{account_id}", headers=ADMIN)).json()
            return str(doc["state"])

        await eventually(lambda: _is(state_on_two(), "disabled"))
    finally:
        await one.close()
        await two.close()


async def _is(value: Awaitable[object], wanted: object) -> bool:
    return await value == wanted


async def test_the_cli_on_redis_reaches_a_running_gateway_at_once(
    settings_factory: Callable[..., Settings],
    app_factory: AppFactory,
    redis_server: RedisServer,
    tmp_path: Path,
) -> None:
    """``python -m gateway licences create`` in its own process (it opens and closes the store in a
    blink, and must exit), and a gateway that polls once an hour accepts the new key at once."""
    store_env = {"GATEWAY_STORE_URL": redis_server.url, "GATEWAY_STORE_PREFIX": unique_prefix()}
    gateway = await started(
        app_factory(settings_factory({**store_env, "GATEWAY_LICENSING_SYNC_INTERVAL": "3600"}))
    )
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway",
            "licences",
            "--config",
            str(tmp_path / "gateway.toml"),  # settings_factory's file; the store comes from the env
            "create",
            "--name",
            "from-the-cli",
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2]), **store_env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(60):
            out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        found = re.search(r"key \(shown once[^)]*\): (sk-flow-\S+)", out.decode())
        assert found, out.decode()
        key = {"Authorization": f"Bearer {found.group(1)}"}

        async def accepted() -> bool:
            return (await gateway.get("/v1/models", headers=key)).status == 200

        await eventually(accepted)
    finally:
        await gateway.close()
