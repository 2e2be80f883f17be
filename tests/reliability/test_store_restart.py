"""What a gateway restarted on the same SQLite store must still do (both fixed in 1171e1b).

- Flow no longer knows the project the store remembers for an account (here: the simulator was
  replaced by a fresh one, as when a project is deleted upstream): the gateway forgets it, creates
  a new one, and still generates.
- Signed media URLs handed out before the restart still open after it, with no ``[media]
  signing_key`` configured (the key must outlive the process, e.g. kept in the store).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yarl
from aiohttp.test_utils import TestServer

from gateway.simulator import SimAccount, Simulator, SimulatorConfig
from tests.conftest import SimHandle
from tests.reliability.support import IMAGE, THREE, Served, openai_error

ServerFactory = Callable[..., Awaitable[TestServer]]


def sqlite(tmp_path: Path) -> dict[str, str]:
    return {"GATEWAY_STORE_BACKEND": "sqlite", "GATEWAY_STORE_PATH": str(tmp_path / "state.db")}


def pointing_at(url: str) -> dict[str, str]:
    """Settings overrides that send every upstream call to the simulator at ``url``."""
    return {
        "GATEWAY_FLOW_LABS_BASE_URL": url,
        "GATEWAY_FLOW_API_BASE_URL": url,
        "GATEWAY_CAPTCHA_BASE_URL": f"{url}/captcha",
    }


async def test_a_project_flow_no_longer_knows_is_replaced(
    served: Any,
    aiohttp_server: ServerFactory,
    simulator: SimHandle,
    sim_accounts: list[SimAccount],
    sim_config: SimulatorConfig,
    auth: dict[str, str],
    tmp_path: Path,
) -> None:
    first: Served = await served(env=sqlite(tmp_path), accounts=THREE)
    for _ in range(3):  # every account gets (and the store keeps) a project
        assert (await first.http.post("/v1/images/generations", json=IMAGE, headers=auth)).status == 200
    assert simulator.sim.stats.calls("project.create") >= 1
    await first.close()

    fresh = Simulator(sim_config, accounts=sim_accounts)  # knows the accounts, not their projects
    url = str((await aiohttp_server(fresh.create_app())).make_url("")).rstrip("/")
    second: Served = await served(env={**sqlite(tmp_path), **pointing_at(url)}, accounts=THREE)
    resp = await second.http.post("/v1/images/generations", json=IMAGE, headers=auth)
    if resp.status != 200:
        error = await openai_error(resp, resp.status)
        raise AssertionError(f"{resp.status} {error}; fresh simulator saw {fresh.stats.snapshot()['calls']}")
    assert fresh.stats.calls("project.create") >= 1  # a new project, made on demand


async def test_signed_urls_outlive_a_restart(served: Any, auth: dict[str, str], tmp_path: Path) -> None:
    first: Served = await served(env=sqlite(tmp_path), accounts=THREE)
    resp = await first.http.post(
        "/v1/images/generations", json={**IMAGE, "response_format": "url"}, headers=auth
    )
    assert resp.status == 200, await resp.text()
    url = yarl.URL((await resp.json())["data"][0]["url"])
    before = await first.http.get(url.path_qs)  # signed: no licence
    assert before.status == 200
    image = await before.read()
    await first.close()

    second: Served = await served(env=sqlite(tmp_path), accounts=THREE)
    after = await second.http.get(url.path_qs)
    assert after.status == 200, await after.text()
    assert await after.read() == image
