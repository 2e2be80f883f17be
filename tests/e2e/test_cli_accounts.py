"""``python -m gateway accounts ...`` against a SQLite store, and a running gateway seeing the change."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway import keys
from gateway.__main__ import main
from gateway.config import Settings
from gateway.pool.account import account_id_for
from tests.conftest import SimHandle

ROOT = Path(__file__).parents[2]


async def cli(config: Path, *args: str, store: Path, stdin: bytes = b"") -> tuple[int, str, str]:
    """The real command, in its own process (it runs its own event loop)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "accounts",
        "--config",
        str(config),
        *args,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "GATEWAY_STORE_BACKEND": "sqlite",
            "GATEWAY_STORE_PATH": str(store),
        },
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(stdin)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_cli_changes_reach_a_running_gateway(
    settings_factory: Callable[..., Settings],
    app_factory: Callable[[Settings], web.Application],
    tmp_path: Path,
    licence_key: str,
    simulator: SimHandle,
) -> None:
    env = {
        "GATEWAY_STORE_BACKEND": "sqlite",
        "GATEWAY_STORE_PATH": str(tmp_path / "state.sqlite3"),
        "GATEWAY_POOL_SYNC_INTERVAL": "0.1",
    }
    store = tmp_path / "state.sqlite3"
    config = tmp_path / "gateway.toml"  # written by settings_factory; the CLI gets the store from env
    gateway = TestClient(TestServer(app_factory(settings_factory(env, ""))))
    await gateway.start_server()
    try:
        code, out, err = await cli(
            config, "add", "--session-token", "-", "--label", "cli", store=store, stdin=b"st-ultra-1\n"
        )
        assert code == 0, err
        assert "st-ultra-1" not in out  # the secret is never printed
        account_id = account_id_for("st-ultra-1")
        for _ in range(100):
            view = gateway.app[keys.POOL].table.view(account_id)
            if view is not None and view.state == "active":
                break
            await asyncio.sleep(0.05)
        assert view is not None and view.state == "active", view
        auth = {"Authorization": f"Bearer {licence_key}"}
        body = {"model": "nano_banana", "prompt": "x"}
        assert (await gateway.post("/v1/images/generations", json=body, headers=auth)).status == 200
        code, _, err = await cli(config, "disable", account_id, store=store)
        assert code == 0, err
        for _ in range(100):
            if gateway.app[keys.POOL].table.view(account_id).state == "disabled":  # type: ignore[union-attr]
                break
            await asyncio.sleep(0.05)
        assert (await gateway.post("/v1/images/generations", json=body, headers=auth)).status == 503
    finally:
        await gateway.close()
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("# two more\nst-ultra-2\nst-pro-1\nst-ultra-2\n")
    code, out, _ = await cli(config, "import", str(tokens), "--groups", "bulk", store=store)
    assert (code, out.strip()) == (0, "added 2, skipped 1 already known")
    code, out, _ = await cli(config, "list", store=store)
    assert out.count("\n") == 3 and "groups=bulk" in out and "disabled" in out
    code, _, err = await cli(config, "remove", "acc_doesnotexist", store=store)
    assert code == 2 and "no account" in err


def test_memory_store_is_refused(tmp_path: Path, capsys: object) -> None:
    config = tmp_path / "g.toml"
    config.write_text('[store]\nbackend = "memory"\n')
    assert main(["accounts", "--config", str(config), "list"]) == 2
    assert "admin API" in capsys.readouterr().err  # type: ignore[attr-defined]


def test_admin_key_prints_key_and_hash(capsys: object) -> None:
    assert main(["admin", "key"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "sk-admin-" in out and "key_sha256" in out
