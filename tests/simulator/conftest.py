"""A simulator with an Ultra and a Pro account, and a test client for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.simulator import SimAccount, Simulator, SimulatorConfig

KEY = "k"


@pytest.fixture
def sim() -> Simulator:
    return Simulator(
        SimulatorConfig(image_scale=0.05, captcha_client_key=KEY, video_duration=0.3),
        accounts=[
            SimAccount("st-u", "u@x", "PAYGATE_TIER_TWO", 100),
            SimAccount("st-p", "p@x", "PAYGATE_TIER_ONE", 15),
        ],
    )


@pytest.fixture
async def client(aiohttp_client: Callable[..., Any], sim: Simulator) -> TestClient:
    return await aiohttp_client(sim.create_app())  # type: ignore[no-any-return]
