"""Worker enrolment: one token per browser worker (shown once, kept hashed, listed, revocable),
presented where the shared secret was; the shared secret keeps working as a fallback."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from gateway.errors import InvalidRequestError, NotFoundError
from gateway.service.audit import AuditTrail
from gateway.service.worker_enrolment import INDEX, TOKEN_PREFIX, WorkerEnrolments
from gateway.store.memory import MemoryStore
from tests.conftest import SimHandle
from tests.console.conftest import ADMIN_KEY, ConsoleClient
from tests.reliability.support import eventually
from tests.support.scripted_worker import ScriptedWorker, WorkerAccount

BEARER = {"Authorization": f"Bearer {ADMIN_KEY}"}
SECRET = "shared-worker-secret"


def enrolments() -> tuple[WorkerEnrolments, MemoryStore]:
    store = MemoryStore()
    return WorkerEnrolments(store, audit=AuditTrail(store, actor="admin-api")), store


async def test_a_token_is_shown_once_and_kept_only_as_a_hash() -> None:
    service, store = enrolments()
    enrolment, token = await service.create("  kitchen laptop ")
    assert token.startswith(TOKEN_PREFIX) and len(token) >= 40
    assert enrolment.name == "kitchen laptop" and enrolment.token_hint == f"…{token[-4:]}"
    assert await service.verify(token) == enrolment
    index = await store.get_secret(INDEX)
    assert index is not None and token not in index and enrolment.token_sha256 in index
    audit = await store.list_audit()
    assert [e.action for e in audit] == ["worker.enrol"]
    assert token not in json.dumps([e.after for e in audit]) and enrolment.token_sha256 not in str(audit)


async def test_wrong_tokens_and_the_shared_secret_are_not_enrolments() -> None:
    service, _ = enrolments()
    _, token = await service.create("w1")
    for wrong in ("", token[:-1] + "x", token + "x", "not-a-token", TOKEN_PREFIX + "x" * 500):
        assert await service.verify(wrong) is None


async def test_revoking_refuses_the_token_and_closes_its_sockets() -> None:
    service, store = enrolments()
    first, first_token = await service.create("w1")
    second, second_token = await service.create("w2")
    closed: list[str] = []

    async def close() -> None:
        closed.append("first")

    with service.attached(first.id, close):
        assert service.connected(first.id) == 1 and service.connected(second.id) == 0
        revoked = await service.revoke(first.id)
        assert closed == ["first"]
    assert revoked.revoked_at > 0
    assert await service.verify(first_token) is None
    assert await service.verify(second_token) == second  # the others keep working
    assert [e.id for e in await service.entries()] == [first.id, second.id]  # listed, as revoked
    assert (await service.revoke(first.id)).revoked_at == revoked.revoked_at  # idempotent
    assert [e.action for e in await store.list_audit()] == ["worker.enrol", "worker.enrol", "worker.revoke"]
    with pytest.raises(NotFoundError):
        await service.revoke("enr_unknown")


async def test_a_name_is_required() -> None:
    service, _ = enrolments()
    for bad in ("", "   ", "x" * 101, "tab\there"):
        with pytest.raises(InvalidRequestError):
            await service.create(bad)


async def test_enrolments_survive_a_restart_of_the_service() -> None:
    service, store = enrolments()
    enrolment, token = await service.create("w1")
    again = WorkerEnrolments(store, audit=AuditTrail(store, actor="admin-api"))
    assert await again.verify(token) == enrolment and await again.entries() == [enrolment]


def socket_url(gateway: TestClient, key: str) -> str:
    return str(gateway.make_url("/flow/v1/flow-worker")).replace("http", "ws", 1) + f"?key={key}"


async def enrol(gateway: TestClient, name: str) -> dict[str, str]:
    resp = await gateway.post("/admin/workers/enrolments", json={"name": name}, headers=BEARER)
    assert resp.status == 201
    doc: dict[str, str] = await resp.json()
    return doc


async def refused_with(url: str) -> int:
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await http.ws_connect(url)
    return info.value.status


async def test_an_enrolled_worker_serves_until_it_is_revoked(
    console_client: ConsoleClient, simulator: SimHandle
) -> None:
    gateway = await console_client({"GATEWAY_WORKERS_DEFAULT_TIER": "ultra"}, accounts="")
    assert await refused_with(socket_url(gateway, "anything")) == 404  # no secret, nobody enrolled
    enrolled = await enrol(gateway, "laptop")
    assert enrolled["token"].startswith(TOKEN_PREFIX)
    assert await refused_with(socket_url(gateway, "fwe_wrong")) == 401
    account = WorkerAccount("acct-e", "st-ultra-1", simulator.sim.project_of("st-ultra-1"))
    worker = ScriptedWorker(socket_url(gateway, enrolled["token"]), simulator.url, [account])
    await worker.start()
    try:
        assert worker.ack["accepted"] == ["acct-e"]
        spare = await enrol(gateway, "spare")  # keeps the socket open to enrolled workers
        listing = await (await gateway.get("/admin/workers/enrolments", headers=BEARER)).json()
        assert [e["id"] for e in listing["data"]] == [enrolled["id"], spare["id"]]
        assert listing["data"][0] == {**{k: v for k, v in enrolled.items() if k != "token"}, "connected": 1}
        assert enrolled["token"] not in json.dumps(listing) and spare["token"] not in json.dumps(listing)
        revoked = await gateway.delete(f"/admin/workers/enrolments/{enrolled['id']}", headers=BEARER)
        assert revoked.status == 200 and (await revoked.json())["revoked_at"]

        async def disconnected() -> bool:  # the revocation closed the worker's socket
            return not (await (await gateway.get("/admin/workers", headers=BEARER)).json())["data"]

        await eventually(disconnected, what="the revoked worker disconnected")
        assert await refused_with(socket_url(gateway, enrolled["token"])) == 401
    finally:
        await worker.stop()
    audit = await (await gateway.get("/admin/audit?target=" + enrolled["id"], headers=BEARER)).json()
    assert [e["action"] for e in audit["data"]] == ["worker.enrol", "worker.revoke"]


async def test_the_shared_secret_keeps_working_beside_enrolments(
    console_client: ConsoleClient, simulator: SimHandle
) -> None:
    gateway = await console_client({"GATEWAY_WORKERS_SECRET": SECRET}, accounts="")
    await enrol(gateway, "laptop")
    account = WorkerAccount("acct-s", "st-ultra-1", simulator.sim.project_of("st-ultra-1"))
    worker = ScriptedWorker(socket_url(gateway, SECRET), simulator.url, [account])
    await worker.start()
    await worker.stop()
    assert worker.ack["accepted"] == ["acct-s"]
    assert await refused_with(socket_url(gateway, "wrong")) == 401


async def test_enrolling_needs_a_name(http: TestClient) -> None:
    for body in ({}, {"name": ""}, {"name": 3}, ["x"]):
        resp = await http.post("/admin/workers/enrolments", json=body, headers=BEARER)
        assert resp.status == 400, body
    assert (await http.delete("/admin/workers/enrolments/enr_nope", headers=BEARER)).status == 404
