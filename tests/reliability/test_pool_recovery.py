"""A burst of 5xx across the whole pool is an upstream incident, not a verdict on accounts. No account
may end ``disabled`` (an administrator's state), the gateway stays ready, and once Flow recovers
requests succeed again without anyone touching the admin API. (Until e9a463a, five failures in a
row disabled an account for good.)"""

from __future__ import annotations

import asyncio
import secrets

from aiohttp.test_utils import TestClient

from gateway.config import environment_names
from gateway.licensing import hash_key
from tests.conftest import SimHandle
from tests.reliability.support import IMAGE, THREE, ClientWith, eventually

ADMIN_KEY = "sk-admin-" + secrets.token_urlsafe(16)
# Shorter backoffs where the gateway has the knobs (the defaults are minutes; the test would wait).
SHORT_BACKOFF = {"GATEWAY_POOL_TRANSIENT_COOLDOWN": "0.2", "GATEWAY_POOL_MAX_TRANSIENT_COOLDOWN": "1.0"}


def env() -> dict[str, str]:
    known = environment_names()
    return {
        "GATEWAY_ADMIN_KEY_SHA256": hash_key(ADMIN_KEY),
        **{name: value for name, value in SHORT_BACKOFF.items() if name in known},
    }


async def admin_states(http: TestClient) -> dict[str, str]:
    """Each account's state as the admin API shows it."""
    resp = await http.get("/admin/accounts", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert resp.status == 200, await resp.text()
    return {a["label"]: a["state"] for a in (await resp.json())["data"]}


async def burst(http: TestClient, auth: dict[str, str], n: int) -> list[int]:
    responses = await asyncio.gather(
        *(http.post("/v1/images/generations", json=IMAGE, headers=auth) for _ in range(n))
    )
    return [r.status for r in responses]


async def test_a_5xx_burst_disables_no_account_and_the_pool_recovers_by_itself(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str]
) -> None:
    http = await client_with(env=env(), accounts=THREE)
    simulator.sim.faults.add(route="images.generate", kind="internal", rate=1.0)
    for _ in range(3):
        statuses = await burst(http, auth, 10)
        assert 200 not in statuses and 500 not in statuses, statuses
    assert simulator.sim.stats.calls("images.generate") >= 6  # every account failed, more than once
    states = await admin_states(http)
    assert "disabled" not in states.values(), states
    ready = await http.get("/readyz")
    assert ready.status == 200, await ready.text()

    simulator.sim.faults.clear()  # Flow recovers

    async def serves() -> bool:
        resp = await http.post("/v1/images/generations", json=IMAGE, headers=auth)
        return resp.status == 200

    await eventually(serves, within=40, what="a request to succeed after the recovery")
    assert await burst(http, auth, 6) == [200] * 6
    assert "disabled" not in (await admin_states(http)).values()
