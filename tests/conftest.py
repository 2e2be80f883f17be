"""Shared fixtures: a Flow simulator on a real port, and gateway settings pointing at it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.config import Settings, load_settings
from gateway.licensing import hash_key, new_licence_key
from gateway.simulator import SimAccount, Simulator, SimulatorConfig
from tests.support.redis_server import RedisServer, start_server
from tests.support.s3_server import s3_server  # noqa: F401 (a session fixture: one S3 for every test)

CAPTCHA_KEY = "test-captcha-key"
ServerFactory = Callable[..., Awaitable[TestServer]]


@dataclass
class SimHandle:
    """A running simulator: the object (faults, stats) and its base URL."""

    sim: Simulator
    url: str


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session (tests keep apart by key prefix); stopped at the end."""
    server = start_server(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sim_accounts() -> list[SimAccount]:
    return [
        SimAccount(
            session_token="st-ultra-1", email="ultra1@example.com", tier="PAYGATE_TIER_TWO", credits=1000
        ),
        SimAccount(
            session_token="st-ultra-2", email="ultra2@example.com", tier="PAYGATE_TIER_TWO", credits=1000
        ),
        SimAccount(session_token="st-pro-1", email="pro1@example.com", tier="PAYGATE_TIER_ONE", credits=1000),
    ]


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(image_scale=0.1, captcha_client_key=CAPTCHA_KEY, video_duration=1.0)


@pytest.fixture
async def simulator(
    aiohttp_server: ServerFactory, sim_accounts: list[SimAccount], sim_config: SimulatorConfig
) -> SimHandle:
    sim = Simulator(sim_config, accounts=sim_accounts)
    server = await aiohttp_server(sim.create_app())
    return SimHandle(sim, str(server.make_url("")).rstrip("/"))


@pytest.fixture
def licence_key() -> str:
    return new_licence_key()


@pytest.fixture
def accounts_toml(sim_accounts: list[SimAccount]) -> str:
    groups = {"PAYGATE_TIER_TWO": '["ultra"]', "PAYGATE_TIER_ONE": '["pro"]', "PAYGATE_TIER_NOT_PAID": "[]"}
    return "".join(
        f'[[accounts]]\nlabel = "{a.email.split("@")[0]}"\nsession_token = "{a.session_token}"\n'
        f"groups = {groups[a.tier]}\n\n"
        for a in sim_accounts
    )


@pytest.fixture
def settings_factory(
    simulator: SimHandle, tmp_path: Path, licence_key: str, accounts_toml: str
) -> Callable[..., Settings]:
    def make(env: dict[str, str] | None = None, accounts: str | None = None) -> Settings:
        text = (
            f'catalog_path = "{Path(__file__).parents[1] / "config" / "models.toml"}"\n'
            f'[logging]\nlevel = "warning"\n'
            f'[store]\nbackend = "memory"\n'
            f"[pool]\nwait_timeout = 5.0\n"
            f'[media]\nroot = "{tmp_path / "media"}"\nallow_private_urls = true\n'
            f'[flow]\nlabs_base_url = "{simulator.url}"\napi_base_url = "{simulator.url}"\n'
            f"request_timeout = 10.0\nimage_timeout = 10.0\ngeneration_timeout = 30.0\n"
            f'[captcha]\nbase_url = "{simulator.url}/captcha"\nclient_key = "{CAPTCHA_KEY}"\n'
            "poll_interval = 0.05\n"
            f'[[licences]]\nid = "lic-a"\nkey_sha256 = "{hash_key(licence_key)}"\n'
            f"{accounts_toml if accounts is None else accounts}"
        )
        path = tmp_path / "gateway.toml"
        path.write_text(text)
        return load_settings(path, environ=env or {})

    return make


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


@pytest.fixture
def app_factory(request: pytest.FixtureRequest) -> Iterator[Callable[[Settings], web.Application]]:
    """``create_app``; afterwards, every app it made must have seen only replies of the evidence's
    shapes (the drift canary counted nothing), unless the test is marked ``drift_expected``: the
    simulator is held to the captured shapes in every test, not only in its own."""
    from gateway import keys
    from gateway.app import create_app

    made: list[web.Application] = []

    def make(settings: Settings) -> web.Application:
        app = create_app(settings)
        made.append(app)
        return app

    yield make
    if request.node.get_closest_marker("drift_expected") is None:
        for app in made:
            assert app[keys.CANARY].report() == {}, "a reply departed from the evidence's shapes"


@pytest.fixture
def client_with(
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    settings_factory: Callable[..., Settings],
    app_factory: Callable[[Settings], web.Application],
) -> Callable[..., Awaitable[TestClient]]:
    """A test client of a gateway whose settings take these ``GATEWAY_*`` overrides (and accounts TOML)."""

    async def make(env: dict[str, str] | None = None, accounts: str | None = None) -> TestClient:
        return await aiohttp_client(app_factory(settings_factory(env, accounts)))

    return make
