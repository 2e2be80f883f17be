"""Helpers of the reliability scenarios: the client's view (OpenAI errors, SSE streams, videos), the
pool's view, bounded waits, and leak checks (asyncio tasks, open sockets)."""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientResponse, ClientSession, web
from aiohttp.test_utils import TestClient

from gateway import keys
from gateway.obs.access_log import AccessLogger
from gateway.pool.records import AccountView

ClientWith = Callable[..., Awaitable[TestClient]]
IMAGE = {"model": "nano_banana", "prompt": "a lighthouse"}
VIDEO = {"model": "veo_3_1-fast", "prompt": "a fox running in snow"}
# Videos that finish in well under a second against a simulator whose jobs last 0.3 s.
FAST_TASKS = {
    "GATEWAY_TASKS_POLL_INTERVAL": "0.1",
    "GATEWAY_TASKS_POLL_AFTER_MS": "50",
    "GATEWAY_TASKS_LINK_DELAY": "0.05",
    "GATEWAY_TASKS_KEEPALIVE": "0.2",
}
ERROR_FIELDS = {"message", "type", "param", "code"}
# Task coroutines that legitimately outlive a request: an HTTP/1.1 keep-alive connection's loop (the
# gateway's to its clients, the simulator's to the gateway); their sockets are counted instead.
CONNECTION_LOOPS = frozenset({"RequestHandler.start"})


def accounts_toml(*accounts: tuple[str, str]) -> str:
    """``[[accounts]]`` entries for (label, session token) pairs."""
    return "".join(
        f'[[accounts]]\nlabel = "{label}"\nsession_token = "{token}"\n\n' for label, token in accounts
    )


TWO = accounts_toml(("a", "st-ultra-1"), ("b", "st-ultra-2"))
THREE = accounts_toml(("a", "st-ultra-1"), ("b", "st-ultra-2"), ("c", "st-pro-1"))
EMAILS = {
    "st-ultra-1": "ultra1@example.com",
    "st-ultra-2": "ultra2@example.com",
    "st-pro-1": "pro1@example.com",
}


async def openai_error(resp: ClientResponse, status: int) -> dict[str, Any]:
    """The ``error`` object of an OpenAI error body, checked to have exactly its four fields."""
    body = await resp.json()
    assert resp.status == status, body
    assert set(body) == {"error"} and set(body["error"]) == ERROR_FIELDS, body
    error: dict[str, Any] = body["error"]
    return error


async def eventually(
    check: Callable[[], bool] | Callable[[], Awaitable[bool]], *, within: float = 5.0, what: str = ""
) -> None:
    """Poll ``check`` until it holds, for at most ``within`` seconds (never a bare sleep-then-assert)."""
    deadline = time.monotonic() + within
    while True:
        outcome = check()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within}s: {what or check}")
        await asyncio.sleep(0.02)


def views(http: TestClient) -> dict[str, AccountView]:
    """The pool's accounts by label."""
    return {v.label: v for v in http.app[keys.POOL].table.snapshot()}


# --- leaks -------------------------------------------------------------------------------------


def open_sockets() -> int:
    """Sockets open in this process (the gateway, the simulator and the test client all live here)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            continue  # the listing's own descriptor, closed meanwhile
    return count


def _name(task: asyncio.Task[Any]) -> str:
    return str(getattr(task.get_coro(), "__qualname__", task.get_name()))


class Leaks:
    """What runs and what is open before a scenario, to compare with after it."""

    def __init__(self) -> None:
        self.tasks = set(asyncio.all_tasks())
        self.sockets = open_sockets()

    def new_tasks(self) -> list[str]:
        """Tasks started since, still running, other than connection loops and the test itself."""
        current = asyncio.current_task()
        return sorted(
            _name(t)
            for t in asyncio.all_tasks()
            if t not in self.tasks and t is not current and not t.done() and _name(t) not in CONNECTION_LOOPS
        )

    async def assert_none(self, *, within: float = 5.0) -> None:
        """No task left over and no more sockets than before, within a bound."""
        await eventually(lambda: not self.new_tasks(), within=within, what=f"tasks left: {self.new_tasks()}")
        await eventually(
            lambda: open_sockets() <= self.sockets,
            within=within,
            what=f"sockets: {open_sockets()} open, {self.sockets} before",
        )


# --- streams and videos --------------------------------------------------------------------------


async def sse_data(resp: ClientResponse) -> list[str]:
    """Every ``data:`` payload of an event stream, in order, until the server closes it."""
    payloads = []
    async for raw in resp.content:
        line = raw.decode().rstrip("\r\n")
        if line.startswith("data: "):
            payloads.append(line.removeprefix("data: "))
    return payloads


async def create_video(http: TestClient, auth: dict[str, str], body: dict[str, Any] | None = None) -> str:
    """A new video's id (the request must be accepted)."""
    resp = await http.post("/v1/videos", json=body or VIDEO, headers=auth)
    doc = await resp.json()
    assert resp.status == 200, doc
    return str(doc["id"])


async def final_video(
    http: TestClient, auth: dict[str, str], video_id: str, *, within: float = 10.0
) -> dict[str, Any]:
    """The video once completed or failed, polled through ``GET /v1/videos/{id}`` (bounded)."""
    doc: dict[str, Any] = {}

    async def done() -> bool:
        nonlocal doc
        resp = await http.get(f"/v1/videos/{video_id}", headers=auth)
        assert resp.status == 200, await resp.text()
        doc = await resp.json()
        return doc["status"] in ("completed", "failed")

    try:
        await eventually(done, within=within)
    except AssertionError:
        raise AssertionError(f"video {video_id} did not finish within {within}s: {doc}") from None
    return doc


# --- a gateway served as in production -----------------------------------------------------------


class Served:
    """A gateway app on a real port, run as ``python -m gateway serve`` runs it (``web.run_app``'s
    defaults: a handler is not cancelled when its client leaves, unlike under aiohttp's TestServer)."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.runner = web.AppRunner(app, access_log_class=AccessLogger)
        self.url = ""
        self.session: ClientSession | None = None

    async def start(self) -> Served:
        """Listen on a free loopback port."""
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        sockets = self.runner.addresses
        self.url = f"http://127.0.0.1:{sockets[0][1]}"
        self.session = ClientSession(self.url)
        return self

    @property
    def http(self) -> ClientSession:
        """A client session on this gateway (its own connections)."""
        assert self.session is not None
        return self.session

    async def close(self) -> None:
        """Stop serving (as on SIGTERM) and close the client; again, nothing."""
        if self.session is None:
            return
        session, self.session = self.session, None
        await session.close()
        await self.runner.cleanup()
