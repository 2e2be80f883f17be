"""Where and how the console is served: only with the admin API (and on its listener), its page
never cached, its files cached for a year under the bundle's version, gzipped for slow links."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.config import Settings
from gateway.licensing import hash_key
from tests.console.conftest import ADMIN_KEY, ConsoleClient, sign_in

YEAR = "public, max-age=31536000, immutable"


async def static_urls(http: TestClient) -> list[str]:
    page = await (await http.get("/console/")).text()
    return re.findall(r'(?:src|href)="(/console/static/[^"]+)"', page)


async def test_the_page_is_served_uncached_with_a_strict_policy(http: TestClient) -> None:
    moved = await http.get("/console", allow_redirects=False)
    assert moved.status == 302 and moved.headers["Location"] == "/console/"
    resp = await http.get("/console/")
    assert resp.status == 200 and resp.content_type == "text/html"
    assert resp.headers["Cache-Control"] == "no-cache"
    policy = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe" not in policy
    assert resp.headers["X-Frame-Options"] == "DENY"
    page = await resp.text()
    assert '<meta name="api-base" content="/flow/v1">' in page
    assert "<script>" not in page and " style=" not in page  # nothing inline: the policy forbids it
    assert {"js/app.js", "console.css"} <= {url.split("/", 4)[4] for url in await static_urls(http)}


async def test_files_are_cached_for_a_year_under_the_bundle_version(http: TestClient) -> None:
    urls = await static_urls(http)
    versions = {u.split("/")[3] for u in urls}
    assert len(versions) == 1 and re.fullmatch(r"[0-9a-f]{12}", versions.pop())
    for url in urls:
        resp = await http.get(url)
        assert resp.status == 200, url
        assert resp.headers["Cache-Control"] == YEAR
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    script = next(u for u in urls if u.endswith("/js/app.js"))
    assert (await http.get(script)).content_type == "text/javascript"
    stale = script.replace(script.split("/")[3], "000000000000")
    resp = await http.get(stale)  # a page from before an upgrade gets today's file, not cached
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-cache"
    for wrong in ("/js/nope.js", "/../handlers.py", "/%2e%2e/handlers.py", "/index.html"):
        assert (await http.get(script.rsplit("/js/", 1)[0] + wrong)).status == 404, wrong


async def test_text_files_travel_gzipped_when_the_browser_takes_it(http: TestClient) -> None:
    script = next(u for u in await static_urls(http) if u.endswith("/console.css"))
    plain = await http.get(script, headers={"Accept-Encoding": "identity"}, auto_decompress=False)
    packed = await http.get(script, headers={"Accept-Encoding": "gzip, br"}, auto_decompress=False)
    assert packed.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
    assert packed.headers["Vary"] == plain.headers["Vary"] == "Accept-Encoding"
    assert len(await packed.read()) < len(await plain.read()) / 2


async def test_the_console_needs_no_licence_but_its_data_needs_a_session(http: TestClient) -> None:
    assert (await http.get("/console/")).status == 200
    assert (await http.get("/console/session")).status == 200
    assert (await http.get("/console/media/img_x", allow_redirects=False)).status == 401


async def test_a_media_preview_redirects_a_session_to_a_signed_url(console_client: ConsoleClient) -> None:
    # The public address may be another origin (or listener): the page loads only its own.
    http = await console_client({"GATEWAY_PUBLIC_URL": "https://api.example.com"})
    signed = await sign_in(http)
    resp = await http.get("/console/media/img_abc", headers=signed.headers(), allow_redirects=False)
    assert resp.status == 302
    location = resp.headers["Location"]
    assert re.fullmatch(r"/flow/v1/media/img_abc\?expires=\d+&signature=[\w-]+", location)  # this origin


async def test_no_console_without_the_admin_api(console_client: ConsoleClient) -> None:
    http = await console_client(admin=False)
    for path in ("/console", "/console/", "/console/session"):
        assert (await http.get(path)).status == 404, path
    assert (await http.post("/console/session", json={"key": ADMIN_KEY})).status == 404


async def test_the_console_can_be_turned_off_alone(console_client: ConsoleClient) -> None:
    http = await console_client({"GATEWAY_CONSOLE_ENABLED": "false"})
    assert (await http.get("/console/")).status == 404
    assert (await http.post("/console/session", json={"key": ADMIN_KEY})).status == 404
    assert (await http.get("/admin/licences", headers={"x-admin-key": ADMIN_KEY})).status == 200


async def test_the_console_lives_on_the_admin_listener_only(
    settings_factory: Callable[..., Settings], app_factory: Callable[[Settings], web.Application]
) -> None:
    public, admin = socket.create_server(("127.0.0.1", 0)), socket.create_server(("127.0.0.1", 0))
    admin_url = f"http://127.0.0.1:{admin.getsockname()[1]}"
    public_url = f"http://127.0.0.1:{public.getsockname()[1]}"
    settings = settings_factory(
        {"GATEWAY_ADMIN_KEY_SHA256": hash_key(ADMIN_KEY), "GATEWAY_ADMIN_LISTEN": admin_url[7:]}
    )
    runner = web.AppRunner(app_factory(settings))
    await runner.setup()
    try:
        for sock in (public, admin):
            await web.SockSite(runner, sock).start()
        async with aiohttp.ClientSession() as session:
            for path in ("/console/", "/console/session"):
                async with session.get(public_url + path) as resp:
                    assert resp.status == 404, path
                async with session.get(admin_url + path) as resp:
                    assert resp.status == 200, path
            async with session.post(public_url + "/console/session", json={"key": ADMIN_KEY}) as resp:
                assert resp.status == 404  # no key can even be tried on the public port
    finally:
        await runner.cleanup()
        for sock in (public, admin):
            sock.close()
