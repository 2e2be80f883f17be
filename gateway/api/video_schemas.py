"""Wire → domain for ``/v1/videos``: JSON or multipart (the SDK always sends multipart), every shape of
``input_reference`` (a string, a list, ``{image_url}``/``{file_id}``, nested multipart fields, file
parts), and the source ``video`` of an extension or an edit, validated with the offending ``param``
named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gateway.api.bodies import VIDEO, VIDEO_EDIT, VIDEO_EXTENSION, VIDEO_REMIX
from gateway.api.forms import Form
from gateway.api.schemas import MAX_PROMPT_CHARS
from gateway.errors import InvalidRequestError
from gateway.service.inputs import ImageSource
from gateway.wire import Shape

DEFAULT_MODEL = "veo_3_1"
_REFERENCE = re.compile(r"^input_reference(\[\d*\])?$")
_NESTED = re.compile(r"^input_reference(\[\d+\])?\[(image_url|file_id|url)\]$")
_VIDEO_REF = re.compile(r"^video\[id\]$")
UPLOAD_REFUSED = (
    "uploading a video is not supported: Flow extends and edits only videos it made. Pass the id of a "
    'completed video of this gateway as video={"id": "video_..."}'
)


@dataclass(frozen=True, slots=True)
class VideoParams:
    """A validated ``POST /v1/videos``."""

    prompt: str
    model: str
    seconds: str | int | None = None
    size: str | None = None
    quality: str | None = None
    sources: tuple[ImageSource, ...] = ()


@dataclass(frozen=True, slots=True)
class RemixParams:
    """A validated ``POST /v1/videos/{id}/remix``."""

    prompt: str
    model: str | None = None


def parse_video_request(form: Form) -> VideoParams:
    """Validate a create body."""
    fields, sources = _fields_and_sources(form)
    _refuse_unknown(fields, VIDEO)
    return VideoParams(
        prompt=parse_prompt(fields.get("prompt")),
        model=_string(fields.get("model"), "model") or DEFAULT_MODEL,
        seconds=_seconds(fields.get("seconds")),
        size=_string(fields.get("size"), "size"),
        quality=_string(fields.get("quality"), "quality"),
        sources=tuple(sources),
    )


def parse_remix_request(form: Form) -> RemixParams:
    """Validate a remix body: a new prompt (and optionally another model, e.g. with ``extend``)."""
    fields, sources = _fields_and_sources(form)
    if sources:
        raise InvalidRequestError("a remix reuses the source's images", param="input_reference")
    _refuse_unknown(fields, VIDEO_REMIX)
    return RemixParams(prompt=parse_prompt(fields.get("prompt")), model=_string(fields.get("model"), "model"))


@dataclass(frozen=True, slots=True)
class FollowUpParams:
    """A validated ``POST /v1/videos/extensions`` or ``/v1/videos/edits``: the source video by id."""

    video_id: str
    prompt: str
    seconds: str | int | None = None
    model: str | None = None


def parse_extension_request(form: Form) -> FollowUpParams:
    """Validate an extension: ``video`` (``{"id"}``; multipart ``video[id]``), ``prompt``, ``seconds``."""
    fields = _followup_fields(form, VIDEO_EXTENSION)
    return FollowUpParams(
        video_id=_video_id(fields.get("video")),
        prompt=parse_prompt(fields.get("prompt")),
        seconds=_seconds(fields.get("seconds")),
        model=_string(fields.get("model"), "model"),
    )


def parse_edit_request(form: Form) -> FollowUpParams:
    """Validate an edit: ``video`` (``{"id"}``; multipart ``video[id]``) and ``prompt``."""
    fields = _followup_fields(form, VIDEO_EDIT)
    return FollowUpParams(video_id=_video_id(fields.get("video")), prompt=parse_prompt(fields.get("prompt")))


def _followup_fields(form: Form, allowed: Shape) -> dict[str, Any]:
    """Scalars by name, with the SDK's nested ``video[id]`` part read as ``video: {"id": …}``."""
    if "video" in form.files:
        raise InvalidRequestError(UPLOAD_REFUSED, param="video", code="unsupported_video_upload")
    if form.files:
        name = next(iter(form.files))
        raise InvalidRequestError(f"unexpected file part {name!r}", param=name)
    if form.json is not None:
        fields = dict(form.json)
    else:
        fields = {name: values[0] for name, values in form.fields.items() if not _VIDEO_REF.match(name)}
        if "video[id]" in form.fields:
            fields["video"] = {"id": form.fields["video[id]"][0]}
    _refuse_unknown(fields, allowed)
    return fields


