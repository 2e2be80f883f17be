"""Veo ``videoModelKey`` values: which key a video request uses on each upstream path.

REST (flow-protocol.md §7): the keys flow2api sends, with orientation, ``_ultra`` (Ultra accounts'
twins), ``_relaxed`` (Ultra's unmetered queue) and ``_fl`` (first + last frame) in the key; a single
start frame uses the ``_fl`` key without ``_fl``; 4 s and 6 s keys name the duration and no
orientation. The grammar is irregular, so the keys are spelled out rule by rule below.

flow.google.com: the key comes from the account's own catalogue (``catalogue.FlowCatalogue``)
whenever it could be read; :func:`derived_key` is the fallback, spelled the way the live catalogue
spells its keys (evidence ``account.json``; google-flow-mcp's capture, fograd, btcfoxman): Fast and
Quality 8 s keys carry ``_portrait`` (and Fast its ``_ultra`` twin on Ultra accounts), Lite and 4/6 s
keys no orientation; r2v Fast keeps ``_landscape``/``_portrait``; the low-priority lane ("relaxed"
now) exists only for Lite, duration in the key; extend is the family's extension key
(``veo_3_1_extension_lite`` for Lite). ``[batch] video_key_overrides`` replaces any key.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.domain import Aspect, VideoMode, VideoResolution, VideoSpeed

UPSAMPLERS = {VideoResolution.HD: "veo_3_1_upsampler_1080p", VideoResolution.UHD: "veo_3_1_upsampler_4k"}
# Flow's family keys (HTrJv family[3]) per speed, and Omni Flash's.
FAMILIES = {
    VideoSpeed.QUALITY: "veo_3_1_quality",
    VideoSpeed.FAST: "veo_3_1_fast",
    VideoSpeed.LITE: "veo_3_1_lite",
    VideoSpeed.RELAXED: "veo_3_1_lite_low_priority",
}
OMNI = "abra"
LOW_PRIORITY = "_low_priority"


@dataclass(frozen=True, slots=True)
class KeyPlan:
    """What decides the key: the mode, speed, duration, orientation, and whether the account is Ultra."""

    mode: VideoMode
    speed: VideoSpeed
    seconds: int
    aspect: Aspect
    ultra: bool


def rest_key(plan: KeyPlan) -> str:
    """The REST ``videoModelKey`` for ``plan``."""
    if plan.mode is VideoMode.EXTEND:
        return f"veo_3_1_extend_{_orientation(plan)}"
    if plan.mode is VideoMode.REFERENCES:
        return f"veo_3_1_r2v_fast_{_orientation(plan)}{_twin(plan)}"
    if plan.mode is VideoMode.TEXT:
        return _text_key(plan)
    key = _frames_key(plan)
    if plan.mode is VideoMode.START:
        key = key.removesuffix("_fl").replace("_fl_", "_")
    return key


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """What decides a flow.google.com key: the task, Flow's model family, duration, orientation, tier."""

    mode: VideoMode
    family: str
    seconds: int
    aspect: Aspect
    ultra: bool


def derived_key(plan: BatchPlan, overrides: Mapping[str, str] | None = None) -> str:
    """The flow.google.com key for ``plan`` when the account's catalogue is unknown."""
    family = plan.family
    if family == OMNI:
        key = _omni_key(plan)
    elif family in (FAMILIES[VideoSpeed.LITE], FAMILIES[VideoSpeed.RELAXED]):
        key = _lite_key(plan) + (LOW_PRIORITY if family == FAMILIES[VideoSpeed.RELAXED] else "")
    elif family == FAMILIES[VideoSpeed.FAST]:
        key = _fast_key(plan)
    else:
        key = _quality_key(plan)
    return (overrides or {}).get(key, key)


def _omni_key(plan: BatchPlan) -> str:
    n = plan.seconds
    return {
        VideoMode.START: f"abra_i2v_{n}s",
        VideoMode.START_END: f"omni_flash_i2v_{n}s_first_last",
        VideoMode.REFERENCES: f"abra_r2v_{n}s",
        VideoMode.EDIT: "abra_edit",  # one key whatever the length: an edit keeps its source's
    }.get(plan.mode, f"abra_t2v_{n}s")


def _lite_key(plan: BatchPlan) -> str:
    n, short = plan.seconds, plan.seconds != 8
    return {
        VideoMode.TEXT: f"veo_3_1_t2v_lite_{n}s" if short else "veo_3_1_t2v_lite",
        VideoMode.START: f"veo_3_1_i2v_s_lite_{n}s" if short else "veo_3_1_i2v_lite",
        VideoMode.START_END: f"veo_3_1_i2v_s_lite_{n}s_fl" if short else "veo_3_1_interpolation_lite",
        VideoMode.REFERENCES: "veo_3_1_r2v_lite",
        VideoMode.EXTEND: "veo_3_1_extension_lite",
    }[plan.mode]


