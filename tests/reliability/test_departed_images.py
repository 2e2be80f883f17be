"""Scenario 6: a synchronous image generation the client left, with the gateway served as in
production (aiohttp does not cancel the handler there). Without an ``Idempotency-Key`` nobody can
ever receive its result, so its upstream call is cancelled within 1 s, nothing is retried, and one
line says the client left (with a key the image is kept instead: ``tests/e2e/test_nobody.py``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from structlog.testing import capture_logs

from tests.conftest import SimHandle
from tests.reliability.support import EMAILS, IMAGE, THREE, Leaks, Served, eventually
from tests.reliability.test_disconnects import gateway_lines, left_lines, sim_config  # noqa: F401 - fixture


async def test_leaving_a_synchronous_image_generation_cancels_its_upstream_call(
    served: Any, simulator: SimHandle, auth: dict[str, str]
) -> None:
    # The call's own timeout (2 s) ends the hung call whatever happens, so the test stops promptly.
    gateway: Served = await served(env={"GATEWAY_FLOW_IMAGE_TIMEOUT": "2"}, accounts=THREE)
    assert (await gateway.http.post("/v1/images/generations", json=IMAGE, headers=auth)).status == 200
    simulator.sim.faults.add(route="images.generate", kind="hang", count=1)
    leaks = Leaks()
    with capture_logs() as logs:
        async with aiohttp.ClientSession(gateway.url) as leaving:
            pending = asyncio.ensure_future(leaving.post("/v1/images/generations", json=IMAGE, headers=auth))
            await eventually(
                lambda: sum(simulator.sim.stats.inflight(e) for e in EMAILS.values()) == 1,
                what="the upstream call",
            )
            pending.cancel()  # the client gives up and closes its connection
        await eventually(
            lambda: [r.status for r in simulator.sim.stats.recent("images.generate")][-1:] == [499],
            within=1.0,
            what="the upstream call to be cancelled",
        )
        await leaks.assert_none()
    assert len(left_lines(logs)) == 1, gateway_lines(logs)
    assert simulator.sim.stats.calls("images.generate") == 2  # the warm-up, the cancelled one: no retry
