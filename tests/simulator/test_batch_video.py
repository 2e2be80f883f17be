"""Video submits and reads on flow.google.com, with hand-written payloads in the captured shapes:
the records and rows they answer, the catalogue checks, credits, and the statuses over time."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.simulator import SimAccount, Simulator, SimulatorConfig
from tests.simulator.batch_support import (
    DURATION,
    Clock,
    Tab,
    ctx,
    frames,
    ids,
    new_uuid,
    open_tab,
    prompt,
    refs,
    t2v,
)

AITK = "type.googleapis.com/google.internal.labs.aisandbox.proto.common.v1.PublicAitkError"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
DENIED = [7, None, [[AITK, [11]]]]
NO_CREDITS = [8, None, [[ERROR_INFO, ["PUBLIC_ERROR_USER_QUOTA_REACHED"]]]]


async def credits_of(tab: Tab) -> Any:
    return (await tab.ok("nzlxg", []))[0]


async def test_a_submit_answers_the_workflow_row_and_the_record(tab: Tab, sim: Simulator) -> None:
    reply = await tab.ok("YhhmEf", t2v(tab.project, "veo_3_1_t2v_lite"))
    assert reply[0] is None and reply[1] == 95  # the balance after the Ultra price of Lite (5)
    (row,), (record,) = reply[2], reply[3]
    media_id, project, workflow = record[:3]
    assert workflow != media_id and all(len(i) == 36 for i in (media_id, workflow))
    assert record[3:5] == ["CAE", None] and record[6] is None and len(record) == 8
    assert row[0] == workflow and row[1:3] == [None, None] and row[4] == project == tab.project
    assert row[3][0] == "Fox running in" and row[3][4] == media_id and len(row[3]) == 7
    details, info = record[5], record[7]
    assert len(details) == 14 and details[8] == [6] and details[10] is None and details[13] is None
    assert details[1] == "a fox running in snow"
    assert info[0][7] == "a fox running in snow" and info[0][8] is None and info[0][12] == "veo_3_1_t2v_lite"
    assert info[1] == [None, None, [8]] and info[2] == [media_id]
    assert sim.world.media[media_id].workflow == workflow


async def test_statuses_follow_the_clock(tab: Tab, clock: Clock) -> None:
    media_id = (await tab.video())[0]
    seen = []
    for _ in range(4):
        seen.append((await tab.poll(media_id))[5][8])
        clock.advance(DURATION * 0.4)
    assert seen == [[6], [2], [2], [3]]
    done = await tab.poll(media_id)
    assert done[5][13] > 0 and done[5][10] is None and done[7][0][8] is None  # no links in a poll
    assert done[7][1][:2] == [64, 36]  # 1280x720 at the tests' image_scale


async def test_as29s_answers_the_id_while_running_then_the_bare_record(
    tab: Tab, client: TestClient, clock: Clock
) -> None:
    media_id = (await tab.video("abra_t2v_4s_360p", 1))[0]
    assert await tab.ok("as29s", [media_id]) == media_id
    assert await tab.refused("as29s", ["00000000-0000-4000-8000-000000000000"]) == [5]
    assert await tab.refused("as29s", [media_id, media_id]) == [3]
    clock.advance(DURATION)
    record = await tab.ok("as29s", [media_id])
    video, poster = record[7][0][8], record[5][10]
    assert f"/video/{media_id}?Expires=" in video and f"/image/{media_id}?Expires=" in poster
    assert record[7][1] == [18, 32, [4]]  # a 360p portrait clip of 4 s
    mp4 = await client.get(video.split(str(client.make_url("")))[-1])
    assert mp4.status == 200 and record[5][13] == len(await mp4.read())


async def test_signed_urls_expire_on_the_clock(
    tab: Tab, client: TestClient, clock: Clock, sim: Simulator
) -> None:
    media_id = (await tab.video())[0]
    clock.advance(DURATION)
    path = (await tab.ok("as29s", [media_id]))[7][0][8].split(str(client.make_url("")))[-1]
    assert (await client.get(path)).status == 200
    clock.advance(sim.config.media_url_ttl + 1)
    assert (await client.get(path)).status == 403


async def test_jwpduf_polls_many_and_reports_the_balance(tab: Tab) -> None:
    first, second = (await tab.video())[0], (await tab.video())[0]
    reply = await tab.ok("jwpduf", [None, None, [[second], [first]]])
    assert reply[:2] == [None, 90] and [r[0] for r in reply[2]] == [second, first]
    assert await tab.refused("jwpduf", [None, None, [[first], ["not-a-job"]]]) == [5]
    bad_polls: list[list[Any]] = [[None, None, []], [None, None, [first]], [[first]], [None, 1, [[first]]]]
    for bad in bad_polls:
        assert await tab.refused("jwpduf", bad) == [3]


async def test_a_submit_may_ask_for_up_to_four_outputs(tab: Tab) -> None:
    reply = await tab.ok("YhhmEf", t2v(tab.project, "veo_3_1_t2v_lite", items=4, trailer=1))
    assert len(reply[2]) == len(reply[3]) == 4 and reply[1] == 80
    assert len({r[0] for r in reply[3]}) == 4
    assert await tab.refused("YhhmEf", t2v(tab.project, "veo_3_1_t2v_lite", items=5)) == [3]


@pytest.mark.parametrize(
    ("key", "aspect", "price"),
    [
        ("veo_3_1_t2v_lite", 1, 5),
        ("veo_3_1_t2v_lite_low_priority", 2, 0),
        ("veo_3_1_t2v_lite_4s", 1, 5),
        ("veo_3_1_t2v_fast_ultra", 2, 10),
        ("veo_3_1_t2v_fast_portrait_ultra", 1, 10),
        ("veo_3_1_t2v_quality_6s", 2, 100),
        ("abra_t2v_8s", 2, 12),
        ("abra_t2v_10s_360p", 1, 7),
    ],
)
async def test_ultra_pays_the_catalogue_price(aiohttp_client: Any, key: str, aspect: int, price: int) -> None:
    clock = Clock()
    sim = Simulator(
        SimulatorConfig(image_scale=0.05, video_duration=DURATION),
        accounts=[SimAccount("st-u", "u@x", "PAYGATE_TIER_TWO", 1000)],
        clock=clock,
    )
    tab = await open_tab(await aiohttp_client(sim.create_app()), sim, "st-u", clock)
    assert (await tab.ok("YhhmEf", t2v(tab.project, key, aspect)))[1] == 1000 - price


async def test_keys_not_offered_at_the_tier_are_denied_and_cost_nothing(
    client: TestClient, sim: Simulator, clock: Clock
) -> None:
    ultra, pro = await open_tab(client, sim, "st-u", clock), await open_tab(client, sim, "st-p", clock)
    assert await ultra.refused("YhhmEf", t2v(ultra.project, "veo_3_1_t2v_fast")) == DENIED  # Pro's key
    for key in ("veo_3_1_t2v_fast_ultra", "veo_3_1_t2v_lite_low_priority", "veo_3_1_t2v_lite_4s"):
        assert await pro.refused("YhhmEf", t2v(pro.project, key)) == DENIED
    assert sim.stats.calls("batch.YhhmEf", account="p@x", with_token=True) == 3  # the token was spent
    assert await credits_of(ultra) == 100 and await credits_of(pro) == 15


async def test_not_enough_credits_is_quota_reached(client: TestClient, sim: Simulator, clock: Clock) -> None:
    pro = await open_tab(client, sim, "st-p", clock)
    assert (await pro.ok("YhhmEf", t2v(pro.project, "veo_3_1_t2v_lite")))[1] == 5  # Pro pays 10 for Lite
    assert await pro.refused("YhhmEf", t2v(pro.project, "veo_3_1_t2v_lite")) == NO_CREDITS
    assert await credits_of(pro) == 5


@pytest.mark.parametrize(
    ("rpcid", "key"),
    [
        ("YhhmEf", "veo_3_1_i2v_lite"),  # a start-frame key on the text RPC
        ("YhhmEf", "veo_3_1_r2v_lite"),  # a reference key whose options hold the prompt too
        ("YhhmEf", "veo_3_1_extension_lite"),
        ("YhhmEf", "veo_3_1_upsampler_1080p"),
        ("YhhmEf", "veo_3_1_t2v_fast_ultra_relaxed"),  # deprecated (listed only as a legacy label)
        ("YhhmEf", "veo_3_1_t2v_lite_5s_low_priority"),  # not in any catalogue
        ("YhhmEf", "GEM_PIX_2"),
        ("eb1hJf", "veo_3_1_t2v_lite"),
        ("eb1hJf", "veo_3_1_interpolation_lite"),
        ("nprQif", "veo_3_1_i2v_lite"),
        ("MZZa6b", "veo_3_1_t2v_lite"),
    ],
)
async def test_a_key_must_take_what_the_rpc_gives(tab: Tab, rpcid: str, key: str) -> None:
    image = await tab.upload()
    inner = {
        "YhhmEf": lambda: t2v(tab.project, key),
        "eb1hJf": lambda: frames(tab.project, key, 2, image),
        "nprQif": lambda: frames(tab.project, key, 2, image, image),
        "MZZa6b": lambda: refs(tab.project, key, 2, image),
    }[rpcid]()
    assert await tab.refused(rpcid, inner) == [3]


async def test_the_aspect_must_be_one_of_the_keys(tab: Tab) -> None:
    assert await tab.refused("YhhmEf", t2v(tab.project, "veo_3_1_t2v_fast_portrait_ultra", 2)) == [3]
    assert await tab.refused("YhhmEf", t2v(tab.project, "veo_3_1_t2v_fast_ultra", 1)) == [3]
    assert await tab.refused("YhhmEf", t2v(tab.project, "veo_3_1_t2v_lite", 0)) == [3]
    image = await tab.upload()
    assert await tab.refused("MZZa6b", refs(tab.project, "veo_3_1_r2v_fast_portrait_ultra", 2, image)) == [3]
    assert (await tab.ok("MZZa6b", refs(tab.project, "veo_3_1_r2v_fast_portrait_ultra", 1, image)))[3]


async def test_frames_and_references_are_checked(
    tab: Tab, client: TestClient, sim: Simulator, clock: Clock
) -> None:
    image = await tab.upload()
    assert (await tab.ok("eb1hJf", frames(tab.project, "veo_3_1_i2v_s_lite_4s", 1, image)))[3]
    assert (await tab.ok("nprQif", frames(tab.project, "omni_flash_i2v_6s_first_last", 2, image, image)))[3]
    assert await tab.refused("MZZa6b", refs(tab.project, "veo_3_1_r2v_lite", 2, *[image] * 4)) == [
        3
    ]  # Veo: 3
    assert (await tab.ok("MZZa6b", refs(tab.project, "abra_r2v_6s", 2, *[image] * 7)))[3]  # Omni: 7
    assert await tab.refused("MZZa6b", refs(tab.project, "abra_r2v_6s", 2, *[image] * 8)) == [3]
    other = await open_tab(client, sim, "st-p", clock)
    theirs = await other.upload()
    assert await tab.refused("eb1hJf", frames(tab.project, "veo_3_1_i2v_lite", 2, theirs)) == [5]
    video = (await tab.video())[0]
    assert await tab.refused("eb1hJf", frames(tab.project, "veo_3_1_i2v_lite", 2, video)) == [5]


def _mutations(project: str) -> dict[str, list[Any]]:
    good = t2v(project, "veo_3_1_t2v_lite")
    item = good[0][0]
    return {
        "no id block": [[item[:4]], good[1], good[2]],
        "ids not uuids": [[[*item[:4], [None, None, None, None, "a", "b"]]], good[1], good[2]],
        "scene id block": [[[*item[:4], ["scene", None, None, None, *ids()[4:]]]], good[1], good[2]],
        "slot 3 set": [[[*item[:3], 1, item[4]]], good[1], good[2]],
        "bare prompt": [[["a fox", *item[1:]]], good[1], good[2]],
        "empty prompt": [[[prompt(" "), *item[1:]]], good[1], good[2]],
        "trailer 3": [good[0], good[1], [new_uuid(), 3]],
        "trailer short": [good[0], good[1], [new_uuid()]],
        "trailer bool": [good[0], good[1], [new_uuid(), True]],
        "no trailer": [good[0], good[1]],
        "other project": [good[0], ctx("00000000-0000-4000-8000-000000000000"), good[2]],
        "null project": [good[0], ctx(None), good[2]],
        "short context": [good[0], good[1][:10], good[2]],
    }


@pytest.mark.parametrize("mutation", sorted(_mutations("p")))
async def test_malformed_submits_are_invalid(tab: Tab, mutation: str) -> None:
    assert await tab.refused("YhhmEf", _mutations(tab.project)[mutation]) == [3]


async def test_optional_slots_may_follow_the_id_block(tab: Tab) -> None:
    inner = t2v(tab.project, "abra_t2v_8s_360p")
    inner[0][0] += [None, None, [4]]  # output resolution [4] at item index 7 (btcfoxman)
    assert (await tab.ok("YhhmEf", inner))[3]


async def test_another_projects_source_path_is_invalid(tab: Tab, sim: Simulator) -> None:
    inner = t2v(tab.project, "veo_3_1_t2v_lite")
    path = f"/project/{sim.project_of('st-p')}"
    assert await tab.refused("YhhmEf", inner, source_path=path) == [3]
    assert await tab.refused("YhhmEf", inner, source_path="/") == [3]


async def test_the_record_marker_knob(aiohttp_client: Any) -> None:
    clock = Clock()
    sim = Simulator(
        SimulatorConfig(image_scale=0.05, video_duration=DURATION, record_marker=None),
        accounts=[SimAccount("st-u", "u@x", "PAYGATE_TIER_TWO", 100)],
        clock=clock,
    )
    tab = await open_tab(await aiohttp_client(sim.create_app()), sim, "st-u", clock)
    assert (await tab.video())[3] is None
