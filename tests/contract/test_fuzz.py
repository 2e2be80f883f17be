"""A property-based fuzz run (schemathesis) of every operation ``/openapi.json`` documents, against a
gateway with the simulator behind it: no 5xx, no hang, every answer as documented for its status,
every error in its dialect's shape (Google's on Google's paths, OpenAI's elsewhere).

Each handler is fuzzed in full at one of its paths (the shortest); the same handler at its other
paths (``/flow/v1`` for ``/v1``, Google's five prefixes, Vertex AI's ``projects/...`` form) gets one
positive example each: routing, credentials and the dialect of errors are what differ there. The
gateway runs on SQLite (the default store), and nothing it is asked to fetch leaves the machine.
``FUZZ_EXAMPLES=25`` explores further (about two and a half minutes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from gateway.config import Settings
from gateway.gemini.dialect import is_google_path
from gateway.licensing import hash_key
from tests.conftest import ServerFactory
from tests.contract.fuzzing import BUILT_IN, EXAMPLES, Plan, Target, fuzz
from tests.contract.network import confine_to_loopback

ADMIN_KEY = "sk-admin-fuzz-0123456789abcdefghijklmnop"
WORKER_SECRET = "worker-secret-fuzz-0123456789"
FUZZ_TIMEOUT = 120.0 + 30.0 * EXAMPLES  # seconds: a stuck run fails instead of hanging the suite
# Not fuzzed, and why (everything else is). Streams are fuzzed like the rest (chat ``stream: true``,
# Google's ``alt=sse``): they end once the simulator's tasks do, and an event stream is checked for
# its media type (its events are not JSON documents to validate).
SKIPPED = {
    # A WebSocket: the fuzzer speaks plain HTTP, so every call would be the same 400 (no Upgrade);
    # tests/e2e/test_workers.py drives the real protocol.
    ("GET", "/v1/flow-worker"): "a WebSocket, not a REST call",
    ("GET", "/flow/v1/flow-worker"): "a WebSocket, not a REST call",
}


def dialect_of_errors(ctx: Any, response: Any, case: Any) -> bool | None:
    """An error answers in its path's dialect: Google's envelope on Google's paths, OpenAI's elsewhere."""
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return None
    body = orjson.loads(response.content)
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict), f"an error without an envelope: {response.content[:200]!r}"
    if is_google_path(case.operation.path):
        assert {"code", "message", "status"} <= set(error), f"not Google's shape: {error}"
    else:
        assert {"message", "type", "param", "code"} <= set(error), f"not OpenAI's shape: {error}"
    return True


def planner(app: web.Application) -> Callable[[str, str], Plan]:
    """Full runs at each handler's shortest path, one positive example at its other paths."""
    by_handler: dict[tuple[object, str], list[str]] = {}
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        by_handler.setdefault((route.handler, route.method), []).append(path)
    canonical = {(method, min(paths, key=len)) for (_, method), paths in by_handler.items()}

    def plan(method: str, path: str) -> Plan:
        if (method, path) in SKIPPED:
            return Plan(0, why=SKIPPED[method, path])
        return Plan(EXAMPLES) if (method, path) in canonical else Plan(1, full=False)

    return plan


@pytest.fixture
async def gateway(
    aiohttp_server: ServerFactory,
    settings_factory: Callable[..., Settings],
    app_factory: Callable[[Settings], web.Application],
    accounts_toml: str,
    tmp_path: Path,
) -> TestServer:
    extra = f'[admin]\nkey_sha256 = "{hash_key(ADMIN_KEY)}"\n\n[workers]\nsecret = "{WORKER_SECRET}"\n\n'
    # SQLite, the default store: what it refuses (an int past 2**63) is part of what is fuzzed.
    env = {"GATEWAY_STORE_BACKEND": "sqlite", "GATEWAY_STORE_PATH": str(tmp_path / "fuzz.sqlite3")}
    return await aiohttp_server(app_factory(settings_factory(env, extra + accounts_toml)))


async def test_no_operation_answers_5xx_hangs_or_strays_from_its_document(
    gateway: TestServer, licence_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    confine_to_loopback(monkeypatch)  # the fuzzer's own URLs (images, webhooks) go nowhere
    async with ClientSession() as http, http.get(gateway.make_url("/openapi.json")) as response:
        document = await response.json()

    def headers(path: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_KEY if path.startswith('/admin') else licence_key}"}

    target = Target(str(gateway.make_url("")).rstrip("/"), headers, (*BUILT_IN, dialect_of_errors))
    async with asyncio.timeout(FUZZ_TIMEOUT):
        report = await asyncio.to_thread(fuzz, document, target, planner(gateway.app))
    assert report.skipped == {f"{m} {p}": why for (m, p), why in SKIPPED.items()}
    done = (
        f"{report.operations} operations, {report.calls} calls in {report.seconds:.0f} s: {report.statuses}"
    )
    assert not report.findings, done + "\n\n" + "\n\n".join(map(str, report.findings))
