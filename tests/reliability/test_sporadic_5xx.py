"""Sporadic 5xx are not an upstream incident. One-off 500s on different accounts, each of
which a retry on a healthy account absorbs, must not make the gateway answer 503
``upstream_incident`` while healthy accounts serve. (The soak shows the same at a 2 % error rate:
the pool backs off for seconds at a time although Flow answers 98 % of calls.)"""

from __future__ import annotations

from tests.conftest import SimHandle
from tests.reliability.support import IMAGE, THREE, ClientWith, openai_error


async def test_one_off_5xx_on_two_accounts_are_absorbed_by_retries(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str]
) -> None:
    http = await client_with(accounts=THREE)
    for _ in range(3):
        simulator.sim.faults.add(route="images.generate", kind="internal", count=1)  # the next call only
        resp = await http.post("/v1/images/generations", json=IMAGE, headers=auth)
        if resp.status != 200:
            calls = [(r.account, r.status) for r in simulator.sim.stats.recent("images.generate")]
            raise AssertionError(f"{resp.status} {await openai_error(resp, resp.status)}; calls {calls}")
