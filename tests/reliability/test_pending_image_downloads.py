"""Pending (scenario 5): an image download answered 200 with something that is not an image (random
bytes, a CDN's HTML error page) must not reach the client as its image. The gateway should check
what it downloaded, as it does for videos, and retry or answer a clean error."""

from __future__ import annotations

import base64

import pytest

from gateway.media.images import sniff_mime
from tests.conftest import SimHandle
from tests.reliability.support import IMAGE, THREE, ClientWith, openai_error


@pytest.mark.parametrize("kind", ["garbage", "cdn_error_page"])
async def test_a_non_image_download_never_reaches_the_client(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str], kind: str
) -> None:
    http = await client_with(accounts=THREE)
    simulator.sim.faults.add(route="cdn.image", kind=kind, count=1)
    resp = await http.post("/v1/images/generations", json=IMAGE, headers=auth)
    if resp.status == 200:
        (item,) = (await resp.json())["data"]
        data = base64.b64decode(item["b64_json"])
        assert sniff_mime(data) == "image/jpeg", data[:60]
        assert simulator.sim.stats.calls("cdn.image") == 2  # downloaded again (or generated again)
    else:
        error = await openai_error(resp, 502)
        assert error["type"] == "server_error"


async def test_a_cdn_error_page_is_not_stored_as_an_image_behind_a_url(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str]
) -> None:
    http = await client_with(accounts=THREE)
    simulator.sim.faults.add(route="cdn.image", kind="cdn_error_page", rate=1.0)
    resp = await http.post("/v1/images/generations", json={**IMAGE, "response_format": "url"}, headers=auth)
    if resp.status == 200:
        url = (await resp.json())["data"][0]["url"]
        media = await http.get(url.split(str(http.make_url("")))[-1])
        assert media.headers["Content-Type"] == "image/jpeg"
        assert sniff_mime(await media.read()) == "image/jpeg"
    else:
        await openai_error(resp, 502)
