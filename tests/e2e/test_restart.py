"""A restart keeps account states: a cooldown set before it still holds after it (SQLite store)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway import keys
from gateway.config import Settings
from tests.conftest import SimHandle


async def test_cooldown_survives_a_restart(
    settings_factory: Callable[..., Settings],
    app_factory: Callable[[Settings], web.Application],
    tmp_path: Path,
    licence_key: str,
    simulator: SimHandle,
) -> None:
    env = {
        "GATEWAY_STORE_BACKEND": "sqlite",
        "GATEWAY_STORE_PATH": str(tmp_path / "state.sqlite3"),
        "GATEWAY_POOL_WAIT_TIMEOUT": "0.3",
    }
    accounts = '[[accounts]]\nlabel = "only"\nsession_token = "st-ultra-1"\n'
    auth = {"Authorization": f"Bearer {licence_key}"}
    simulator.sim.faults.add(route="images.generate", kind="rate_limited", count=1, retry_after=300)

    first = TestClient(TestServer(app_factory(settings_factory(env, accounts))))
    await first.start_server()
    resp = await first.post(
        "/v1/images/generations", json={"model": "nano_banana", "prompt": "x"}, headers=auth
    )
    assert resp.status == 429
    await first.close()  # shutdown flushes the account states

    second = TestClient(TestServer(app_factory(settings_factory(env, accounts))))
    await second.start_server()
    try:
        (view,) = second.app[keys.POOL].table.snapshot()
        assert (view.state, view.tier) == ("cooling_down", "ultra")
        assert view.cooldown_until > 0
        resp = await second.post(
            "/v1/images/generations", json={"model": "nano_banana", "prompt": "x"}, headers=auth
        )
        assert resp.status == 429  # still cooling: no second upstream call
        assert simulator.sim.stats.calls("images.generate") == 1
    finally:
        await second.close()
