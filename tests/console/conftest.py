"""Fixtures of the console's tests: a gateway with the admin API on, a client without a cookie jar
(cookies are sent explicitly, so a test sees exactly what the browser would hold)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.config import Settings
from gateway.console.guard import COOKIE
from gateway.licensing import hash_key

ADMIN_KEY = "sk-admin-console-test-0123456789abcdefghijkl"
ConsoleClient = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def console_client(
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    settings_factory: Callable[..., Settings],
    app_factory: Callable[[Settings], web.Application],
) -> ConsoleClient:
    """A client of a gateway with the admin API on (and these further ``GATEWAY_*`` overrides)."""

    async def make(
        env: dict[str, str] | None = None, *, admin: bool = True, accounts: str | None = None
    ) -> TestClient:
        wanted = {"GATEWAY_ADMIN_KEY_SHA256": hash_key(ADMIN_KEY)} if admin else {}
        settings = settings_factory({**wanted, **(env or {})}, accounts)
        return await aiohttp_client(app_factory(settings), cookie_jar=aiohttp.DummyCookieJar())

    return make


@pytest.fixture
async def http(console_client: ConsoleClient) -> TestClient:
    return await console_client()


class Signed:
    """A signed-in browser: its cookie header and CSRF token."""

    def __init__(self, cookie: str, csrf: str) -> None:
        self.cookie = cookie
        self.csrf = csrf

    def headers(self, *, csrf: bool = False) -> dict[str, str]:
        out = {"Cookie": f"{COOKIE}={self.cookie}"}
        if csrf:
            out["x-csrf-token"] = self.csrf
        return out


async def sign_in(http: TestClient, key: str = ADMIN_KEY, **headers: str) -> Signed:
    resp = await http.post("/console/session", json={"key": key}, headers=headers)
    assert resp.status == 201, await resp.text()
    morsel = SimpleCookie(resp.headers["Set-Cookie"])[COOKIE]
    return Signed(morsel.value, (await resp.json())["csrf_token"])
