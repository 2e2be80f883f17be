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
from gateway.gemini.bodies import (
    IMAGE,
    IMAGEN_INSTANCE,
    IMAGEN_PARAMETERS,
    IMAGEN_REQUEST,
    REFERENCE_IMAGE,
    VEO_INSTANCE,
    VEO_PARAMETERS,
)
from gateway.gemini.fields import (
    a_flag,
    a_list,
    a_string,
    an_int,
    an_object,
    check_shape,
    image_by_uri,
    inline_image,
    one_of,
)
from gateway.gemini.names import Choice
from gateway.service.inputs import ImageSource

# Read from the bodies' shapes (the one description the OpenAPI document publishes too).
ASPECTS = {a: a for a in IMAGEN_PARAMETERS.enum("aspectRatio")}
IMAGE_SIZES = {s.lower(): s for s in IMAGEN_PARAMETERS.enum("sampleImageSize")}
VIDEO_ASPECTS = {a: a for a in VEO_PARAMETERS.enum("aspectRatio")}
_FLOW_SIZES = {"720p": "sd", "1080p": "hd", "4k": "4K"}  # Google's resolution -> the catalogue's size
RESOLUTIONS = {r: _FLOW_SIZES[r] for r in VEO_PARAMETERS.enum("resolution")}


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
    check_shape(instance, "instances[0]", IMAGEN_INSTANCE)
    check_shape(parameters, "parameters", IMAGEN_PARAMETERS)
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
    low, high = IMAGEN_PARAMETERS.bounds("sampleCount")
    n = an_int(parameters.get("sampleCount"), "parameters.sampleCount", lowest=low, highest=high)
    return ImagenRequest(prompt=_prompt(instance), n=n or 1, choices=tuple(choices))


def parse_veo(doc: dict[str, Any]) -> VeoRequest:
    """Validate a Veo predictLongRunning body."""
    instance, parameters = _one_instance(doc)
    check_shape(instance, "instances[0]", VEO_INSTANCE)
    check_shape(parameters, "parameters", VEO_PARAMETERS)
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
    check_shape(doc, "", IMAGEN_REQUEST)  # Veo's top level has the same two fields
    instances = a_list(doc.get("instances"), "instances")
    if len(instances) != 1:
        raise InvalidRequestError(
            f"instances must hold exactly one instance; got {len(instances)}", param="instances"
        )
    return an_object(instances[0], "instances[0]"), an_object(doc.get("parameters"), "parameters")


def _prompt(instance: dict[str, Any]) -> str:
    prompt = a_string(instance.get("prompt"), "instances[0].prompt")
    if not prompt or not prompt.strip():
        raise InvalidRequestError(
            "instances[0].prompt is required", param="instances[0].prompt", code="missing_required_parameter"
        )
    return prompt.strip()


def _check_veo_flags(parameters: dict[str, Any]) -> None:
    low, high = VEO_PARAMETERS.bounds("sampleCount")
    if an_int(parameters.get("sampleCount"), "parameters.sampleCount", lowest=low, highest=high) not in (
        None,
        1,
    ):
        raise InvalidRequestError(
            "parameters.sampleCount: one video per operation here; start one operation per video",
            param="parameters.sampleCount",
        )
    if a_flag(parameters.get("generateAudio"), "parameters.generateAudio") is False:
        raise InvalidRequestError(
            "parameters.generateAudio: Flow's Veo 3.1 always makes sound", param="parameters.generateAudio"
        )
    low, high = VEO_PARAMETERS.bounds("fps")
    if an_int(parameters.get("fps"), "parameters.fps", lowest=low, highest=high) not in (None, 24):
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
    low, high = VEO_PARAMETERS.bounds("durationSeconds")
    seconds = an_int(
        parameters.get("durationSeconds"), "parameters.durationSeconds", lowest=low, highest=high
    )
    if seconds is not None:
        choices.append(Choice("duration", str(seconds), "parameters.durationSeconds"))
    resolution = a_string(parameters.get("resolution"), "parameters.resolution")
    size = one_of(resolution, "parameters.resolution", RESOLUTIONS)
    if size:
        choices.append(Choice("video_size", size, "parameters.resolution"))
    return tuple(choices)


def _image(value: Any, where: str) -> ImageSource:
    image = an_object(value, where)
    check_shape(image, where, IMAGE)
    if image.get("gcsUri") and not image.get("bytesBase64Encoded"):
        return image_by_uri(a_string(image["gcsUri"], f"{where}.gcsUri") or "", f"{where}.gcsUri")
    return inline_image(image, where, data="bytesBase64Encoded", mime="mimeType")


def _references(value: Any) -> list[ImageSource]:
    sources = []
    for i, item in enumerate(a_list(value, "instances[0].referenceImages")):
        where = f"instances[0].referenceImages[{i}]"
        reference = an_object(item, where)
        check_shape(reference, where, REFERENCE_IMAGE)
        kind = (a_string(reference.get("referenceType"), f"{where}.referenceType") or "asset").lower()
        if kind not in ("asset", "reference_type_asset"):
            raise InvalidRequestError(
                f"{where}.referenceType: Flow takes asset references only (no style references)",
                param=f"{where}.referenceType",
            )
        sources.append(_image(reference.get("image"), f"{where}.image"))
    return sources
