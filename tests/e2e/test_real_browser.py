"""A real Chromium (Debian's, headless) runs the reference Playwright worker against the simulator's
flow.google.com page; an image is generated through the gateway over batchexecute with a token the
page's grecaptcha minted. Skipped only outside CI when the browser or Playwright is missing."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import openai
import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import SimHandle

ROOT = Path(__file__).parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SECRET = "real-browser-secret"
ClientWith = Callable[..., Awaitable[TestClient]]


def _require_browser() -> None:
    missing = not Path(CHROMIUM).exists()
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing = True
    if missing:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium and Playwright (.ci/run installs them)")
        pytest.skip("Chromium or Playwright is not installed")


@pytest.fixture
async def gateway(client_with: ClientWith) -> TestClient:
    return await client_with({"GATEWAY_WORKERS_SECRET": SECRET}, accounts="")


@pytest.fixture
async def worker(gateway: TestClient, simulator: SimHandle, tmp_path: Path) -> AsyncIterator[None]:
    _require_browser()
    cookies = tmp_path / "cookies.json"
    cookies.write_text(json.dumps([{"name": "SID", "value": "st-ultra-1", "url": simulator.url}]))
    ws_url = str(gateway.make_url("/flow/v1/flow-worker")).replace("http", "ws", 1)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "workers" / "playwright" / "flow_worker.py"),
        "--gateway",
        ws_url,
        "--secret",
        SECRET,
        "--profile",
        str(tmp_path / "profile"),
        "--account",
        "acct-real",
        "--project",
        simulator.sim.project_of("st-ultra-1"),
        "--tier",
        "ultra",
        "--flow-origin",
        simulator.url,
        "--chromium",
        CHROMIUM,
        "--cookies",
        str(cookies),
        "--no-sandbox",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(60):
            while (await (await gateway.get("/readyz")).json())["accounts_serving"] < 1:
                assert proc.returncode is None, "the worker exited"
                await asyncio.sleep(0.2)
        yield
    finally:
        proc.terminate()
        await proc.wait()


async def test_chromium_worker_serves_images(
    worker: None, gateway: TestClient, licence_key: str, simulator: SimHandle
) -> None:
    async with openai.AsyncOpenAI(
        base_url=str(gateway.make_url("/flow/v1")), api_key=licence_key, max_retries=0
    ) as sdk:
        result = await sdk.images.generate(model="nano_banana_pro-2K-landscape", prompt="a fox in snow")
    assert result.data is not None and result.data[0].b64_json
    stats = simulator.sim.stats
    assert stats.calls("batch.ogiZ0b", account="ultra1@example.com", with_token=True) == 1
    assert stats.calls("batch.SPrCad", with_token=True) == 1
    assert (
        stats.calls("recaptcha.mint", account="ultra1@example.com") == 2
    )  # minted in the page, one per call


async def test_reference_extension_loads_in_chromium(tmp_path: Path) -> None:
    """The MV3 extension's manifest is accepted and its service worker starts (a broken one never does)."""
    _require_browser()
    from playwright.async_api import async_playwright

    extension = str(ROOT / "workers" / "extension")
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            headless=True,
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--headless=new",
                f"--disable-extensions-except={extension}",
                f"--load-extension={extension}",
            ],
        )
        try:
            worker = (
                context.service_workers[0]
                if context.service_workers
                else (await context.wait_for_event("serviceworker", timeout=20_000))
            )
            assert worker.url.endswith("/background.js")
        finally:
            await context.close()
