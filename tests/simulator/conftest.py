"""A simulator with an Ultra and a Pro account on a fake clock, a test client, and an Ultra tab."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.simulator import SimAccount, Simulator, SimulatorConfig
from tests.simulator.batch_support import DURATION, Clock, Tab, open_tab

KEY = "k"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> Simulator:
    return Simulator(
        SimulatorConfig(image_scale=0.05, captcha_client_key=KEY, video_duration=DURATION),
        accounts=[
            SimAccount("st-u", "u@x", "PAYGATE_TIER_TWO", 100),
            SimAccount("st-p", "p@x", "PAYGATE_TIER_ONE", 15),
        ],
        clock=clock,
    )


@pytest.fixture
async def client(aiohttp_client: Callable[..., Any], sim: Simulator) -> TestClient:
    return await aiohttp_client(sim.create_app())  # type: ignore[no-any-return]


@pytest.fixture
async def tab(client: TestClient, sim: Simulator, clock: Clock) -> Tab:
    """The Ultra account's flow.google.com tab."""
    return await open_tab(client, sim, "st-u", clock)
