"""``python -m gateway licences ...`` against a SQLite store that a running gateway also uses."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway import keys
from gateway.__main__ import main
from gateway.config import Settings
from gateway.licensing import hash_key

ROOT = Path(__file__).parents[2]


async def cli(config: Path, *args: str, store: Path) -> tuple[int, str, str]:
    """The real command, in its own process (it runs its own event loop, like an operator's shell)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "licences",
        "--config",
        str(config),
        *args,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "GATEWAY_STORE_BACKEND": "sqlite",
            "GATEWAY_STORE_PATH": str(store),
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_cli_licences_reach_a_running_gateway(
    settings_factory: Callable[..., Settings],
    app_factory: Callable[[Settings], web.Application],
    tmp_path: Path,
) -> None:
    store = tmp_path / "state.sqlite3"
    # a long poll interval: the test calls the sync itself, so nothing here waits on a timer
    env = {
        "GATEWAY_STORE_BACKEND": "sqlite",
        "GATEWAY_STORE_PATH": str(store),
        "GATEWAY_LICENSING_SYNC_INTERVAL": "3600",
    }
    config = tmp_path / "gateway.toml"  # written by settings_factory; the CLI gets the store from env
    gateway = TestClient(TestServer(app_factory(settings_factory(env, ""))))
    await gateway.start_server()
    registry, gateway_store = gateway.app[keys.LICENCES], gateway.app[keys.STORE]
    try:
        code, out, err = await cli(
            config,
            "create",
            "--name",
            "Team B",
            "--models",
            "nano_banana*,veo_3_1*",
            "--daily-credits",
            "500",
            "--webhook-url",
            "https://hooks.example.com/b",
            "--json",
            store=store,
        )
        assert code == 0, err
        created = orjson.loads(out)
        key = created["key"]
        assert created["models"] == ["nano_banana*", "veo_3_1*"]
        assert created["webhook_secret"].startswith("whsec_")
        auth = {"Authorization": f"Bearer {key}"}
        assert (await gateway.get("/v1/models", headers=auth)).status == 401  # not seen yet
        assert await registry.sync(gateway_store) is True  # what the revision poll does
        assert (await gateway.get("/v1/models", headers=auth)).status == 200

        code, out, err = await cli(config, "rotate", created["id"], "--grace", "0", store=store)
        assert code == 0, err
        new_key = next(line.split(": ")[1] for line in out.splitlines() if line.startswith("key "))
        await registry.sync(gateway_store)
        assert (await gateway.get("/v1/models", headers=auth)).status == 401
        assert (await gateway.get("/v1/models", headers={"Authorization": f"Bearer {new_key}"})).status == 200

        code, out, err = await cli(config, "revoke", created["id"], store=store)
        assert code == 0 and "revoked" in out, err
        await registry.sync(gateway_store)
        resp = await gateway.get("/v1/models", headers={"Authorization": f"Bearer {new_key}"})
        assert resp.status == 403 and (await resp.json())["error"]["code"] == "licence_revoked"
    finally:
        await gateway.close()
    code, out, _ = await cli(config, "list", store=store)
    assert code == 0 and "Team B" in out and "revoked" in out and key not in out and new_key not in out
    code, out, _ = await cli(config, "show", created["id"], store=store)
    assert orjson.loads(out)["status"] == "revoked" and hash_key(new_key) not in out
    code, _, err = await cli(config, "update", created["id"], "--rpm", "3", store=store)
    assert code == 2 and "revoked" in err
    code, _, err = await cli(config, "create", "--name", "x", "--rpm", "-1", store=store)
    assert code == 2 and "(rpm)" in err


def test_licence_new_still_prints_a_config_entry(capsys: object) -> None:
    assert main(["licence", "new", "--id", "alice"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "[[licences]]" in out and 'id = "alice"' in out and "key_sha256" in out


def test_memory_store_is_refused(tmp_path: Path, capsys: object) -> None:
    config = tmp_path / "g.toml"
    config.write_text('[store]\nbackend = "memory"\n')
    assert main(["licences", "--config", str(config), "list"]) == 2
    assert "admin API" in capsys.readouterr().err  # type: ignore[attr-defined]
