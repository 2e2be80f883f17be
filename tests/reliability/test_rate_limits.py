"""Scenarios 1 and 2: a 429 on one account moves the request to another; every account rate limited
or out of credits gives the client a 429 it can act on."""

from __future__ import annotations

import time

from tests.conftest import SimHandle
from tests.reliability.support import IMAGE, THREE, TWO, ClientWith, openai_error, views


async def test_a_429_with_retry_after_is_retried_on_another_account(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str]
) -> None:
    http = await client_with(accounts=TWO)
    simulator.sim.faults.add(route="images.generate", kind="rate_limited", count=1, retry_after=20)
    resp = await http.post("/v1/images/generations", json=IMAGE, headers=auth)
    assert resp.status == 200, await resp.text()
    first, second = simulator.sim.stats.recent("images.generate")
    assert (first.status, second.status) == (429, 200)
    assert first.account != second.account  # retried on another account, not the same one
    label = {"ultra1@example.com": "a", "ultra2@example.com": "b"}[str(first.account)]
    cooled = views(http)[label]
    assert cooled.state == "cooling_down"
    assert 18 <= cooled.cooldown_until - time.time() <= 20.5  # Flow's Retry-After, not a default
    assert views(http)[{"a": "b", "b": "a"}[label]].state == "active"


async def test_every_account_rate_limited_is_a_429_with_retry_after(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str]
) -> None:
    http = await client_with(accounts=TWO)
    simulator.sim.faults.add(route="images.generate", kind="rate_limited", count=10, retry_after=20)
    resp = await http.post("/v1/images/generations", json=IMAGE, headers=auth)
    error = await openai_error(resp, 429)
    assert (error["type"], error["code"]) == ("requests", "rate_limit_exceeded")
    assert 1 <= int(resp.headers["Retry-After"]) <= 21
    assert int(resp.headers["retry-after-ms"]) >= 1000
    assert simulator.sim.stats.calls("images.generate") == 2  # one per account, then no storm
    again = await http.post("/v1/images/generations", json=IMAGE, headers=auth)
    await openai_error(again, 429)
    assert 1 <= int(again.headers["Retry-After"]) <= 21  # the soonest account to recover
    assert simulator.sim.stats.calls("images.generate") == 2  # known cooling: no upstream call at all


async def test_spent_credits_everywhere_is_insufficient_quota(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str]
) -> None:
    http = await client_with(accounts=THREE)
    simulator.sim.faults.add(route="images.generate", kind="quota", count=10)
    resp = await http.post("/v1/images/generations", json=IMAGE, headers=auth)
    error = await openai_error(resp, 429)
    assert (error["type"], error["code"]) == ("insufficient_quota", "insufficient_quota")
    assert resp.headers["x-should-retry"] == "false"
    assert "retry-after" not in resp.headers
    assert simulator.sim.stats.calls("images.generate") == 3  # each account told once
    assert {v.state for v in views(http).values()} == {"out_of_credits"}
