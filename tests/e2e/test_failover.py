"""Outcomes end to end: the simulator fails one account, the client still gets its image from another
(or the right error when none is left), and each account is judged by the retry table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from gateway import keys
from tests.conftest import SimHandle

ClientWith = Callable[..., Awaitable[TestClient]]
TWO = "".join(
    f'[[accounts]]\nlabel = "{label}"\nsession_token = "{token}"\n\n'
    for label, token in (("a", "st-ultra-1"), ("b", "st-ultra-2"))
)
A, B = "ultra1@example.com", "ultra2@example.com"
BODY = {"model": "nano_banana", "prompt": "a lighthouse"}


@pytest.fixture
async def http(client_with: ClientWith) -> TestClient:
    return await client_with(accounts=TWO)


@pytest.fixture
def auth(licence_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {licence_key}"}


def state_of(http: TestClient, label: str) -> str:
    return next(v.state for v in http.app[keys.POOL].table.snapshot() if v.label == label)


def usage_of(http: TestClient, label: str) -> dict[str, object]:
    return next(v.usage for v in http.app[keys.POOL].table.snapshot() if v.label == label)


async def test_a_rejected_session_moves_to_another_account_then_needs_relogin(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    simulator.sim.faults.add(route="images.generate", kind="unauthenticated", count=10, account="st-ultra-1")
    for _ in range(4):
        resp = await http.post("/v1/images/generations", json=BODY, headers=auth)
        assert resp.status == 200
    stats = simulator.sim.stats
    assert stats.calls("images.generate", account=A) == 2  # refreshed once, then judged
    assert state_of(http, "a") == "needs_relogin"
    assert usage_of(http, "a")["last_error"] == "UpstreamAuthError"
    assert stats.calls("images.generate", account=B) == 4


async def test_recaptcha_refusals_cost_the_account_nothing(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    simulator.sim.faults.add(route="images.generate", kind="recaptcha", count=1)
    resp = await http.post("/v1/images/generations", json=BODY, headers=auth)
    assert resp.status == 200
    assert {state_of(http, "a"), state_of(http, "b")} == {"active"}
    refusals = [usage_of(http, label)["captcha_refusals"] for label in ("a", "b")]
    assert sorted(refusals) == [0, 1]
    metrics = await (await http.get("/metrics")).text()
    assert 'gateway_captcha_refusals_total{source="solver"} 1.0' in metrics


async def test_content_refusals_are_not_retried_and_cost_nothing(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    simulator.sim.faults.add(route="images.generate", kind="unsafe", count=5)
    resp = await http.post("/v1/images/generations", json=BODY, headers=auth)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert (error["code"], error["param"]) == ("moderation_blocked", "prompt")
    assert resp.headers["x-should-retry"] == "false"
    assert simulator.sim.stats.calls("images.generate") == 1
    assert {state_of(http, "a"), state_of(http, "b")} == {"active"}


async def test_spent_credits_move_to_another_account(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    simulator.sim.faults.add(route="images.generate", kind="quota", count=1, account="st-ultra-1")
    simulator.sim.faults.add(route="images.generate", kind="quota", count=1, account="st-ultra-2")
    resp = await http.post("/v1/images/generations", json=BODY, headers=auth)
    assert resp.status == 429
    assert (await resp.json())["error"]["code"] == "insufficient_quota"
    assert resp.headers["x-should-retry"] == "false"
    assert {state_of(http, "a"), state_of(http, "b")} == {"out_of_credits"}


async def test_one_out_of_credits_the_other_serves(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    simulator.sim.faults.add(route="images.generate", kind="quota", count=1, account="st-ultra-1")
    for _ in range(3):
        assert (await http.post("/v1/images/generations", json=BODY, headers=auth)).status == 200
    assert state_of(http, "a") == "out_of_credits"
    assert simulator.sim.stats.calls("images.generate", account=B) == 3


async def test_no_working_session_left_is_a_503(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    simulator.sim.faults.add(route="images.generate", kind="unauthenticated", count=10)
    resp = await http.post("/v1/images/generations", json=BODY, headers=auth)
    assert resp.status == 503
    assert (await resp.json())["error"]["code"] == "no_usable_accounts"
    assert "retry-after" in resp.headers
    assert simulator.sim.stats.calls("images.generate") == 2  # one attempt on each, no storm


async def test_5xx_is_retried_a_bounded_number_of_times(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    simulator.sim.faults.add(route="images.generate", kind="internal", count=10)
    resp = await http.post("/v1/images/generations", json=BODY, headers=auth)
    # Both accounts failed in a row: an upstream incident (503, with when to come back), not two
    # bad accounts; never the same account twice, and nothing spent once every account failed.
    assert resp.status == 503 and (await resp.json())["error"]["code"] == "upstream_incident"
    assert simulator.sim.stats.calls("images.generate") == 2
    metrics = await (await http.get("/metrics")).text()
    assert 'gateway_pool_outcomes_total{outcome="transient"} 2.0' in metrics
