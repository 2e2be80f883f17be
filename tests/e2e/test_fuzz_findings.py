"""What the contract fuzz run (tests/contract/test_fuzz.py) found, each pinned by a regression test."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from gateway.licensing import hash_key
from tests.e2e.test_admin import ADMIN, ADMIN_KEY, ONE, wait_for_state

ClientWith = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def http(client_with: ClientWith) -> TestClient:
    env = {"GATEWAY_ADMIN_KEY_SHA256": hash_key(ADMIN_KEY), "GATEWAY_POOL_SYNC_INTERVAL": "0.1"}
    return await client_with(env=env, accounts=ONE)


@pytest.mark.parametrize("token", ["st-a\nb", "st-a\r\nX-Injected: 1", "st-a b", "st-a\x00b", "st-\u2028x"])
async def test_a_credential_with_spaces_or_control_characters_is_refused_at_once(
    http: TestClient, token: str
) -> None:
    # It was stored, and the account refresher, sending it as a header, stopped for every account.
    resp = await http.post("/admin/accounts", json={"session_token": token}, headers=ADMIN)
    assert resp.status == 400
    assert (await resp.json())["error"]["param"] == "session_token"
    worker = await http.post("/admin/accounts", json={"kind": "worker", "worker_key": token}, headers=ADMIN)
    assert (worker.status, (await worker.json())["error"]["param"]) == (400, "worker_key")
    listed = await (await http.get("/admin/accounts", headers=ADMIN)).json()
    existing = listed["data"][0]["id"]
    patch = await http.patch(f"/admin/accounts/{existing}", json={"session_token": token}, headers=ADMIN)
    assert patch.status == 400
    imported = await http.post(
        "/admin/accounts/import", json={"accounts": [{"session_token": token}]}, headers=ADMIN
    )
    assert imported.status == 400
    # The refresher is alive: a good account added now is verified.
    good = await http.post("/admin/accounts", json={"session_token": "st-ultra-2"}, headers=ADMIN)
    assert good.status == 201
    await wait_for_state(http, (await good.json())["id"], "active")


async def test_an_unknown_kind_filter_is_a_400_not_an_empty_page(http: TestClient) -> None:
    resp = await http.get("/admin/accounts?kind=robot", headers=ADMIN)
    assert resp.status == 400
    assert (await resp.json())["error"]["param"] == "kind"
    assert (await http.get("/admin/accounts?kind=rest", headers=ADMIN)).status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/v1/videos?limit=%C2%B2",
        "/admin/accounts?limit=%C2%B2",
        "/admin/licences?limit=%C2%B2",
        "/admin/audit?after=%C2%B9",
        "/admin/tasks?limit=%C2%B2",
        "/admin/webhooks?limit=%C2%B2",
        "/admin/usage?limit=%C2%B2",
        "/v1/usage?limit=%C2%B2",
    ],
)
async def test_a_superscript_digit_is_a_400_not_a_500(http: TestClient, licence_key: str, path: str) -> None:
    # ``"²".isdigit()`` is true and ``int("²")`` raises: the page size check answered 500.
    headers = ADMIN if path.startswith("/admin") else {"Authorization": f"Bearer {licence_key}"}
    resp = await http.get(path, headers=headers)
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["error"]["param"] in ("limit", "after")


@pytest.mark.parametrize("role", [["user"], {"user": 1}])
async def test_a_message_role_that_is_not_a_string_is_a_400(
    http: TestClient, licence_key: str, role: object
) -> None:
    # A list was looked up in a frozenset of roles: TypeError, answered 500.
    body = {"model": "nano_banana", "messages": [{"role": role, "content": "a fox"}]}
    resp = await http.post(
        "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {licence_key}"}
    )
    assert resp.status == 400
    assert (await resp.json())["error"]["param"] == "messages[0]"


@pytest.mark.parametrize(("field", "value"), [("rpm", 10**20), ("daily_images", 2**63), ("weight", 1e300)])
async def test_numbers_past_what_the_store_keeps_are_a_400(
    client_with: ClientWith, tmp_path: Path, field: str, value: object
) -> None:
    # SQLite (the default store) refused an int past 2**63 with OverflowError: answered 500.
    env = {
        "GATEWAY_ADMIN_KEY_SHA256": hash_key(ADMIN_KEY),
        "GATEWAY_STORE_BACKEND": "sqlite",
        "GATEWAY_STORE_PATH": str(tmp_path / "gateway.db"),
    }
    http = await client_with(env=env, accounts=ONE)
    resp = await http.post(
        "/admin/accounts", json={"session_token": "st-ultra-2", field: value}, headers=ADMIN
    )
    assert resp.status == 400
    assert (await resp.json())["error"]["param"] == field
    existing = (await (await http.get("/admin/accounts", headers=ADMIN)).json())["data"][0]["id"]
    patch = await http.patch(f"/admin/accounts/{existing}", json={field: value}, headers=ADMIN)
    assert patch.status == 400
