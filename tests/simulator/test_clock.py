"""The simulator's time is its injected clock: tokens, page sessions and the call log read it, so
tests move time instead of sleeping."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from gateway.simulator import Simulator
from tests.simulator.batch_support import START, Clock, Tab, t2v, wrb


async def test_page_tokens_live_two_minutes_of_the_clock(tab: Tab, clock: Clock) -> None:
    inner = t2v(tab.project, "veo_3_1_t2v_lite")
    fresh, stale = await tab.mint("VIDEO_GENERATION"), await tab.mint("VIDEO_GENERATION")
    clock.advance(119)
    assert wrb(await (await tab.call("YhhmEf", inner, token=fresh)).text(), "YhhmEf")[5] is None
    clock.advance(2)
    status = wrb(await (await tab.call("YhhmEf", inner, token=stale)).text(), "YhhmEf")[5]
    assert status[0] == 7


async def test_the_page_session_and_the_call_log_read_the_clock(
    client: TestClient, sim: Simulator, clock: Clock
) -> None:
    clock.advance(42)
    page = Tab(client, sim, "st-u", clock)
    await page.load()
    assert page.wiz["SNlM0e"].endswith(f":{int((START + 42) * 1000)}")
    assert sim.stats.recent("page.project")[-1].at == START + 42


async def test_jobs_wait_on_the_clock_not_on_the_wall(tab: Tab, clock: Clock) -> None:
    media_id = (await tab.video())[0]
    assert (await tab.poll(media_id))[5][8] == [6]
    clock.advance(10_000)
    assert (await tab.poll(media_id))[5][8] == [3]
