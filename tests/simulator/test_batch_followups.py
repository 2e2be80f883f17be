"""Upscale (``p0UkFb``) and extend (``fZytfe``) of a finished video, hand-written in the captured shapes."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.simulator import Simulator
from tests.simulator.batch_support import DURATION, Clock, Tab, extend, new_uuid, open_tab, t2v, upscale

AITK = "type.googleapis.com/google.internal.labs.aisandbox.proto.common.v1.PublicAitkError"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
NOT_FOUND = [4, [5, "Media not found."], ["Media not found."], [1]]


async def test_ultra_upscales_to_1080p_and_4k_with_distinct_ids(
    tab: Tab, client: TestClient, clock: Clock
) -> None:
    source = await tab.finished()
    created = {}
    for key, target in (("veo_3_1_upsampler_4k", 3), ("veo_3_1_upsampler_1080p", 2)):
        reply = await tab.ok("p0UkFb", upscale(source, key, target))
        assert reply[3][0][5][8] == [6] and reply[3][0][2] != source[2]
        created[key] = reply[3][0]
    assert created["veo_3_1_upsampler_4k"][0] == f"{source[0]}_4k_upsampled"
    assert created["veo_3_1_upsampler_1080p"][0] == f"{source[0]}_upsampled"
    assert await tab.ok("nzlxg", []) == [45, 2, 9, 3, None, 45]  # 5 for the source, 50 for 4K, 0 for 1080p
    clock.advance(DURATION)
    record = await tab.ok("as29s", [created["veo_3_1_upsampler_4k"][0]])
    assert record[5][8] == [3] and record[7][1] == [192, 108, [8]]  # three times 720p, the source's length
    url = record[7][0][8]
    assert f"/video/{source[0]}_4k_upsampled?" in url
    assert (await client.get(url.split(str(client.make_url("")))[-1])).status == 200


async def test_pro_is_denied_4k_but_not_1080p(client: TestClient, sim: Simulator, clock: Clock) -> None:
    pro = await open_tab(client, sim, "st-p", clock)
    source = await pro.finished()  # Lite: 10 of the account's 15 credits
    assert await pro.refused("p0UkFb", upscale(source, "veo_3_1_upsampler_4k", 3)) == [
        7,
        None,
        [[AITK, [11]]],
    ]
    reply = await pro.ok("p0UkFb", upscale(source, "veo_3_1_upsampler_1080p", 2))
    assert reply[1] == 5 and reply[3][0][0] == f"{source[0]}_upsampled"  # the refusal cost nothing


async def test_a_wrong_workflow_id_is_accepted_then_not_found(tab: Tab, clock: Clock) -> None:
    source = await tab.finished()
    inner = upscale(source, "veo_3_1_upsampler_4k", 3, workflow=source[0])  # the media id, twice
    reply = await tab.ok("p0UkFb", inner)
    assert reply[1] == 45 and reply[3][0][5][8] == [6]  # accepted, and charged
    wrong_1080p = await tab.ok("p0UkFb", upscale(source, "veo_3_1_upsampler_1080p", 2, workflow="elsewhere"))
    clock.advance(DURATION)
    assert (await tab.poll(reply[3][0][0]))[5][8] == NOT_FOUND
    assert (await tab.poll(wrong_1080p[3][0][0]))[5][8] == NOT_FOUND
    again = await tab.ok("p0UkFb", upscale(source, "veo_3_1_upsampler_1080p", 2))  # a failed id is reusable
    assert again[3][0][0] == wrong_1080p[3][0][0] == f"{source[0]}_upsampled"
    clock.advance(DURATION)
    assert (await tab.poll(again[3][0][0]))[5][8] == [3]


async def test_an_upscale_in_progress_is_not_doubled(tab: Tab) -> None:
    source = await tab.finished()
    assert await tab.ok("p0UkFb", upscale(source, "veo_3_1_upsampler_1080p", 2))
    status = await tab.refused("p0UkFb", upscale(source, "veo_3_1_upsampler_1080p", 2))
    assert status == [9, None, [[ERROR_INFO, ["PUBLIC_ERROR_GENERATION_ALREADY_IN_PROGRESS"]]]]


async def test_omni_360p_clips_upscale_to_720p(tab: Tab) -> None:
    clip = await tab.finished("abra_t2v_6s_360p")
    reply = await tab.ok("p0UkFb", upscale(clip, "omni_upsampler_360p", 1))
    assert reply[3][0][0] == f"{clip[0]}_720p_upsampled"
    assert await tab.refused("p0UkFb", upscale(clip, "veo_3_1_upsampler_1080p", 2)) == [3]  # needs 720p
    source = await tab.finished()
    assert await tab.refused("p0UkFb", upscale(source, "omni_upsampler_360p", 1)) == [3]  # needs 360p


def _row_mutations(inner: list[Any]) -> dict[str, list[Any]]:
    row = inner[0][0]
    out: dict[str, list[Any]] = {}
    for name, changed in {
        "31 slots": row[:31],
        "33 slots": [*row, None],
        "slot 5 set": [*row[:5], 1, *row[6:]],
        "seed not int": [*row[:3], "7", *row[4:]],
        "media id bare": ["id", *row[1:]],
        "workflow block short": [*row[:4], row[4][:4], *row[5:]],
        "workflow uuid missing": [*row[:4], [*row[4][:4], "x"], *row[5:]],
        "target 4": [*row[:6], 4, *row[7:]],
        "target 3 with the 1080p key": [*row[:6], 3, *row[7:]],
        "unknown key": [*row[:31], "veo_3_1_upsampler_720p"],
        "a generation key": [*row[:31], "veo_3_1_t2v_lite"],
        "aspect 0": [*row[:2], 0, *row[3:]],
    }.items():
        out[name] = [[changed], inner[1], inner[2]]
    out["trailer 2"] = [inner[0], inner[1], [new_uuid(), 2]]
    out["two rows"] = [[row, row], inner[1], inner[2]]
    return out


@pytest.mark.parametrize("mutation", sorted(_row_mutations(upscale(["m", "p", "w"], "k", 2))))
async def test_malformed_upscales_are_invalid(tab: Tab, mutation: str) -> None:
    source = await tab.finished()
    inner = _row_mutations(upscale(source, "veo_3_1_upsampler_1080p", 2))[mutation]
    assert await tab.refused("p0UkFb", inner) == [3]


async def test_upscale_sources_are_checked(
    tab: Tab, client: TestClient, sim: Simulator, clock: Clock
) -> None:
    running = await tab.video()
    assert await tab.refused("p0UkFb", upscale(running, "veo_3_1_upsampler_1080p", 2)) == [3]
    seeded = upscale(await tab.finished(), "veo_3_1_upsampler_1080p", 2)
    seeded[0][0][3] = 12345  # the optional promotion seed
    seeded[2].append(1)  # the bundle's trailer [uuid, 1]
    assert await tab.ok("p0UkFb", seeded)
    other = await open_tab(client, sim, "st-p", clock)
    theirs = await other.finished()
    assert await tab.refused("p0UkFb", upscale(theirs, "veo_3_1_upsampler_1080p", 2)) == [5]
    upscaled = (await tab.ok("p0UkFb", upscale(await tab.finished(), "veo_3_1_upsampler_1080p", 2)))[3][0]
    clock.advance(DURATION)
    assert await tab.refused("p0UkFb", upscale(upscaled, "veo_3_1_upsampler_4k", 3)) == [3]  # not 720p


async def test_extend_continues_a_finished_clip(tab: Tab, clock: Clock) -> None:
    source = await tab.finished()
    reply = await tab.ok("fZytfe", extend(tab.project, source[0], "veo_3_1_extension_lite"))
    assert reply[1] == 90 and reply[3][0][0] not in (source[0], source[2])
    assert reply[3][0][7][0][12] == "veo_3_1_extension_lite"
    assert await tab.ok(
        "fZytfe", extend(tab.project, source[0], "veo_3_1_extension_lite_low_priority", window=())
    )
    portrait = await tab.finished("veo_3_1_t2v_lite", 1)
    key = "veo_3_1_extend_fast_portrait_ultra"
    assert await tab.ok("fZytfe", extend(tab.project, portrait[0], key, aspect=1, window=(1, 24)))
    clock.advance(DURATION)
    assert (await tab.poll(reply[3][0][0]))[5][8] == [3]


@pytest.mark.parametrize(
    ("key", "aspect", "window"),
    [
        ("veo_3_1_extension_lite", 1, (169, 192)),  # not the source's aspect
        ("veo_3_1_extend_fast_portrait_ultra", 2, (169, 192)),  # the key's orientation is not 16:9
        ("veo_3_1_t2v_lite", 2, (169, 192)),  # not an extension key
        ("veo_3_1_extension_lite", 2, (169, 193)),  # past the source's last frame
        ("veo_3_1_extension_lite", 2, (0, 24)),
        ("veo_3_1_extension_lite", 2, (100, 50)),
        ("veo_3_1_extension_lite", 2, (169, None)),  # a trailing null is popped, never sent
    ],
)
async def test_extends_are_checked(tab: Tab, key: str, aspect: int, window: tuple[Any, ...]) -> None:
    source = await tab.finished()
    assert await tab.refused("fZytfe", extend(tab.project, source[0], key, aspect=aspect, window=window)) == [
        3
    ]


async def test_extend_sources_and_shape_are_checked(
    tab: Tab, client: TestClient, sim: Simulator, clock: Clock
) -> None:
    running = await tab.video()
    assert await tab.refused("fZytfe", extend(tab.project, running[0], "veo_3_1_extension_lite")) == [3]
    other = await open_tab(client, sim, "st-p", clock)
    theirs = await other.finished()
    assert await tab.refused("fZytfe", extend(tab.project, theirs[0], "veo_3_1_extension_lite")) == [5]
    source = await tab.finished()
    scene = extend(tab.project, source[0], "veo_3_1_extension_lite")
    scene[2] = [new_uuid(), 2, None, ["scene", 2]]  # the scene editor's trailer
    assert await tab.refused("fZytfe", scene) == [3]
    by_workflow = extend(tab.project, source[2], "veo_3_1_extension_lite")
    assert await tab.refused("fZytfe", by_workflow) == [5]  # the source goes by media id
    inner = t2v(tab.project, "veo_3_1_extension_lite")
    assert await tab.refused("fZytfe", inner) == [3]
