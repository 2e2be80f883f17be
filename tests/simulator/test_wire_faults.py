"""Wire faults (``truncate``, ``reset``, ``garbage``, ``slow_body``, ``cdn_error_page``), each seen from a
real aiohttp client on the REST routes, the CDN and batchexecute: what the client receives, what the
simulator records, whether the handler ran; and the validation of the new kinds and their ``delay``."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.simulator import SimAccount, Simulator, SimulatorConfig
from gateway.simulator.wire import CLIENT_GONE, RESET, SHUTTING_DOWN, SLOW_CHUNK
from tests.simulator.batch_support import Tab
from tests.simulator.test_strictness import Flow
from tests.simulator.test_video_and_control import video_body

DISCONNECTED = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError)


@pytest.fixture
async def flow(client: TestClient) -> Flow:
    rest = Flow(client)
    await rest.login()
    return rest


async def image_path(flow: Flow, client: TestClient) -> str:
    """A generated image's signed CDN path (the simulator's own origin stripped)."""
    resp = await flow.generate(flow.image_body(await flow.token()))
    assert resp.status == 200, await resp.text()
    url = (await resp.json())["media"][0]["image"]["generatedImage"]["fifeUrl"]
    return str(url).split(str(client.make_url("")))[-1]


def credits_headers(flow: Flow) -> dict[str, str]:
    return {"authorization": f"Bearer {flow.at}"}


async def settled(sim: Simulator, route: str, count: int = 1) -> list[Any]:
    """The route's recorded calls once ``count`` are in (the wrapper records after the answer)."""
    for _ in range(200):
        records = sim.stats.recent(route)
        if len(records) >= count:
            return records
        await asyncio.sleep(0.01)
    raise AssertionError(f"{route}: {sim.stats.recent(route)}")


# --- truncate ----------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["credits", "cdn.image"])
async def test_truncate_sends_status_headers_and_half_the_body(
    flow: Flow, client: TestClient, sim: Simulator, route: str
) -> None:
    path = "/v1/credits" if route == "credits" else await image_path(flow, client)
    whole = await (await client.get(path, headers=credits_headers(flow))).read()
    sim.faults.add(route=route, kind="truncate")
    resp = await client.get(path, headers=credits_headers(flow))
    assert resp.status == 200
    assert resp.content_length == len(whole)
    assert resp.headers["Content-Type"].startswith(("application/json", "image/jpeg"))
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()
    assert [r.status for r in await settled(sim, route, 2)] == [200, 200]


async def test_truncate_on_a_submit_still_creates_the_job(flow: Flow, sim: Simulator) -> None:
    sim.faults.add(route="video.submit", kind="truncate")
    before = len(sim.world.media)
    body = video_body(flow, await flow.token("VIDEO_GENERATION"))
    resp = await flow.post("/v1/video:batchAsyncGenerateVideoText", body)
    assert resp.status == 200
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()
    assert len(sim.world.media) == before + 1  # the answer was lost, not the work


async def test_truncate_on_batchexecute(tab: Tab, sim: Simulator) -> None:
    sim.faults.add(route="batch.HTrJv", kind="truncate")
    resp = await tab.call("HTrJv", [])
    assert resp.status == 200
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()
    assert await tab.ok("HTrJv", [])  # one call only


# --- reset -------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["credits", "cdn.image", "batch.nzlxg"])
async def test_reset_closes_without_any_response(
    flow: Flow, client: TestClient, sim: Simulator, tab: Tab, route: str
) -> None:
    path = "/v1/credits" if route == "credits" else await image_path(flow, client)
    sim.faults.add(route=route, kind="reset")
    with pytest.raises(DISCONNECTED):
        if route == "batch.nzlxg":
            await tab.call("nzlxg", [])
        else:
            await client.get(path, headers=credits_headers(flow))
    (record,) = await settled(sim, route)
    assert record.status == RESET
    assert (await client.get("/v1/credits", headers=credits_headers(flow))).status == 200  # used up


async def test_reset_does_not_run_the_handler(flow: Flow, sim: Simulator) -> None:
    sim.faults.add(route="images.generate", kind="reset")
    before = len(sim.world.media)
    with pytest.raises(DISCONNECTED):
        await flow.generate(flow.image_body(await flow.token()))
    assert len(sim.world.media) == before


# --- garbage -----------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["credits", "cdn.image", "images.generate"])
async def test_garbage_is_a_200_of_random_bytes(
    flow: Flow, client: TestClient, sim: Simulator, route: str
) -> None:
    path = await image_path(flow, client) if route == "cdn.image" else ""
    sim.faults.add(route=route, kind="garbage")
    if route == "images.generate":
        resp = await flow.generate(flow.image_body(await flow.token()))
    else:
        resp = await client.get(path or "/v1/credits", headers=credits_headers(flow))
    body = await resp.read()
    assert resp.status == 200
    expected = "image/jpeg" if route == "cdn.image" else "application/json"
    assert resp.headers["Content-Type"].startswith(expected)
    assert body[:1] == b"\x00" and len(body) >= 64
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)


