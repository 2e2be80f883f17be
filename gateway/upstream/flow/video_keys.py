"""Veo ``videoModelKey`` values: which key a video request uses on each upstream path.

REST (flow-protocol.md §7): the keys flow2api sends, with orientation, ``_ultra`` (Ultra accounts'
twins), ``_relaxed`` (Ultra's unmetered queue) and ``_fl`` (first + last frame) in the key; a single
start frame uses the ``_fl`` key without ``_fl``; 4 s and 6 s keys name the duration and no
orientation. The grammar is irregular, so the keys are spelled out rule by rule below.

flow.google.com (flow-migration.md §2.4): duration in the key (8 s is the bare key), aspect in its
own slot, and the REST-era ``_portrait``/``_fl``/``_relaxed`` suffixes refused. The batch key is the
REST key without orientation and ``_fl``, with ``_relaxed`` as ``_low_priority`` (the suffix the
captured low-priority keys carry). That mapping is a reading of captured key names, not a
confirmed table: ``[batch] video_key_overrides`` replaces any computed key without a code change.
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.domain import Aspect, VideoMode, VideoResolution, VideoSpeed

UPSAMPLERS = {VideoResolution.HD: "veo_3_1_upsampler_1080p", VideoResolution.UHD: "veo_3_1_upsampler_4k"}
_BATCH_DROP = re.compile(r"_(portrait|landscape|fl)(?=_|$)")


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


def batch_key(plan: KeyPlan, overrides: Mapping[str, str] | None = None) -> str:
    """The flow.google.com key for ``plan`` (see the module docstring for how sure this is)."""
    key = _BATCH_DROP.sub("", rest_key(plan)).replace("_relaxed", "_low_priority")
    return (overrides or {}).get(key, key)


def upsampler_key(resolution: VideoResolution) -> str:
    """The upscale model for 1080p or 4K."""
    return UPSAMPLERS[resolution]


def batch_key_for_upsampler(resolution: VideoResolution, overrides: Mapping[str, str] | None = None) -> str:
    """The upscale model on flow.google.com (1080p is confirmed; 4K is the same name, unconfirmed)."""
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
