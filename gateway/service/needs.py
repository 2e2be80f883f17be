"""What an account's own Flow catalogue must offer to serve a request (the pool's ``needs``).

Each need is a set of alternatives, one of which the account must offer: an image model that
several Flow codes serve (Nano Banana 2 or 2.1), a video of a family, task, duration and aspect,
an upscale to a resolution. Accounts whose catalogue is unknown (REST accounts, or one that could
not be read) are not filtered by needs at all.
"""

from __future__ import annotations

from gateway.domain import GenerationSpec, ImageResolution, VideoMode, VideoOptions, VideoResolution
from gateway.upstream.flow.catalogue import IMAGE_UPSCALES, image_need, upscale_need, video_need

Needs = tuple[frozenset[str], ...]


def image_needs(spec: GenerationSpec) -> Needs:
    """One of the spec's Flow codes, and the upscale its size needs."""
    needs = [frozenset(image_need(code) for code in spec.upstream_models or (spec.upstream_model,))]
    if spec.resolution is not ImageResolution.R1K:
        needs.append(frozenset({image_need(IMAGE_UPSCALES[spec.resolution])}))
    return tuple(needs)


def video_needs(spec: GenerationSpec, mode: VideoMode) -> Needs:
    """The task in the spec's family, and the upscale its resolution needs."""
    video = spec.video or VideoOptions()
    needs = [frozenset({video_need(spec.upstream_model, mode, video.seconds, spec.aspect.value)})]
    if video.resolution is not VideoResolution.SD:
        needs.append(frozenset({upscale_need(video.resolution.value)}))
    return tuple(needs)


def image_code(spec: GenerationSpec, models: tuple[str, ...], *, known: bool) -> str:
    """The Flow code an account uses for ``spec``: the first its catalogue lists (when known)."""
    if known:
        return next((code for code in spec.upstream_models if code in models), spec.upstream_model)
    return spec.upstream_model
