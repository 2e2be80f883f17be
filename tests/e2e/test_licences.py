"""Licences through the admin API of a running gateway: every change takes effect at once, the
config file keeps its own, the audit trail records it all without a secret, and ``[admin] listen``
keeps the admin API off the public port."""

from __future__ import annotations

import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.config import Settings
from gateway.licensing import hash_key

ClientWith = Callable[..., Awaitable[TestClient]]
ADMIN_KEY = "sk-admin-test-0123456789abcdefghijklmnop"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
ONE = '[[accounts]]\nlabel = "ultra1"\nsession_token = "st-ultra-1"\n'


@pytest.fixture
async def http(client_with: ClientWith) -> TestClient:
    return await client_with(env={"GATEWAY_ADMIN_KEY_SHA256": hash_key(ADMIN_KEY)}, accounts=ONE)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def models_status(http: TestClient, key: str) -> tuple[int, str | None]:
    """What a client with ``key`` is told (``/v1/models`` spends nothing upstream)."""
    resp = await http.get("/v1/models", headers=bearer(key))
    doc = await resp.json()
    return resp.status, doc["error"]["code"] if resp.status != 200 else None


async def create(http: TestClient, **body: Any) -> dict[str, Any]:
    resp = await http.post("/admin/licences", json={"name": "team", **body}, headers=ADMIN)
    assert resp.status == 201, await resp.text()
    doc: dict[str, Any] = await resp.json()
    return doc


async def test_a_created_licence_works_at_once_and_its_key_is_shown_once(http: TestClient) -> None:
    doc = await create(
        http, models=["veo_3_1*"], daily_credits=100, webhook_url="https://hooks.example.com/flow", priority=2
    )
    key, secret, licence_id = doc["key"], doc["webhook_secret"], doc["id"]
    assert key.startswith("sk-flow-") and secret.startswith("whsec_") and doc["status"] == "active"
    assert (doc["models"], doc["daily_credits"], doc["priority"]) == (["veo_3_1*"], 100, 2)
    assert await models_status(http, key) == (200, None)
    shown = await (await http.get(f"/admin/licences/{licence_id}", headers=ADMIN)).text()
    listed = await (await http.get("/admin/licences", headers=ADMIN)).text()
    for text in (shown, listed):
        assert key not in text and secret not in text and hash_key(key) not in text
        assert doc["key_hint"] in text
    assert "key_sha256" not in listed and "webhook_secret" not in listed


async def test_rotate_keeps_the_old_key_for_its_grace_and_revoke_stops_every_key(http: TestClient) -> None:
    first = await create(http)
    path = f"/admin/licences/{first['id']}"
    resp = await http.post(path + "/rotate", json={"grace_seconds": 3600}, headers=ADMIN)
    second = await resp.json()
    assert second["key"] != first["key"] and "webhook_secret" not in second  # unchanged unless asked
    assert second["previous_key_until"] > time.time() + 3500
    assert await models_status(http, first["key"]) == (200, None)  # within its grace
    assert await models_status(http, second["key"]) == (200, None)
    resp = await http.post(path + "/rotate", json={"grace_seconds": 0, "webhook_secret": True}, headers=ADMIN)
    third = await resp.json()
    assert third["webhook_secret"].startswith("whsec_") and third["previous_key_until"] is None
    assert await models_status(http, second["key"]) == (401, "invalid_api_key")  # no grace: gone at once
    assert await models_status(http, first["key"]) == (401, "invalid_api_key")
    assert await models_status(http, third["key"]) == (200, None)
    revoked = await (await http.delete(path, headers=ADMIN)).json()
    assert revoked["status"] == "revoked" and revoked["revoked_at"]
    assert await models_status(http, third["key"]) == (403, "licence_revoked")
    again = await http.patch(path, json={"name": "back"}, headers=ADMIN)
    assert again.status == 409
    listing = await (await http.get("/admin/licences?revoked=true", headers=ADMIN)).json()
    assert [d["id"] for d in listing["data"]] == [first["id"]]


async def test_disable_enable_and_expiry_answer_403_with_their_codes(http: TestClient) -> None:
    doc = await create(http, expires_at=time.time() + 3600)
    key, path = doc["key"], f"/admin/licences/{doc['id']}"
    disabled = await (await http.post(path + "/disable", headers=ADMIN)).json()
    assert disabled["status"] == "disabled"
    assert await models_status(http, key) == (403, "licence_disabled")
    await http.post(path + "/enable", headers=ADMIN)
    assert await models_status(http, key) == (200, None)
    expired = await (await http.patch(path, json={"expires_at": time.time() - 1}, headers=ADMIN)).json()
    assert expired["status"] == "expired"
    assert await models_status(http, key) == (403, "licence_expired")
    await http.patch(path, json={"expires_at": 0}, headers=ADMIN)
    assert await models_status(http, key) == (200, None)
    enabled = await (await http.get("/admin/licences?enabled=false", headers=ADMIN)).json()
    assert enabled["data"] == []


