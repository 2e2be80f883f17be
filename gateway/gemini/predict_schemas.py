"""``:predict`` (Imagen) and ``:predictLongRunning`` (Veo) bodies to plain values.

One instance per call (Imagen and Veo take one). Imagen: ``prompt``; ``sampleCount`` images (1 when
not given, where Google's default is 4: nothing is generated that was not asked for), ``aspectRatio``,
``sampleImageSize``. Veo: ``prompt``; ``image`` (and ``lastFrame``) are the first (and last) frame,
``referenceImages`` (``asset``) the references; ``aspectRatio``, ``durationSeconds``,
``resolution``; one video per operation (``sampleCount`` 1). Ignored (documented): safety and
people settings (Flow applies its own), ``enhancePrompt``, ``compressionQuality``, output MIME type
(the answer says what it is). Refused, by name: what Flow cannot honour (``negativePrompt``,
``seed``, ``storageUri``, silent video, editing with a mask, extending a video here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.errors import InvalidRequestError
from gateway.gemini.fields import (
    a_flag,
    a_list,
    a_string,
    an_int,
    an_object,
    check_fields,
    image_by_uri,
    inline_image,
    one_of,
)
from gateway.gemini.names import Choice
from gateway.service.inputs import ImageSource

MAX_IMAGES = 4
ASPECTS = {a: a for a in ("1:1", "3:4", "4:3", "9:16", "16:9")}
IMAGE_SIZES = {"1k": "1K", "2k": "2K"}
VIDEO_ASPECTS = {"16:9": "16:9", "9:16": "9:16"}
RESOLUTIONS = {"720p": "sd", "1080p": "hd", "4k": "4K"}
NOT_HONOURED = {
    "negativePrompt": "Flow has no negative prompt; say what you want in the prompt",
    "seed": "Flow takes no seed, so the same request would not give the same result",
    "storageUri": "results are kept by this gateway and served from its own URLs",
}
IMAGEN_PARAMETERS = frozenset(
    {
        "sampleCount",
        "aspectRatio",
        "sampleImageSize",
        "personGeneration",
        "safetySetting",
        "includeRaiReason",
        "includeSafetyAttributes",
        "language",
        "enhancePrompt",
        "outputOptions",
        "addWatermark",
    }
)
VEO_PARAMETERS = frozenset(
    {
        "sampleCount",
        "aspectRatio",
        "durationSeconds",
        "resolution",
        "personGeneration",
        "generateAudio",
        "enhancePrompt",
        "compressionQuality",
        "fps",
    }
)
VEO_INSTANCE = frozenset({"prompt", "image", "lastFrame", "referenceImages"})
VEO_INSTANCE_REFUSED = {
    "video": "extend a video with POST /v1/videos/extensions (the OpenAI route) for now",
    "mask": "Flow edits no video with a mask",
}
IMAGE_FIELDS = frozenset({"bytesBase64Encoded", "gcsUri", "mimeType"})


@dataclass(frozen=True, slots=True)
class ImagenRequest:
    """An Imagen ``:predict`` request, as plain values."""

    prompt: str
    n: int
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True, slots=True)
class VeoRequest:
    """A Veo ``:predictLongRunning`` request, as plain values (``frames``: images are frames)."""

    prompt: str
    sources: tuple[ImageSource, ...] = ()
    choices: tuple[Choice, ...] = ()
    frames: bool = False


def parse_imagen(doc: dict[str, Any]) -> ImagenRequest:
    """Validate an Imagen predict body."""
    instance, parameters = _one_instance(doc)
    check_fields(instance, "instances[0]", known=frozenset({"prompt"}), refused=_edit_refused())
    check_fields(parameters, "parameters", known=IMAGEN_PARAMETERS, refused=NOT_HONOURED)
    if a_flag(parameters.get("addWatermark"), "parameters.addWatermark") is False:
        raise InvalidRequestError(
            "parameters.addWatermark: Flow's images always carry Google's SynthID watermark",
            param="parameters.addWatermark",
        )
    choices = []
    aspect = one_of(
        a_string(parameters.get("aspectRatio"), "parameters.aspectRatio"), "parameters.aspectRatio", ASPECTS
    )
    if aspect:
        choices.append(Choice("aspect", aspect, "parameters.aspectRatio"))
    size_field = "parameters.sampleImageSize"
    size = one_of(a_string(parameters.get("sampleImageSize"), size_field), size_field, IMAGE_SIZES)
    if size:
        choices.append(Choice("image_size", size, size_field))
    n = an_int(parameters.get("sampleCount"), "parameters.sampleCount", lowest=1, highest=MAX_IMAGES)
    return ImagenRequest(prompt=_prompt(instance), n=n or 1, choices=tuple(choices))


def parse_veo(doc: dict[str, Any]) -> VeoRequest:
    """Validate a Veo predictLongRunning body."""
    instance, parameters = _one_instance(doc)
    check_fields(instance, "instances[0]", known=VEO_INSTANCE, refused=VEO_INSTANCE_REFUSED)
    check_fields(parameters, "parameters", known=VEO_PARAMETERS, refused=NOT_HONOURED)
    _check_veo_flags(parameters)
    frames = [_image(instance[k], f"instances[0].{k}") for k in ("image", "lastFrame") if instance.get(k)]
    if instance.get("lastFrame") and not instance.get("image"):
        raise InvalidRequestError(
            "instances[0].lastFrame needs instances[0].image (the first frame)",
            param="instances[0].lastFrame",
        )
    references = _references(instance.get("referenceImages"))
    if frames and references:
        raise InvalidRequestError(
            "give either a first (and last) frame or reference images, not both",
            param="instances[0].referenceImages",
        )
    return VeoRequest(
        prompt=_prompt(instance),
        sources=tuple(frames or references),
        choices=_veo_choices(parameters),
        frames=bool(frames),
    )


def _one_instance(doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    check_fields(doc, "", known=frozenset({"instances", "parameters"}), refused={})
    instances = a_list(doc.get("instances"), "instances")
    if len(instances) != 1:
        raise InvalidRequestError(
            f"instances must hold exactly one instance; got {len(instances)}", param="instances"
        )
    return an_object(instances[0], "instances[0]"), an_object(doc.get("parameters"), "parameters")


def _edit_refused() -> dict[str, str]:
    why = "edit with generateContent and a Gemini image model (or POST /v1/images/edits)"
    return {name: why for name in ("image", "mask", "referenceImages")}


def _prompt(instance: dict[str, Any]) -> str:
    prompt = a_string(instance.get("prompt"), "instances[0].prompt")
    if not prompt or not prompt.strip():
        raise InvalidRequestError(
            "instances[0].prompt is required", param="instances[0].prompt", code="missing_required_parameter"
        )
    return prompt.strip()


def _check_veo_flags(parameters: dict[str, Any]) -> None:
    if an_int(parameters.get("sampleCount"), "parameters.sampleCount", lowest=1, highest=4) not in (None, 1):
        raise InvalidRequestError(
            "parameters.sampleCount: one video per operation here; start one operation per video",
            param="parameters.sampleCount",
        )
    if a_flag(parameters.get("generateAudio"), "parameters.generateAudio") is False:
        raise InvalidRequestError(
            "parameters.generateAudio: Flow's Veo 3.1 always makes sound", param="parameters.generateAudio"
        )
    if an_int(parameters.get("fps"), "parameters.fps", lowest=1, highest=120) not in (None, 24):
        raise InvalidRequestError("parameters.fps: Flow's videos are 24 fps", param="parameters.fps")


def _veo_choices(parameters: dict[str, Any]) -> tuple[Choice, ...]:
    choices = []
    aspect = one_of(
        a_string(parameters.get("aspectRatio"), "parameters.aspectRatio"),
        "parameters.aspectRatio",
        VIDEO_ASPECTS,
    )
    if aspect:
        choices.append(Choice("aspect", aspect, "parameters.aspectRatio"))
    seconds = an_int(parameters.get("durationSeconds"), "parameters.durationSeconds", lowest=1, highest=60)
    if seconds is not None:
        choices.append(Choice("duration", str(seconds), "parameters.durationSeconds"))
    resolution = a_string(parameters.get("resolution"), "parameters.resolution")
    size = one_of(resolution, "parameters.resolution", RESOLUTIONS)
    if size:
        choices.append(Choice("video_size", size, "parameters.resolution"))
    return tuple(choices)


def _image(value: Any, where: str) -> ImageSource:
    image = an_object(value, where)
    check_fields(image, where, known=IMAGE_FIELDS, refused={})
    if image.get("gcsUri") and not image.get("bytesBase64Encoded"):
        return image_by_uri(a_string(image["gcsUri"], f"{where}.gcsUri") or "", f"{where}.gcsUri")
    return inline_image(image, where, data="bytesBase64Encoded", mime="mimeType")


def _references(value: Any) -> list[ImageSource]:
    sources = []
    for i, item in enumerate(a_list(value, "instances[0].referenceImages")):
        where = f"instances[0].referenceImages[{i}]"
        reference = an_object(item, where)
        check_fields(reference, where, known=frozenset({"image", "referenceType"}), refused={})
        kind = (a_string(reference.get("referenceType"), f"{where}.referenceType") or "asset").lower()
        if kind not in ("asset", "reference_type_asset"):
            raise InvalidRequestError(
                f"{where}.referenceType: Flow takes asset references only (no style references)",
                param=f"{where}.referenceType",
            )
        sources.append(_image(reference.get("image"), f"{where}.image"))
    return sources
