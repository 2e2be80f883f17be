"""Veo keys per path: REST keys against the simulator's own key table (an independent reading of
flow-protocol.md §7), and the flow.google.com keys derived when an account's catalogue is unknown
against every key the live catalogues list (google-flow-mcp's HTrJv capture, transcribed in
/work/shared research; btcfoxman's and dacvuips's live keys), for every combination the gateway sends."""

from __future__ import annotations

import itertools

import pytest

from gateway.domain import Aspect, VideoMode, VideoResolution, VideoSpeed
from gateway.simulator import video_keys as sim
from gateway.upstream.flow import rest_video_schemas as wire
from gateway.upstream.flow import video_keys
from gateway.upstream.flow.video_keys import BatchPlan, KeyPlan

SIM_ASPECT = {
    Aspect.PORTRAIT: "VIDEO_ASPECT_RATIO_PORTRAIT",
    Aspect.LANDSCAPE: "VIDEO_ASPECT_RATIO_LANDSCAPE",
}
# Every Veo 3.1 and Omni key of the live catalogue (google-flow-mcp HTrJv.json, 2026-09; the
# evidence fixture account.json holds a shortened copy of it).
_FAMILY_KEYS = {
    "quality": "veo_3_1_t2v veo_3_1_t2v_portrait veo_3_1_i2v_s veo_3_1_i2v_s_portrait veo_3_1_i2v_s_fl "
    "veo_3_1_i2v_s_portrait_fl veo_3_1_extend_landscape veo_3_1_extend_portrait",
    "fast": "veo_3_1_t2v_fast veo_3_1_t2v_fast_portrait veo_3_1_t2v_fast_ultra "
    "veo_3_1_t2v_fast_portrait_ultra "
    "veo_3_1_r2v_fast_landscape veo_3_1_r2v_fast_portrait veo_3_1_r2v_fast_landscape_ultra "
    "veo_3_1_r2v_fast_portrait_ultra veo_3_1_i2v_s_fast veo_3_1_i2v_s_fast_portrait veo_3_1_i2v_s_fast_ultra "
    "veo_3_1_i2v_s_fast_portrait_ultra veo_3_1_i2v_s_fast_fl veo_3_1_i2v_s_fast_portrait_fl "
    "veo_3_1_i2v_s_fast_ultra_fl veo_3_1_i2v_s_fast_portrait_ultra_fl veo_3_1_extend_fast_landscape "
    "veo_3_1_extend_fast_portrait veo_3_1_extend_fast_landscape_ultra veo_3_1_extend_fast_portrait_ultra",
    "lite": "veo_3_1_t2v_lite veo_3_1_i2v_lite veo_3_1_r2v_lite veo_3_1_interpolation_lite "
    "veo_3_1_extension_lite",
    "low": "veo_3_1_t2v_lite_low_priority veo_3_1_i2v_lite_low_priority veo_3_1_r2v_lite_low_priority "
    "veo_3_1_interpolation_lite_low_priority veo_3_1_extension_lite_low_priority",
}
CATALOGUE_KEYS = frozenset(
    " ".join(_FAMILY_KEYS.values()).split()
    + [f"veo_3_1_{k}_{n}s" for n in (4, 6) for k in ("t2v_fast", "t2v_quality", "t2v_lite")]
    + [
        f"veo_3_1_i2v_s_{k}_{n}s{fl}"
        for n in (4, 6)
        for k in ("fast", "quality", "lite")
        for fl in ("", "_fl")
    ]
    + [f"veo_3_1_t2v_lite_{n}s_low_priority" for n in (4, 6)]
    + [f"veo_3_1_i2v_s_lite_{n}s{fl}_low_priority" for n in (4, 6) for fl in ("", "_fl")]
    + [f"abra_{m}_{n}s" for m in ("t2v", "i2v", "r2v") for n in (4, 6, 8, 10)]
    + [f"omni_flash_i2v_{n}s_first_last" for n in (4, 6, 8, 10)]
    + ["abra_edit"]  # Omni Flash's edit, newer than that catalogue (a live run's wire key, 2026-10-01)
)


def allowed(mode: VideoMode, speed: VideoSpeed, seconds: int) -> bool:
    """The combinations ``service.videos.check_supported`` lets through (REST has no edit)."""
    if mode is VideoMode.EDIT:
        return False
    if mode is VideoMode.REFERENCES and (speed is VideoSpeed.LITE or seconds != 8):
        return False
    if mode is VideoMode.EXTEND and seconds != 8:
        return False
    return not (speed is VideoSpeed.RELAXED and seconds != 8)


