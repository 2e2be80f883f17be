"""Omni Flash's edit (``jIps6``) of a finished clip, hand-written in the transcribed shape: the whole
source by media id, the prompt, ``abra_edit``, the aspect, the ids block at [4], optional slots after."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.simulator import SimAccount, Simulator, SimulatorConfig
from tests.simulator.batch_support import DURATION, Clock, Tab, ctx, ids, new_uuid, open_tab, prompt
from tests.simulator.conftest import KEY

FULL_TAIL = (None, None, None, [], [], [], [], None)  # what an unattributed Go gateway sends after the ids


def edit(
    project: str,
    source: str,
    key: str = "abra_edit",
    *,
    aspect: int = 2,
    window: tuple[Any, ...] = (0, 192),
    tail: tuple[Any, ...] = (),
) -> list[Any]:
    item = [[None, source, *window], prompt("make it snow"), key, aspect, ids(), *tail]
    return [[item], ctx(project), [new_uuid(), 2]]


@pytest.fixture
def sim(clock: Clock) -> Simulator:
    return Simulator(
        SimulatorConfig(image_scale=0.05, captcha_client_key=KEY, video_duration=DURATION),
        accounts=[
            SimAccount("st-u", "u@x", "PAYGATE_TIER_TWO", 100),
            SimAccount("st-old", "old@x", "PAYGATE_TIER_TWO", 100, cohort="legacy"),
        ],
        clock=clock,
    )


async def test_an_edit_reworks_a_finished_clip_and_keeps_its_length(tab: Tab, clock: Clock) -> None:
    source = await tab.finished()  # Lite 8 s at Ultra's service tier: 5 credits
    reply = await tab.ok("jIps6", edit(tab.project, source[0]))
    assert reply[1] == 75 and reply[3][0][0] not in (source[0], source[2])  # 20 credits
    portrait = await tab.finished("veo_3_1_t2v_lite", 1)
    assert await tab.ok("jIps6", edit(tab.project, portrait[0], aspect=2, window=(0, 96), tail=FULL_TAIL))
    clock.advance(DURATION)
    done = await tab.poll(reply[3][0][0])
    assert done[5][8] == [3]
    record = await tab.ok("as29s", [reply[3][0][0]])
    assert record[7][1][2] == [8]  # the source's 8 seconds


@pytest.mark.parametrize(
    ("key", "window", "tail"),
    [
        ("veo_3_1_extension_lite", (0, 192), ()),  # not an edit key
        ("abra_edit", (0, 193), ()),  # past the source's last frame
        ("abra_edit", (96, 96), ()),  # an empty window
        ("abra_edit", (0, None), ()),  # both ends are given
        ("abra_edit", (0, 192), ("x",)),  # slot [5] is null
        ("abra_edit", (0, 192), (*FULL_TAIL, None)),  # 14 slots
    ],
)
async def test_edits_are_checked(tab: Tab, key: str, window: tuple[Any, ...], tail: tuple[Any, ...]) -> None:
    source = await tab.finished()
    assert await tab.refused("jIps6", edit(tab.project, source[0], key, window=window, tail=tail)) == [3]


async def test_edit_sources_are_checked(tab: Tab, client: TestClient, sim: Simulator, clock: Clock) -> None:
    running = await tab.video()
    assert await tab.refused("jIps6", edit(tab.project, running[0])) == [3]  # not finished
    source = await tab.finished()
    assert await tab.refused("jIps6", edit(tab.project, source[2])) == [5]  # the source goes by media id
    extend_shaped = edit(tab.project, source[0])
    extend_shaped[0][0] = [*extend_shaped[0][0][:4], None, extend_shaped[0][0][4]]  # ids at [5]
    assert await tab.refused("jIps6", extend_shaped) == [3]
    old = await open_tab(client, sim, "st-old", clock)
    theirs = await old.finished()
    assert await tab.refused("jIps6", edit(tab.project, theirs[0])) == [5]  # another account's clip
    # A catalogue from before Omni Flash's edit has no abra_edit: the key is unknown there.
    assert await old.refused("jIps6", edit(old.project, theirs[0])) == [3]
