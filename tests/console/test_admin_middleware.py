"""The admin middleware alone, in a bare app with a one-line handler and a scripted guard: the
bearer key, a console session with its CSRF token, lockouts, and the console's paths."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.licensing import hash_key
from gateway.middleware.admin import admin_middleware
from gateway.middleware.errors import error_middleware

KEY = "sk-admin-middleware-0123456789abcdefghij"
CSRF = "csrf-of-the-session"


class Guard:
    """A session named by the cookie ``s=good``; a lockout set by the test; failures counted."""

    def __init__(self) -> None:
        self.locked = 0.0
        self.failures = 0
        self.passes = 0

    def session_csrf(self, request: web.Request) -> str | None:
        return CSRF if request.cookies.get("s") == "good" else None

    def locked_for(self, request: web.Request) -> float:
        return self.locked

    def key_failed(self, request: web.Request) -> None:
        self.failures += 1

    def key_passed(self, request: web.Request) -> None:
        self.passes += 1


async def ok(_: web.Request) -> web.Response:
    return web.Response(text="ok")


@pytest.fixture
def guard() -> Guard:
    return Guard()


@pytest.fixture
async def http(aiohttp_client: Callable[..., Awaitable[TestClient]], guard: Guard) -> TestClient:
    app = web.Application(middlewares=[error_middleware(), admin_middleware(hash_key(KEY), guard=guard)])
    for path in ("/admin/x", "/console/", "/v1/x"):
        app.router.add_route("*", path, ok)
    return await aiohttp_client(app)


SESSION = {"Cookie": "s=good"}


async def test_a_session_reads_and_changes_only_with_its_csrf_token(http: TestClient) -> None:
    assert (await http.get("/admin/x", headers=SESSION)).status == 200
    for method in ("POST", "PATCH", "PUT", "DELETE"):
        refused = await http.request(method, "/admin/x", headers=SESSION)
        assert refused.status == 403 and (await refused.json())["error"]["code"] == "csrf_token_invalid"
        wrong = await http.request(method, "/admin/x", headers={**SESSION, "x-csrf-token": "nope"})
        assert wrong.status == 403
        accepted = await http.request(method, "/admin/x", headers={**SESSION, "x-csrf-token": CSRF})
        assert accepted.status == 200
    assert (await http.post("/admin/x", headers={"Cookie": "s=bad", "x-csrf-token": CSRF})).status == 401


async def test_the_bearer_key_is_checked_whenever_one_is_sent(http: TestClient, guard: Guard) -> None:
    assert (await http.post("/admin/x", headers={"Authorization": f"Bearer {KEY}"})).status == 200
    assert (await http.post("/admin/x", headers={"x-admin-key": KEY})).status == 200
    assert guard.passes == 2
    wrong = {**SESSION, "x-csrf-token": CSRF, "Authorization": "Bearer sk-admin-wrong"}
    assert (await http.post("/admin/x", headers=wrong)).status == 401  # the session does not rescue it
    assert guard.failures == 1
    assert (await http.get("/admin/x")).status == 401
    assert guard.failures == 1  # no key at all is no guess


async def test_a_locked_out_address_is_refused_before_its_key_is_compared(
    http: TestClient, guard: Guard
) -> None:
    guard.locked = 2.5
    resp = await http.get("/admin/x", headers={"Authorization": f"Bearer {KEY}"})
    assert resp.status == 429 and resp.headers["Retry-After"] == "3"
    assert guard.passes == guard.failures == 0
    assert (await http.get("/admin/x", headers=SESSION)).status == 200  # a signed-in browser carries on


async def test_the_console_pages_need_nothing_and_other_paths_pass(http: TestClient) -> None:
    assert (await http.get("/console/")).status == 200
    assert (await http.get("/v1/x")).status == 200


async def test_without_an_admin_key_the_console_is_not_there(
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    app = web.Application(middlewares=[error_middleware(), admin_middleware("", guard=None)])
    app.router.add_get("/console/", ok)
    http = await aiohttp_client(app)
    assert (await http.get("/console/")).status == 404