def _video_id(value: Any) -> str:
    """``{"id": "video_…"}`` as the SDKs send it (a bare id string is taken too)."""
    if value is None or value == "":
        raise InvalidRequestError(
            'video is required: {"id": "<the id of a completed video>"}',
            param="video",
            code="missing_required_parameter",
        )
    ref = value.get("id") if isinstance(value, dict) else value
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidRequestError(
            'video must be {"id": "<the id of a completed video>"}', param="video", code="invalid_type"
        )
    return ref.strip()


def parse_prompt(value: Any) -> str:
    """A required prompt of at most ``MAX_PROMPT_CHARS`` characters."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidRequestError("prompt is required", param="prompt", code="missing_required_parameter")
    if not isinstance(value, str):
        raise InvalidRequestError("prompt must be a string", param="prompt", code="invalid_type")
    if len(value) > MAX_PROMPT_CHARS:
        raise InvalidRequestError(f"prompt is longer than {MAX_PROMPT_CHARS} characters", param="prompt")
    return value.strip()


def _fields_and_sources(form: Form) -> tuple[dict[str, Any], list[ImageSource]]:
    if form.json is not None:
        return dict(form.json), _json_sources(form.json.get("input_reference"))
    fields: dict[str, Any] = {}
    sources: list[ImageSource] = []
    for name, values in form.fields.items():
        if _REFERENCE.match(name) or _NESTED.match(name):
            sources.extend(ImageSource(param=name, value=v) for v in values)
            fields["input_reference"] = True
        else:
            fields[name] = values[0]
    for name, files in form.files.items():
        if not _REFERENCE.match(name):
            raise InvalidRequestError(f"unexpected file part {name!r}", param=name)
        sources.extend(ImageSource(param=name, data=f) for f in files)
        fields["input_reference"] = True
    return fields, sources


def _json_sources(value: Any) -> list[ImageSource]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        param = f"input_reference[{i}]" if isinstance(value, list) else "input_reference"
        out.append(ImageSource(param=param, value=_reference(item, param)))
    return out


def _reference(item: Any, param: str) -> str:
    """A string, or ``{image_url: "…" | {url}}``, or ``{file_id}``: exactly one of the two."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        given = [k for k in ("image_url", "file_id") if item.get(k)]
        if len(given) == 1:
            ref = item[given[0]]
            if isinstance(ref, dict):
                ref = ref.get("url")
            if isinstance(ref, str) and ref:
                return ref
    raise InvalidRequestError(
        "input_reference must be an image URL, a data URL, base64, or an object with exactly one of "
        "image_url and file_id",
        param=param,
        code="invalid_image",
    )


def _refuse_unknown(fields: dict[str, Any], shape: Shape) -> None:
    for name in fields:
        if name in shape.refused:
            raise InvalidRequestError(shape.refused[name], param=name)
        if name not in shape.names:
            raise InvalidRequestError(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")


def _string(value: Any, param: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(f"{param} must be a string", param=param, code="invalid_type")
    return value.strip()


def _seconds(value: Any) -> str | int | None:
    """``"8"``, ``8`` or ``"8s"`` (the catalogue checks the value against the model's durations)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidRequestError(
            'seconds must be a string such as "8"', param="seconds", code="invalid_value"
        )
    return value
