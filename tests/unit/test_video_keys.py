"""Veo keys per path, checked against the simulator's own key table (an independent reading of
flow-protocol.md §7) for every combination the gateway can send."""

from __future__ import annotations

import itertools
import re

import pytest

from gateway.domain import Aspect, VideoMode, VideoResolution, VideoSpeed
from gateway.simulator import video_keys as sim
from gateway.upstream.flow import rest_video_schemas as wire
from gateway.upstream.flow import video_keys
from gateway.upstream.flow.video_keys import KeyPlan

SIM_ASPECT = {
    Aspect.PORTRAIT: "VIDEO_ASPECT_RATIO_PORTRAIT",
    Aspect.LANDSCAPE: "VIDEO_ASPECT_RATIO_LANDSCAPE",
}
BATCH_KEY = re.compile(r"^(veo_3_1|abra|omni)_[a-z0-9_]+$")
REST_ERA = re.compile(r"_(portrait|fl|relaxed)(_|$)")


def allowed(mode: VideoMode, speed: VideoSpeed, seconds: int) -> bool:
    """The combinations ``service.videos.check_supported`` lets through."""
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
    batch = video_keys.batch_key(plan)
    assert BATCH_KEY.match(batch) and not REST_ERA.search(batch), batch


def test_tier_twins_and_overrides() -> None:
    fast = KeyPlan(VideoMode.TEXT, VideoSpeed.FAST, 8, Aspect.PORTRAIT, ultra=True)
    assert video_keys.rest_key(fast) == "veo_3_1_t2v_fast_portrait_ultra"
    assert video_keys.rest_key(KeyPlan(VideoMode.TEXT, VideoSpeed.FAST, 8, Aspect.PORTRAIT, ultra=False)) == (
        "veo_3_1_t2v_fast_portrait"
    )
    assert video_keys.batch_key(fast) == "veo_3_1_t2v_fast_ultra"
    assert video_keys.batch_key(fast, {"veo_3_1_t2v_fast_ultra": "veo_3_1_fast_v2"}) == "veo_3_1_fast_v2"
    one_frame = KeyPlan(VideoMode.START, VideoSpeed.FAST, 8, Aspect.LANDSCAPE, ultra=False)
    assert video_keys.rest_key(one_frame) == "veo_3_1_i2v_s_fast"  # the _fl key without _fl
    relaxed = KeyPlan(VideoMode.TEXT, VideoSpeed.RELAXED, 8, Aspect.LANDSCAPE, ultra=True)
    assert video_keys.batch_key(relaxed) == "veo_3_1_t2v_fast_ultra_low_priority"
    assert video_keys.upsampler_key(VideoResolution.UHD) == "veo_3_1_upsampler_4k"