PLANS = [
    KeyPlan(mode, speed, seconds, aspect, ultra or speed is VideoSpeed.RELAXED)
    for mode, speed, seconds, aspect, ultra in itertools.product(
        VideoMode, VideoSpeed, (4, 6, 8), (Aspect.PORTRAIT, Aspect.LANDSCAPE), (False, True)
    )
    if allowed(mode, speed, seconds)
]


@pytest.mark.parametrize(
    "plan", PLANS, ids=lambda p: f"{p.mode}-{p.speed}-{p.seconds}-{p.aspect.value}-{p.ultra}"
)
def test_every_rest_key_is_one_flow_knows_for_that_method(plan: KeyPlan) -> None:
    key = video_keys.rest_key(plan)
    assert key in sim.KNOWN_KEYS, key
    assert wire.METHODS[plan.mode] in sim.methods_for(key), key
    assert sim.orientation_ok(key, SIM_ASPECT[plan.aspect]), key
    if sim.needs_ultra(key):
        assert plan.ultra, key  # an Ultra-only key is only chosen for an Ultra account


BATCH_PLANS = [
    BatchPlan(mode, family, seconds, aspect, ultra)
    for mode, family, seconds, aspect, ultra in itertools.product(
        VideoMode,
        [*video_keys.FAMILIES.values(), video_keys.OMNI],
        (4, 6, 8, 10),
        (Aspect.PORTRAIT, Aspect.LANDSCAPE),
        (False, True),
    )
    if seconds != 10 or family == video_keys.OMNI
    if not (family == video_keys.OMNI and mode is VideoMode.EXTEND)
    if family == video_keys.OMNI or mode is not VideoMode.EDIT  # an edit is Omni Flash's
    if family == video_keys.OMNI or not (mode in (VideoMode.REFERENCES, VideoMode.EXTEND) and seconds != 8)
]


@pytest.mark.parametrize(
    "plan", BATCH_PLANS, ids=lambda p: f"{p.mode}-{p.family}-{p.seconds}-{p.aspect.value}-{p.ultra}"
)
def test_every_derived_key_is_one_the_live_catalogue_lists(plan: BatchPlan) -> None:
    assert video_keys.derived_key(plan) in CATALOGUE_KEYS


def test_derived_keys_follow_the_evidence() -> None:
    def key(
        mode: VideoMode,
        speed: VideoSpeed,
        seconds: int = 8,
        aspect: Aspect = Aspect.PORTRAIT,
        ultra: bool = True,
    ) -> str:
        return video_keys.derived_key(BatchPlan(mode, video_keys.FAMILIES[speed], seconds, aspect, ultra))

    assert (
        key(VideoMode.REFERENCES, VideoSpeed.FAST) == "veo_3_1_r2v_fast_portrait_ultra"
    )  # r2v keeps its side
    assert (
        key(VideoMode.TEXT, VideoSpeed.RELAXED, 4) == "veo_3_1_t2v_lite_4s_low_priority"
    )  # lite lane, duration
    assert key(VideoMode.TEXT, VideoSpeed.RELAXED) == "veo_3_1_t2v_lite_low_priority"
    assert key(VideoMode.EXTEND, VideoSpeed.LITE) == "veo_3_1_extension_lite"
    assert key(VideoMode.TEXT, VideoSpeed.FAST, aspect=Aspect.LANDSCAPE, ultra=False) == "veo_3_1_t2v_fast"
    assert key(VideoMode.START_END, VideoSpeed.LITE) == "veo_3_1_interpolation_lite"
    plan = BatchPlan(VideoMode.TEXT, video_keys.FAMILIES[VideoSpeed.FAST], 8, Aspect.PORTRAIT, True)
    assert (
        video_keys.derived_key(plan, {"veo_3_1_t2v_fast_portrait_ultra": "veo_3_1_fast_v2"})
        == "veo_3_1_fast_v2"
    )


def test_tier_twins_on_rest() -> None:
    fast = KeyPlan(VideoMode.TEXT, VideoSpeed.FAST, 8, Aspect.PORTRAIT, ultra=True)
    assert video_keys.rest_key(fast) == "veo_3_1_t2v_fast_portrait_ultra"
    assert video_keys.rest_key(KeyPlan(VideoMode.TEXT, VideoSpeed.FAST, 8, Aspect.PORTRAIT, ultra=False)) == (
        "veo_3_1_t2v_fast_portrait"
    )
    one_frame = KeyPlan(VideoMode.START, VideoSpeed.FAST, 8, Aspect.LANDSCAPE, ultra=False)
    assert video_keys.rest_key(one_frame) == "veo_3_1_i2v_s_fast"  # the _fl key without _fl
    assert video_keys.upsampler_key(VideoResolution.UHD) == "veo_3_1_upsampler_4k"