def _fast_key(plan: BatchPlan) -> str:
    n, short = plan.seconds, plan.seconds != 8
    o, u, side = _portrait_b(plan), "_ultra" if plan.ultra else "", _side(plan)
    return {
        VideoMode.TEXT: f"veo_3_1_t2v_fast_{n}s" if short else f"veo_3_1_t2v_fast{o}{u}",
        VideoMode.START: f"veo_3_1_i2v_s_fast_{n}s" if short else f"veo_3_1_i2v_s_fast{o}{u}",
        VideoMode.START_END: f"veo_3_1_i2v_s_fast_{n}s_fl" if short else f"veo_3_1_i2v_s_fast{o}{u}_fl",
        VideoMode.REFERENCES: f"veo_3_1_r2v_fast_{side}{u}",
        VideoMode.EXTEND: f"veo_3_1_extend_fast_{side}{u}",
    }[plan.mode]


def _quality_key(plan: BatchPlan) -> str:
    n, short, o = plan.seconds, plan.seconds != 8, _portrait_b(plan)
    return {
        VideoMode.TEXT: f"veo_3_1_t2v_quality_{n}s" if short else f"veo_3_1_t2v{o}",
        VideoMode.START: f"veo_3_1_i2v_s_quality_{n}s" if short else f"veo_3_1_i2v_s{o}",
        VideoMode.START_END: f"veo_3_1_i2v_s_quality_{n}s_fl" if short else f"veo_3_1_i2v_s{o}_fl",
        # No Quality reference-to-video key exists: references are a Fast feature.
        VideoMode.REFERENCES: f"veo_3_1_r2v_fast_{_side(plan)}{'_ultra' if plan.ultra else ''}",
        VideoMode.EXTEND: f"veo_3_1_extend_{_side(plan)}",
    }[plan.mode]


def _portrait_b(plan: BatchPlan) -> str:
    return "_portrait" if plan.aspect is Aspect.PORTRAIT else ""


def _side(plan: BatchPlan) -> str:
    return "portrait" if plan.aspect is Aspect.PORTRAIT else "landscape"


def upsampler_key(resolution: VideoResolution) -> str:
    """The upscale model for 1080p or 4K."""
    return UPSAMPLERS[resolution]


def batch_key_for_upsampler(resolution: VideoResolution, overrides: Mapping[str, str] | None = None) -> str:
    """The upscale model on flow.google.com when the catalogue is unknown (both names are in it)."""
    key = UPSAMPLERS[resolution]
    return (overrides or {}).get(key, key)


def _orientation(plan: KeyPlan) -> str:
    return "portrait" if plan.aspect is Aspect.PORTRAIT else "landscape"


def _portrait(plan: KeyPlan) -> str:
    return "_portrait" if plan.aspect is Aspect.PORTRAIT else ""


def _twin(plan: KeyPlan) -> str:
    """``_ultra`` on Ultra accounts, ``_ultra_relaxed`` for the relaxed queue (which needs Ultra)."""
    if plan.speed is VideoSpeed.RELAXED:
        return "_ultra_relaxed"
    return "_ultra" if plan.ultra and plan.speed is VideoSpeed.FAST else ""


def _text_key(plan: KeyPlan) -> str:
    short = plan.seconds != 8
    if plan.speed is VideoSpeed.LITE:
        return f"veo_3_1_t2v_lite_{plan.seconds}s" if short else "veo_3_1_t2v_lite"
    if plan.speed is VideoSpeed.QUALITY:
        return f"veo_3_1_t2v_quality_{plan.seconds}s" if short else f"veo_3_1_t2v{_portrait(plan)}"
    if short:  # fast: 4 s and 6 s keys exist without orientation or an Ultra twin
        return f"veo_3_1_t2v_fast_{plan.seconds}s"
    return f"veo_3_1_t2v_fast{_portrait(plan)}{_twin(plan)}"


def _frames_key(plan: KeyPlan) -> str:
    short = plan.seconds != 8
    if plan.speed is VideoSpeed.LITE:
        if plan.mode is VideoMode.START_END:
            return f"veo_3_1_i2v_s_lite_{plan.seconds}s_fl" if short else "veo_3_1_interpolation_lite"
        return f"veo_3_1_i2v_s_lite_{plan.seconds}s" if short else "veo_3_1_i2v_lite"
    if plan.speed is VideoSpeed.QUALITY:
        return f"veo_3_1_i2v_s_quality_{plan.seconds}s_fl" if short else f"veo_3_1_i2v_s{_portrait(plan)}_fl"
    if plan.speed is VideoSpeed.RELAXED:  # the relaxed keys carry no _fl and serve both frame modes
        return f"veo_3_1_i2v_s_fast{_portrait(plan)}_ultra_relaxed"
    if short:
        return f"veo_3_1_i2v_s_fast_{plan.seconds}s_fl"
    return f"veo_3_1_i2v_s_fast{_portrait(plan)}{_twin(plan)}_fl"
