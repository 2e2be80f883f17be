"""Veo model keys the fake aisandbox accepts, which submit method each belongs to, and their cost class.

The set is the REST-era keys of flow-protocol.md §7, plus the ``_fl``-stripped twins flow2api sends
to StartImage when only one frame is given. Which keys the real upstream accepts per tier and per
method can only be confirmed live (open question 6); the rules here are the simulator's reading of
the key names:

- ``t2v``/``abra_t2v`` keys go to Text, ``r2v``/``abra_r2v`` to ReferenceImages, ``extend`` to
  ExtendVideo, ``upsampler`` to UpsampleVideo;
- ``interpolation`` and ``…_fl`` keys go to StartAndEndImage, other ``i2v`` keys to StartImage
  (the relaxed i2v keys carry no ``_fl`` and are accepted by both frame methods);
- ``_ultra`` keys, relaxed keys and the 4K upsampler need ``PAYGATE_TIER_TWO``;
- a key naming an orientation (``portrait``/``landscape``) must agree with ``aspectRatio``.
"""

from __future__ import annotations

FREE_KEYS = frozenset(
    {
        "veo_3_1_t2v_fast",
        "veo_3_1_t2v_fast_portrait",
        "veo_3_1_t2v_fast_4s",
        "veo_3_1_t2v_fast_6s",
        "veo_3_1_t2v",
        "veo_3_1_t2v_portrait",
        "veo_3_1_t2v_quality_4s",
        "veo_3_1_t2v_quality_6s",
        "veo_3_1_t2v_lite",
        "veo_3_1_t2v_lite_4s",
        "veo_3_1_t2v_lite_6s",
        "veo_3_1_i2v_s_fast_fl",
        "veo_3_1_i2v_s_fast_portrait_fl",
        "veo_3_1_i2v_s_fast",
        "veo_3_1_i2v_s_fast_portrait",
        "veo_3_1_i2v_s_fast_4s_fl",
        "veo_3_1_i2v_s_fast_6s_fl",
        "veo_3_1_i2v_s_fast_4s",
        "veo_3_1_i2v_s_fast_6s",
        "veo_3_1_i2v_s_fl",
        "veo_3_1_i2v_s_portrait_fl",
        "veo_3_1_i2v_s",
        "veo_3_1_i2v_s_portrait",
        "veo_3_1_i2v_s_quality_4s_fl",
        "veo_3_1_i2v_s_quality_6s_fl",
        "veo_3_1_i2v_s_quality_4s",
        "veo_3_1_i2v_s_quality_6s",
        "veo_3_1_i2v_lite",
        "veo_3_1_i2v_s_lite_4s",
        "veo_3_1_i2v_s_lite_6s",
        "veo_3_1_interpolation_lite",
        "veo_3_1_i2v_s_lite_4s_fl",
        "veo_3_1_i2v_s_lite_6s_fl",
        "veo_3_1_r2v_fast_landscape",
        "veo_3_1_r2v_fast_portrait",
        "veo_3_1_extend_landscape",
        "veo_3_1_extend_portrait",
        "veo_3_1_upsampler_1080p",
        "abra_t2v_8s",
        "abra_r2v_8s",
    }
)
ULTRA_KEYS = frozenset(
    {
        "veo_3_1_t2v_fast_ultra",
        "veo_3_1_t2v_fast_portrait_ultra",
        "veo_3_1_t2v_fast_ultra_relaxed",
        "veo_3_1_t2v_fast_portrait_ultra_relaxed",
        "veo_3_1_i2v_s_fast_ultra_fl",
        "veo_3_1_i2v_s_fast_portrait_ultra_fl",
        "veo_3_1_i2v_s_fast_ultra",
        "veo_3_1_i2v_s_fast_portrait_ultra",
        "veo_3_1_i2v_s_fast_ultra_relaxed",
        "veo_3_1_i2v_s_fast_portrait_ultra_relaxed",
        "veo_3_1_r2v_fast_landscape_ultra",
        "veo_3_1_r2v_fast_portrait_ultra",
        "veo_3_1_r2v_fast_landscape_ultra_relaxed",
        "veo_3_1_r2v_fast_portrait_ultra_relaxed",
        "veo_3_1_upsampler_4k",
    }
)
KNOWN_KEYS = FREE_KEYS | ULTRA_KEYS
ASPECTS = ("VIDEO_ASPECT_RATIO_LANDSCAPE", "VIDEO_ASPECT_RATIO_PORTRAIT")
UPSAMPLE_RESOLUTIONS = {
    "VIDEO_RESOLUTION_1080P": "veo_3_1_upsampler_1080p",
    "VIDEO_RESOLUTION_4K": "veo_3_1_upsampler_4k",
}


def methods_for(key: str) -> tuple[str, ...]:
    """The submit methods (``batchAsyncGenerateVideo<Method>``) a key may be used with."""
    if "upsampler" in key:
        return ("UpsampleVideo",)
    if "extend" in key:
        return ("ExtendVideo",)
    if "r2v" in key:
        return ("ReferenceImages",)
    if "t2v" in key:
        return ("Text",)
    if key.endswith("_relaxed"):
        return ("StartImage", "StartAndEndImage")
    if "interpolation" in key or key.endswith("_fl"):
        return ("StartAndEndImage",)
    return ("StartImage",)


def needs_ultra(key: str) -> bool:
    """True for keys only a PAYGATE_TIER_TWO account may use."""
    return key in ULTRA_KEYS


def orientation_ok(key: str, aspect: str) -> bool:
    """False when the key names one orientation and ``aspectRatio`` is the other."""
    if "portrait" in key:
        return aspect == "VIDEO_ASPECT_RATIO_PORTRAIT"
    if "landscape" in key:
        return aspect == "VIDEO_ASPECT_RATIO_LANDSCAPE"
    return True


def cost_class(key: str) -> str:
    """The credit class of a key: relaxed, lite, fast, upsample or quality (``video_credits`` knob)."""
    for speed in ("relaxed", "lite", "fast"):
        if speed in key:
            return speed
    return "upsample" if "upsampler" in key else "quality"
