"""Fixtures of the reliability scenarios, on top of the shared ones (``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from gateway.config import Settings
from gateway.simulator import SimulatorConfig
from tests.conftest import CAPTCHA_KEY
from tests.reliability.support import Served


@pytest.fixture
def sim_config() -> SimulatorConfig:
    """Small images, videos that take 0.3 s, and seeded fault dice."""
    return SimulatorConfig(image_scale=0.1, captcha_client_key=CAPTCHA_KEY, video_duration=0.3, seed=1)


@pytest.fixture
def auth(licence_key: str) -> dict[str, str]:
    """The licence header."""
    return {"Authorization": f"Bearer {licence_key}"}


@pytest.fixture
async def served(
    settings_factory: Callable[..., Settings], app_factory: Callable[[Settings], web.Application]
) -> AsyncIterator[Callable[..., Awaitable[Served]]]:
    """Start gateways as production serves them (``Served``); each is stopped at the end."""
    started: list[Served] = []

    async def serve(env: dict[str, str] | None = None, accounts: str | None = None) -> Served:
        gateway = await Served(app_factory(settings_factory(env, accounts))).start()
        started.append(gateway)
        return gateway

    yield serve
    for gateway in reversed(started):
        await gateway.close()
