"""An account's reads on flow.google.com: its catalogue (``HTrJv``) per cohort and tier, its credits
(``nzlxg``), and that what the catalogue says is what the submits enforce."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.simulator import SimAccount, Simulator, SimulatorConfig
from tests.simulator.batch_support import Clock, Tab, open_tab, t2v

TIERS = {"PAYGATE_TIER_NOT_PAID": 1, "PAYGATE_TIER_ONE": 2, "PAYGATE_TIER_TWO": 3}


def usages(payload: Any, slot: int) -> dict[str, list[Any]]:
    """Every usage of the families at ``payload[0][slot]`` (4 video, 5 image), by key."""
    return {usage[0]: usage for family in payload[0][slot] for usage in family[1]}


def cost(usage: list[Any], tier: int) -> int | None:
    """A usage's credits at a tier, read as Fograd reads them; None where it is not offered."""
    (available,) = [entry[1] for entry in usage[4] if entry[0] == tier]
    return None if available == [None, []] else available[0][1]


@pytest.fixture
async def accounts(aiohttp_client: Any) -> dict[str, Tab]:
    clock = Clock()
    sim = Simulator(
        SimulatorConfig(image_scale=0.05),
        accounts=[SimAccount(f"st-{t}", f"{t}@x", t, 10_000) for t in TIERS]
        + [SimAccount("st-legacy", "legacy@x", "PAYGATE_TIER_TWO", 0, cohort="legacy")],
        clock=clock,
    )
    client = await aiohttp_client(sim.create_app())
    return {t: await open_tab(client, sim, f"st-{t}", clock) for t in [*TIERS, "legacy"]}


async def test_catalogue_lists_video_and_image_families(tab: Tab) -> None:
    payload = await tab.ok("HTrJv", [])
    root = payload[0]
    assert len(payload) == 1 and len(root) == 8 and root[:2] == [None, None] and root[6] is None
    labels = [family[0] for family in root[4]]
    assert labels == [
        "Omni 1.1 Flash",
        "Veo 3.1 - Lite",
        "Veo 3.1 - Fast",
        "Veo 3.1 - Quality",
        "Veo 3.1 - Lite [Lower Priority]",
        "Veo 3.1 - Upsampler 1080P",
        "Omni - Upsampler 360p",
        "Veo 3.1 - Upsampler 4K",
    ]
    video, image = usages(payload, 4), usages(payload, 5)
    assert all(len(u) == 24 for u in video.values()) and all(len(u) == 22 for u in image.values())
    assert list(image) == [
        "GEM_PIX_2",
        "BELUGA",
        "HARBOR_SEAL",
        "GEM_PIX_2_UPSAMPLE_2K",
        "GEM_PIX_2_UPSAMPLE_4K",
    ]
    fast = video["veo_3_1_t2v_fast"]
    assert fast[4] == [[1, [[None, 20]]], [2, [[None, 20]]], [3, [None, []]]]
    assert (fast[7], fast[12], fast[16], fast[23]) == ([[[[1]]]], [[2]], 8, [[1]])
    assert video["veo_3_1_t2v_fast_portrait"][12] == [[1]] and video["veo_3_1_t2v_lite"][12] == [[2, 1]]
    assert video["abra_r2v_4s"][7] == [[[[1, 6]], [[1, 6, 18, 19]], [[1, 6, 18]]]] and video["abra_r2v_4s"][
        21
    ] == [5, 3, 7]
    assert video["veo_3_1_extension_lite"][7] == [[[[1, 14]]]]
    assert [video[f"abra_t2v_{s}s"][4][0][1][0][1] for s in (4, 6, 8, 10)] == [7, 10, 12, 15]
    assert [video[f"omni_flash_i2v_{s}s_first_last"][7] for s in (4, 10)] == [[[[[1, 5, 7]]]]] * 2
    upsamplers = {k: (v[7], v[23], v[21][5]) for k, v in video.items() if "upsampler" in k}
    assert upsamplers == {
        "veo_3_1_upsampler_1080p": ([[[[15]]]], [[2]], [1]),
        "omni_upsampler_360p": ([[[[21]]]], [[1]], [4]),
        "veo_3_1_upsampler_4k": ([[[[16]]]], [[3]], [1]),
    }
    assert image["GEM_PIX_2"][8][0][0] == [[1]] and image["GEM_PIX_2_UPSAMPLE_4K"][8] == [[[[6]]]]