async def test_garbage_on_batchexecute_is_no_frame(tab: Tab, sim: Simulator) -> None:
    sim.faults.add(route="batch.HTrJv", kind="garbage")
    resp = await tab.call("HTrJv", [])
    assert resp.status == 200
    assert b"wrb.fr" not in await resp.read()


async def test_garbage_is_reproducible_with_a_seed(aiohttp_client: Any) -> None:
    bodies = []
    for _ in range(2):
        sim = Simulator(SimulatorConfig(seed=7), accounts=[SimAccount("st-u", "u@x")])
        client = await aiohttp_client(sim.create_app())
        sim.faults.add(route="warmup", kind="garbage")
        bodies.append(await (await client.get("/fx/api/trpc/general.fetchUserPreferences")).read())
    assert bodies[0] == bodies[1]


# --- slow_body ---------------------------------------------------------------------------------


async def test_slow_body_trickles_the_whole_answer(flow: Flow, client: TestClient, sim: Simulator) -> None:
    path = await image_path(flow, client)
    whole = await (await client.get(path)).read()
    chunks = -(-len(whole) // SLOW_CHUNK)
    sim.faults.add(route="cdn.image", kind="slow_body", delay=0.02)
    loop = asyncio.get_running_loop()
    started = loop.time()
    resp = await client.get(path)
    assert resp.status == 200 and resp.content_length == len(whole)  # headers at once
    assert await resp.read() == whole
    assert loop.time() - started >= chunks * 0.02
    assert chunks >= 2


async def test_slow_body_ends_when_the_client_gives_up(
    flow: Flow, client: TestClient, sim: Simulator
) -> None:
    path = await image_path(flow, client)
    sim.faults.add(route="cdn.image", kind="slow_body", delay=0.05)
    resp = await client.get(path)
    first = await resp.content.read(1)
    assert first == b"\xff"  # a JPEG, arriving
    resp.close()  # the client gives up mid-body
    (record,) = await settled(sim, "cdn.image")
    assert record.status == CLIENT_GONE


async def test_slow_body_ends_when_the_simulator_shuts_down() -> None:
    sim = Simulator(SimulatorConfig(image_scale=0.05), accounts=[SimAccount("st-u", "u@x")])
    server = TestServer(sim.create_app())
    await server.start_server()
    sim.faults.add(route="warmup", kind="slow_body", delay=3600)
    async with aiohttp.ClientSession() as session:
        resp = await session.get(server.make_url("/fx/api/trpc/general.fetchUserPreferences"))
        assert resp.status == 200
        reading = asyncio.ensure_future(resp.read())
        async with asyncio.timeout(5):  # an hour-long trickle ends with the server
            await server.close()
            with pytest.raises(aiohttp.ClientPayloadError):
                await reading
    assert [r.status for r in sim.stats.recent("warmup")] == [SHUTTING_DOWN]


# --- cdn_error_page ----------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["cdn.image", "cdn.video"])
async def test_cdn_error_page_is_a_200_html_page(
    flow: Flow, client: TestClient, sim: Simulator, route: str
) -> None:
    path = await image_path(flow, client)
    if route == "cdn.video":
        path = path.replace("/image/", "/video/", 1)  # the page comes before any check
    sim.faults.add(route=route, kind="cdn_error_page")
    resp = await client.get(path)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Error 502" in await resp.text()


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"route": "images.generate", "kind": "cdn_error_page"}, "cdn_error_page only applies"),
        ({"route": "batch.ogiZ0b", "kind": "cdn_error_page"}, "cdn_error_page only applies"),
        ({"route": "credits", "kind": "truncate", "delay": 1.0}, "delay is only meaningful"),
        ({"route": "credits", "kind": "slow_body", "delay": 0}, "positive number"),
        ({"route": "credits", "kind": "slow_body", "delay": True}, "positive number"),
        ({"route": "credits", "kind": "slow_body", "delay": "1"}, "positive number"),
    ],
)
def test_wire_kinds_are_validated(sim: Simulator, fault: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sim.faults.add(**fault)


def test_slow_body_stores_its_default_delay(sim: Simulator) -> None:
    assert sim.faults.add(route="cdn.video", kind="slow_body").describe()["delay"] == 1.0
    assert sim.faults.add(route="batch.jwpduf", kind="reset").describe()["delay"] is None


async def test_the_control_api_takes_the_wire_kinds(client: TestClient, sim: Simulator) -> None:
    for kind in ("truncate", "reset", "garbage"):
        assert (await client.post("/_sim/faults", json={"route": "credits", "kind": kind})).status == 200
    slow = await client.post("/_sim/faults", json={"route": "cdn.image", "kind": "slow_body", "delay": 0.5})
    assert (await slow.json())["delay"] == 0.5
    page = await client.post("/_sim/faults", json={"route": "cdn.video", "kind": "cdn_error_page"})
    assert page.status == 200
    refused = await client.post("/_sim/faults", json={"route": "credits", "kind": "cdn_error_page"})
    assert refused.status == 400 and "cdn_error_page" in (await refused.json())["error"]
    assert [r.kind for r in sim.faults.rules()] == [
        "truncate",
        "reset",
        "garbage",
        "slow_body",
        "cdn_error_page",
    ]
