"""The admin API end to end: its own key, masked listings, add/import/change/disable/remove, workers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from gateway.licensing import hash_key
from gateway.pool.account import account_id_for
from tests.conftest import SimHandle

ClientWith = Callable[..., Awaitable[TestClient]]
ADMIN_KEY = "sk-admin-test-0123456789abcdefghijklmnop"
ONE = '[[accounts]]\nlabel = "ultra1"\nsession_token = "st-ultra-1"\n'


@pytest.fixture
async def http(client_with: ClientWith) -> TestClient:
    env = {"GATEWAY_ADMIN_KEY_SHA256": hash_key(ADMIN_KEY), "GATEWAY_POOL_SYNC_INTERVAL": "0.1"}
    return await client_with(env=env, accounts=ONE)


ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


async def wait_for_state(http: TestClient, account_id: str, state: str) -> dict[str, object]:
    for _ in range(200):
        doc: dict[str, object] = await (await http.get(f"/admin/accounts/{account_id}", headers=ADMIN)).json()
        if doc["state"] == state:
            return doc
        await asyncio.sleep(0.02)
    raise AssertionError(f"{account_id} never became {state}: {doc}")


async def test_the_admin_key_and_licences_never_stand_in_for_each_other(
    http: TestClient, licence_key: str, client_with: ClientWith
) -> None:
    assert (await http.get("/admin/accounts")).status == 401
    assert (
        await http.get("/admin/accounts", headers={"Authorization": f"Bearer {licence_key}"})
    ).status == 401
    assert (await http.get("/admin/accounts", headers={"x-admin-key": ADMIN_KEY})).status == 200
    resp = await http.get("/v1/models", headers=ADMIN)
    assert resp.status == 401  # the admin key is not a licence
    assert (await http.get("/flow/v1/admin/accounts", headers=ADMIN)).status in (401, 404)
    plain = await client_with(accounts=ONE)  # no [admin] key: the API does not exist
    assert (await plain.get("/admin/accounts", headers=ADMIN)).status == 404


async def test_listing_masks_secrets(http: TestClient) -> None:
    doc = await (await http.get("/admin/accounts", headers=ADMIN)).json()
    assert doc["object"] == "list" and len(doc["data"]) == 1
    (account,) = doc["data"]
    assert account["id"] == account_id_for("st-ultra-1") and account["source"] == "config"
    assert account["session_token"] in ("***", "")  # a short token gets no hint at all
    assert "st-ultra-1" not in str(doc)
    assert set(account["usage"]) >= {"images_today", "videos_today", "failures_today", "credits_today"}


async def test_add_verify_serve_and_remove(http: TestClient, licence_key: str, simulator: SimHandle) -> None:
    body = {
        "session_token": "st-ultra-2",
        "label": "added",
        "groups": ["team"],
    }
    resp = await http.post("/admin/accounts", json=body, headers=ADMIN)
    assert resp.status == 201
    added = await resp.json()
    assert added["state"] == "refreshing"
    verified = await wait_for_state(http, added["id"], "active")
    assert verified["tier"] == "ultra" and verified["credits"] == 1000  # asked Flow: tier and credits
    auth = {"Authorization": f"Bearer {licence_key}"}
    resp = await http.post(
        "/v1/images/generations", json={"model": "nano_banana|[team]", "prompt": "x"}, headers=auth
    )
    assert resp.status == 200
    assert simulator.sim.stats.calls("images.generate", account="ultra2@example.com") == 1
    again = await http.post("/admin/accounts", json=body, headers=ADMIN)
    assert again.status == 400 and (await again.json())["error"]["code"] == "account_exists"
    resp = await http.delete(f"/admin/accounts/{added['id']}", headers=ADMIN)
    assert (await resp.json())["deleted"] is True
    resp = await http.post(
        "/v1/images/generations", json={"model": "nano_banana|[team]", "prompt": "x"}, headers=auth
    )
    assert resp.status == 403  # nobody left in that group
    config_owned = await http.delete(f"/admin/accounts/{account_id_for('st-ultra-1')}", headers=ADMIN)
    assert config_owned.status == 400


async def test_a_bad_session_token_ends_in_needs_relogin(http: TestClient) -> None:
    resp = await http.post("/admin/accounts", json={"session_token": "st-nobody-has-this"}, headers=ADMIN)
    doc = await wait_for_state(http, (await resp.json())["id"], "needs_relogin")
    assert doc["reason"]


async def test_disable_enable_and_patch(http: TestClient, licence_key: str) -> None:
    account_id = account_id_for("st-ultra-1")
    resp = await http.post(f"/admin/accounts/{account_id}/disable", headers=ADMIN)
    assert (await resp.json())["state"] == "disabled"
    auth = {"Authorization": f"Bearer {licence_key}"}
    resp = await http.post(
        "/v1/images/generations", json={"model": "nano_banana", "prompt": "x"}, headers=auth
    )
    assert resp.status == 503  # the only account is disabled: nobody can serve
    await http.post(f"/admin/accounts/{account_id}/enable", headers=ADMIN)
    await wait_for_state(http, account_id, "active")
    resp = await http.patch(f"/admin/accounts/{account_id}", json={"rpm": 7, "weight": 2.5}, headers=ADMIN)
    doc = await resp.json()
    assert (doc["rpm"], doc["weight"], doc["state"]) == (7, 2.5, "active")
    resp = await http.patch(
        f"/admin/accounts/{account_id}", json={"proxy": "http://u:pw@10.9.9.9:3128"}, headers=ADMIN
    )
    assert (await resp.json())["proxy"] == "http://u:***@10.9.9.9:3128"  # the password never comes back
    resp = await http.patch(f"/admin/accounts/{account_id}", json={"proxy": "ftp://x"}, headers=ADMIN)
    assert (await resp.json())["error"]["param"] == "proxy"
    resp = await http.patch(f"/admin/accounts/{account_id}", json={"rpm": "fast"}, headers=ADMIN)
    assert resp.status == 400 and (await resp.json())["error"]["param"] == "rpm"
    resp = await http.patch(f"/admin/accounts/{account_id}", json={"colour": "red"}, headers=ADMIN)
    assert (await resp.json())["error"]["code"] == "unknown_parameter"
    assert (await http.get("/admin/accounts/acc_unknown", headers=ADMIN)).status == 404


async def test_import_text_and_json(http: TestClient) -> None:
    text = "# tokens\nst-ultra-2\n\nst-pro-1\nst-ultra-2\n"
    resp = await http.post(
        "/admin/accounts/import?groups=bulk", data=text, headers={**ADMIN, "Content-Type": "text/plain"}
    )
    doc = await resp.json()
    assert (len(doc["added"]), len(doc["skipped"])) == (2, 1)
    resp = await http.post(
        "/admin/accounts/import",
        json={
            "accounts": [{"worker_key": "w-1"}, {"session_token": "st-pro-1"}],
            "defaults": {"kind": "worker"},
        },
        headers=ADMIN,
    )
    assert resp.status == 400  # the second entry is a worker without a key once defaults apply
    resp = await http.post(
        "/admin/accounts/import",
        json={"accounts": [{"worker_key": "w-1", "tier": "ultra"}], "defaults": {"kind": "worker"}},
        headers=ADMIN,
    )
    assert len((await resp.json())["added"]) == 1
    listing = await (await http.get("/admin/accounts?group=bulk", headers=ADMIN)).json()
    assert len(listing["data"]) == 2
    workers = await (await http.get("/admin/accounts?kind=worker", headers=ADMIN)).json()
    assert [a["state"] for a in workers["data"]] == ["needs_worker"]  # no worker connected
    page = await (await http.get("/admin/accounts?limit=2", headers=ADMIN)).json()
    assert page["has_more"] is True
    rest = await (await http.get(f"/admin/accounts?limit=10&after={page['last_id']}", headers=ADMIN)).json()
    assert len(page["data"]) + len(rest["data"]) == 4 and rest["has_more"] is False


async def test_pool_summary_and_workers(http: TestClient) -> None:
    summary = await (await http.get("/admin/pool", headers=ADMIN)).json()
    assert summary["accounts"] == {"active": 1}
    workers = await (await http.get("/admin/workers", headers=ADMIN)).json()
    assert workers == {"object": "list", "data": []}