async def test_bad_input_is_a_400_naming_the_field(http: TestClient) -> None:
    for body, param in (
        ({"name": "x", "models": ["no spaces please"]}, "models"),
        ({"name": "x", "rpm": -1}, "rpm"),
        ({"name": "x", "colour": "red"}, "colour"),
        ({"rpm": 1}, "name"),
    ):
        resp = await http.post("/admin/licences", json=body, headers=ADMIN)
        assert resp.status == 400 and (await resp.json())["error"]["param"] == param
    resp = await http.post("/admin/licences", data=b"{not json", headers=ADMIN)
    assert (await resp.json())["error"]["code"] == "invalid_json"
    assert (await http.get("/admin/licences/lic_nope", headers=ADMIN)).status == 404
    assert (await http.get("/admin/licences?limit=0", headers=ADMIN)).status == 400
    assert (await http.get("/admin/licences?enabled=maybe", headers=ADMIN)).status == 400


async def test_the_config_file_licence_is_owned_by_the_file(http: TestClient, licence_key: str) -> None:
    doc = await (await http.get("/admin/licences/lic-a", headers=ADMIN)).json()
    assert doc["source"] == "config" and doc["status"] == "active"
    for method, suffix, body in (("PATCH", "", {"rpm": 1}), ("POST", "/rotate", {}), ("DELETE", "", None)):
        resp = await http.request(method, f"/admin/licences/lic-a{suffix}", json=body, headers=ADMIN)
        error = (await resp.json())["error"]
        assert (resp.status, error["code"]) == (409, "licence_in_config")
        assert "config file" in error["message"]
    assert await models_status(http, licence_key) == (200, None)


async def test_the_audit_trail_records_every_change_without_secrets(http: TestClient) -> None:
    doc = await create(http, rpm=5)
    path = f"/admin/licences/{doc['id']}"
    await http.patch(path, json={"rpm": 6}, headers=ADMIN)
    rotated = await (await http.post(path + "/rotate", json={"webhook_secret": True}, headers=ADMIN)).json()
    await http.post(path + "/disable", headers=ADMIN)
    await http.delete(path, headers=ADMIN)
    await http.patch("/admin/accounts/" + await first_account(http), json={"rpm": 3}, headers=ADMIN)
    resp = await http.get("/admin/audit", headers=ADMIN)
    text = await resp.text()
    entries = (await resp.json())["data"]
    mine = [(e["actor"], e["action"]) for e in entries if e["target"] == doc["id"]]
    assert mine == [
        ("admin-api", "licence.create"),
        ("admin-api", "licence.update"),
        ("admin-api", "licence.rotate"),
        ("admin-api", "licence.disable"),
        ("admin-api", "licence.revoke"),
    ]
    assert ("admin-api", "account.update") in [(e["actor"], e["action"]) for e in entries]
    assert ("config", "licence.create") in [(e["actor"], e["action"]) for e in entries]  # lic-a, at start
    update = next(e for e in entries if e["action"] == "licence.update")
    assert (update["before"]["rpm"], update["after"]["rpm"]) == (5, 6)
    for secret in (
        doc["key"],
        doc["webhook_secret"],
        rotated["key"],
        rotated["webhook_secret"],
        "st-ultra-1",
    ):
        assert secret not in text and hash_key(secret) not in text
    page = await (await http.get(f"/admin/audit?target={doc['id']}&limit=2", headers=ADMIN)).json()
    assert [e["action"] for e in page["data"]] == ["licence.create", "licence.update"] and page["has_more"]
    rest = await (
        await http.get(f"/admin/audit?target={doc['id']}&after={page['last_seq']}", headers=ADMIN)
    ).json()
    assert [e["action"] for e in rest["data"]] == ["licence.rotate", "licence.disable", "licence.revoke"]


async def first_account(http: TestClient) -> str:
    doc = await (await http.get("/admin/accounts", headers=ADMIN)).json()
    account_id: str = doc["data"][0]["id"]
    return account_id


def bound_socket() -> socket.socket:
    return socket.create_server(("127.0.0.1", 0))


async def test_the_admin_listener_alone_serves_the_admin_api(
    settings_factory: Callable[..., Settings],
    app_factory: Callable[[Settings], web.Application],
    licence_key: str,
) -> None:
    public, admin = bound_socket(), bound_socket()
    admin_port = admin.getsockname()[1]
    settings = settings_factory(
        {"GATEWAY_ADMIN_KEY_SHA256": hash_key(ADMIN_KEY), "GATEWAY_ADMIN_LISTEN": f"127.0.0.1:{admin_port}"},
        ONE,
    )
    runner = web.AppRunner(app_factory(settings))
    await runner.setup()
    try:
        for sock in (public, admin):
            await web.SockSite(runner, sock).start()
        public_url = f"http://127.0.0.1:{public.getsockname()[1]}"
        async with aiohttp.ClientSession() as session:
            async with session.get(public_url + "/admin/licences", headers=ADMIN) as resp:
                assert resp.status == 404  # as if there were no admin API at all
            async with session.get(f"http://127.0.0.1:{admin_port}/admin/licences", headers=ADMIN) as resp:
                assert resp.status == 200
            async with session.get(f"http://127.0.0.1:{admin_port}/admin/licences") as resp:
                assert resp.status == 401  # its own port still wants the admin key
            async with session.get(public_url + "/v1/models", headers=bearer(licence_key)) as resp:
                assert resp.status == 200
    finally:
        await runner.cleanup()
        for sock in (public, admin):
            sock.close()
