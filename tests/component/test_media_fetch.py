"""The SSRF-safe fetcher against a local server; the address policy is injected so 127.0.0.1 can
stand for "a public host" on one hop and be refused on the next."""

import io
import ipaddress
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image

from gateway.errors import InvalidRequestError, PayloadTooLargeError
from gateway.media.fetch import RemoteImageFetcher, create_fetch_session

PNG = io.BytesIO()
Image.new("RGB", (4, 4)).save(PNG, format="PNG")


@pytest.fixture
async def server(aiohttp_server: Callable[..., Any]) -> TestServer:
    async def image(_: web.Request) -> web.Response:
        return web.Response(body=PNG.getvalue(), content_type="image/png")

    async def text(_: web.Request) -> web.Response:
        return web.Response(text="not an image")

    async def huge(_: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG" + b"\0" * 5000)

    async def redirect_local(_: web.Request) -> web.Response:
        raise web.HTTPFound("http://localhost:1/secret")

    async def redirect_ok(_: web.Request) -> web.Response:
        raise web.HTTPFound("/image.png")

    async def missing(_: web.Request) -> web.Response:
        raise web.HTTPNotFound

    app = web.Application()
    for path, handler in (
        ("/image.png", image),
        ("/text", text),
        ("/huge", huge),
        ("/to-local", redirect_local),
        ("/to-image", redirect_ok),
        ("/missing", missing),
    ):
        app.router.add_get(path, handler)
    return await aiohttp_server(app)  # type: ignore[no-any-return]


@pytest.fixture
async def fetcher() -> AsyncIterator[RemoteImageFetcher]:
    session = create_fetch_session(allow_private=True)
    yield RemoteImageFetcher(session, max_bytes=1000, timeout=2, max_redirects=2, allow_private=True)
    await session.close()


async def test_fetches_and_follows_redirects(server: TestServer, fetcher: RemoteImageFetcher) -> None:
    assert (await fetcher.fetch(str(server.make_url("/image.png")), param="image")).mime == "image/png"
    assert (await fetcher.fetch(str(server.make_url("/to-image")), param="image")).mime == "image/png"


@pytest.mark.parametrize(
    ("path", "error"),
    [("/text", InvalidRequestError), ("/huge", PayloadTooLargeError), ("/missing", InvalidRequestError)],
)
async def test_refusals(
    server: TestServer, fetcher: RemoteImageFetcher, path: str, error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        await fetcher.fetch(str(server.make_url(path)), param="images[2]")
    assert info.value.param == "images[2]"  # type: ignore[attr-defined]


@pytest.mark.parametrize("url", ["ftp://x/y.png", "http://user:pw@example.com/a.png", "file:///etc/passwd"])
async def test_bad_urls(fetcher: RemoteImageFetcher, url: str) -> None:
    with pytest.raises(InvalidRequestError):
        await fetcher.fetch(url, param="image")


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "10.0.0.5", "169.254.169.254", "[::1]", "100.64.0.1", "0.0.0.0", "[::ffff:127.0.0.1]"],
)
async def test_private_literals_refused_by_default(host: str) -> None:
    session = create_fetch_session(allow_private=False)
    try:
        fetcher = RemoteImageFetcher(session, max_bytes=1000, timeout=2, max_redirects=2, allow_private=False)
        with pytest.raises(InvalidRequestError, match="private or local"):
            await fetcher.fetch(f"http://{host}:9/x.png", param="image")
    finally:
        await session.close()


async def test_names_resolving_to_private_addresses_are_refused_at_connect(server: TestServer) -> None:
    session = create_fetch_session(allow_private=False)
    try:
        fetcher = RemoteImageFetcher(session, max_bytes=1000, timeout=2, max_redirects=2, allow_private=False)
        with pytest.raises(InvalidRequestError, match="private or local"):
            await fetcher.fetch(f"http://localhost:{server.port}/image.png", param="image")
    finally:
        await session.close()


async def test_redirect_to_a_private_host_is_refused(server: TestServer) -> None:
    """The first hop is an IP literal (checked by URL, allowed here); the redirect names a host, which the
    resolver policy refuses: the refusal must come from the policy, not from a failed connection."""

    def refuse_all(_: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return False

    session = create_fetch_session(allow_private=False, policy=refuse_all)
    try:
        fetcher = RemoteImageFetcher(session, max_bytes=1000, timeout=2, max_redirects=2, allow_private=True)
        assert (await fetcher.fetch(str(server.make_url("/image.png")), param="image")).mime == "image/png"
        with pytest.raises(InvalidRequestError, match="private or local"):
            await fetcher.fetch(str(server.make_url("/to-local")), param="image")
    finally:
        await session.close()