@pytest.mark.parametrize(
    ("key", "costs"),
    [
        ("veo_3_1_t2v_lite", [10, 10, 5]),
        ("veo_3_1_t2v_lite_4s", [None, None, 5]),
        ("veo_3_1_t2v_fast_ultra", [None, None, 10]),
        ("veo_3_1_i2v_s_fast_portrait_ultra_fl", [None, None, 10]),
        ("veo_3_1_extend_fast_landscape", [20, 20, None]),
        ("veo_3_1_t2v", [100, 100, 100]),
        ("veo_3_1_i2v_s_quality_4s_fl", [None, None, 100]),
        ("veo_3_1_r2v_lite_low_priority", [None, None, 0]),
        ("veo_3_1_extension_lite_low_priority", [None, None, 0]),
        ("abra_i2v_6s_360p", [5, 5, 5]),
        ("veo_3_1_upsampler_1080p", [None, 0, 0]),
        ("veo_3_1_upsampler_4k", [None, None, 50]),
    ],
)
async def test_catalogue_costs_per_service_tier(tab: Tab, key: str, costs: list[int | None]) -> None:
    usage = usages(await tab.ok("HTrJv", []), 4)[key]
    assert [cost(usage, tier) for tier in (1, 2, 3)] == costs


async def test_the_legacy_cohort_lists_narwhal_and_imagen(accounts: dict[str, Tab]) -> None:
    legacy_reply, migrated_reply = [await accounts[n].ok("HTrJv", []) for n in ("legacy", "PAYGATE_TIER_TWO")]
    legacy, migrated = usages(legacy_reply, 5), usages(migrated_reply, 5)
    assert {"NARWHAL", "GEM_PIX_2", "IMAGEN_3_5"} <= set(legacy) and not {"BELUGA", "HARBOR_SEAL"} & set(
        legacy
    )
    assert legacy["IMAGEN_3_5"][13] == [[2, 3]]
    assert not {"NARWHAL", "IMAGEN_3_5"} & set(migrated)
    legacy_videos = usages(await accounts["legacy"].ok("HTrJv", []), 4)
    migrated_videos = usages(await accounts["PAYGATE_TIER_TWO"].ok("HTrJv", []), 4)
    assert "abra_edit" in migrated_videos and "abra_edit" not in legacy_videos  # Omni Flash's edit is new
    assert legacy_videos == {k: v for k, v in migrated_videos.items() if k != "abra_edit"}


@pytest.mark.parametrize("paygate", list(TIERS))
async def test_text_keys_are_offered_and_priced_as_the_catalogue_says(
    accounts: dict[str, Tab], paygate: str
) -> None:
    tab, tier = accounts[paygate], TIERS[paygate]
    text_keys = {k: u for k, u in usages(await tab.ok("HTrJv", []), 4).items() if u[7] == [[[[1]]]]}
    assert len(text_keys) == 24
    balance = 10_000
    for key, usage in text_keys.items():
        payload, status = await tab.rpc("YhhmEf", t2v(tab.project, key, usage[12][0][0]))
        price = cost(usage, tier)
        if price is None:
            assert status == [7, None, [[status[2][0][0], [11]]]], key
            continue
        balance -= price
        assert status is None and payload[1] == balance, key
        assert payload[3][0][7][1][2] == [usage[16]] and payload[3][0][7][0][12] == key


@pytest.mark.parametrize(
    ("name", "reply"),
    [
        ("PAYGATE_TIER_NOT_PAID", [10_000, 3, 9, 1, None, 10_000]),
        ("PAYGATE_TIER_ONE", [10_000, 1, 9, 2, None, 10_000]),
        ("PAYGATE_TIER_TWO", [10_000, 2, 9, 3, None, 10_000]),
        ("legacy", [None, 2, 9, 3, None, None]),  # a zero balance reads as null ("protobuf omits zero")
    ],
)
async def test_credits_and_tiers(accounts: dict[str, Tab], name: str, reply: list[Any]) -> None:
    assert await accounts[name].ok("nzlxg", []) == reply


async def test_reads_take_an_empty_payload_and_no_token(tab: Tab, sim: Simulator) -> None:
    for rpcid in ("HTrJv", "nzlxg"):
        assert await tab.refused(rpcid, [None]) == [3]
        assert await tab.ok(rpcid, [], source_path="/")
    assert sim.stats.calls("batch.nzlxg", with_token=True) == 0


def test_cohort_is_validated() -> None:
    with pytest.raises(ValueError, match="cohort"):
        SimAccount("st", "a@x", cohort="beta")
    assert (
        SimAccount.from_mapping({"session_token": "st", "email": "a@x", "cohort": "legacy"}).cohort
        == "legacy"
    )
    assert "cohort='migrated'" in repr(SimAccount("st", "a@x"))


async def test_control_api_adds_accounts_of_a_cohort(client: TestClient) -> None:
    doc = {"session_token": "st-l", "email": "l@x", "cohort": "legacy"}
    assert (await client.post("/_sim/accounts", json=doc)).status == 200
    listed = {a["email"]: a["cohort"] for a in await (await client.get("/_sim/accounts")).json()}
    assert listed == {"u@x": "migrated", "p@x": "migrated", "l@x": "legacy"}
    assert (await client.post("/_sim/accounts", json={**doc, "cohort": "beta"})).status == 400
