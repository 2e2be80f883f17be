"""Wire → domain for the image routes: typed, validated parameters or an error naming the ``param``.

Accepts what the OpenAI SDK and hand-written clients send (JSON or multipart, scalars as strings
in multipart, ``image`` / ``image[]`` / ``image[N]`` parts, JSON ``image`` / ``images``). Fields of
OpenAI's image API that Flow has no use for are accepted; unknown fields and values Flow cannot
honour are refused by name, so nothing is silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gateway.api.bodies import IMAGE_EDIT, IMAGE_GENERATION
from gateway.api.forms import Form
from gateway.domain import ResponseFormat
from gateway.errors import InvalidRequestError
from gateway.service.inputs import ImageSource

# Read from the bodies' shapes (the one description the OpenAPI document publishes too).
MAX_PROMPT_CHARS = IMAGE_GENERATION.max_length("prompt")
MIN_N, MAX_N = IMAGE_GENERATION.bounds("n")
_IMAGE_PART = re.compile(r"^image(\[\d*\])?$")
# OpenAI's output formats, and ``jpg`` (this gateway's earlier spelling) for ``jpeg``. Flow renders
# its own format; the response's ``output_format`` says which, in OpenAI's names.
OUTPUT_FORMATS = frozenset(IMAGE_GENERATION.enum("output_format"))


@dataclass(frozen=True, slots=True)
class ImageParams:
    """A validated image request."""

    prompt: str
    model: str
    n: int
    response_format: ResponseFormat
    size: str | None = None
    quality: str | None = None
    sources: tuple[ImageSource, ...] = ()
    as_task: bool = False


def parse_image_request(form: Form, *, edit: bool, max_images: int) -> ImageParams:
    """Validate an images/generations (``edit=False``) or images/edits body."""
    fields = _fields(form)
    shape = IMAGE_EDIT if edit else IMAGE_GENERATION
    allowed = shape.names | shape.refused.keys()  # refused ones get their own message below
    for name in fields:
        if name not in allowed:
            raise InvalidRequestError(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
    _refuse_unsupported(fields)
    sources = _sources(form, fields) if edit else ()
    if edit and not sources:
        raise InvalidRequestError(
            "at least one input image is required", param="image", code="missing_required_parameter"
        )
    if len(sources) > max_images:
        raise InvalidRequestError(f"at most {max_images} input images", param="image")
    return ImageParams(
        prompt=_prompt(fields.get("prompt")),
        model=_required_str(fields.get("model"), "model"),
        n=parse_n(fields.get("n")),
        response_format=_response_format(fields.get("response_format")),
        size=_optional_str(fields.get("size"), "size"),
        quality=_optional_str(fields.get("quality"), "quality"),
        sources=sources,
        as_task=_truthy(fields.get("async")),
    )


def _fields(form: Form) -> dict[str, Any]:
    """Scalars by name: the JSON object, or the first value of each multipart field."""
    if form.json is not None:
        return dict(form.json)
    out: dict[str, Any] = {}
    for name, values in form.fields.items():
        key = "image" if _IMAGE_PART.match(name) else name
        out[key] = values if key == "image" else values[0]
    for name in form.files:
        out.setdefault("image" if _IMAGE_PART.match(name) else name, None)
    return out


def _refuse_unsupported(fields: dict[str, Any]) -> None:
    if _truthy(fields.get("stream")):
        raise InvalidRequestError(
            "streaming is not supported on image routes; use /v1/chat/completions with stream", param="stream"
        )
    if "mask" in fields:
        raise InvalidRequestError(IMAGE_EDIT.refused["mask"], param="mask")
    if fields.get("background") == "transparent":
        raise InvalidRequestError("transparent backgrounds are not supported by Flow", param="background")
    fmt = fields.get("output_format")
    if fmt not in (None, "") and (not isinstance(fmt, str) or fmt.strip().lower() not in OUTPUT_FORMATS):
        raise InvalidRequestError(
            "output_format must be one of png, jpeg (or jpg), webp",
            param="output_format",
            code="invalid_value",
        )


def _sources(form: Form, fields: dict[str, Any]) -> tuple[ImageSource, ...]:
    sources: list[ImageSource] = []
    for name, files in form.files.items():
        if not _IMAGE_PART.match(name):
            raise InvalidRequestError(f"unexpected file part {name!r}", param=name)
        sources.extend(ImageSource(param=name, data=f) for f in files)
    sources.extend(_string_sources(fields.get("image"), "image"))
    sources.extend(_object_sources(fields.get("images")))
    return tuple(sources)


def _string_sources(value: Any, param: str) -> list[ImageSource]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        name = f"{param}[{i}]" if len(items) > 1 else param
        if not isinstance(item, str):
            raise InvalidRequestError("image must be a URL, a data URL, base64 or a result id", param=name)
        out.append(ImageSource(param=name, value=item))
    return out


def _object_sources(value: Any) -> list[ImageSource]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRequestError("images must be an array", param="images")
    out = []
    for i, item in enumerate(value):
        ref = item.get("image_url") or item.get("file_id") if isinstance(item, dict) else item
        if isinstance(ref, dict):
            ref = ref.get("url")
        if not isinstance(ref, str):
            raise InvalidRequestError("each image needs image_url or file_id", param=f"images[{i}]")
        out.append(ImageSource(param=f"images[{i}]", value=ref))
    return out


def parse_n(value: Any) -> int:
    """``n`` as an int in ``MIN_N..MAX_N`` (multipart sends it as a string)."""
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidRequestError(
            f"n must be an integer from {MIN_N} to {MAX_N}", param="n", code="invalid_value"
        )
    try:
        n = int(value)
    except ValueError:
        raise InvalidRequestError(
            f"n must be an integer from {MIN_N} to {MAX_N}", param="n", code="invalid_value"
        ) from None
    if not MIN_N <= n <= MAX_N:
        raise InvalidRequestError(f"n must be from 1 to {MAX_N}, got {n}", param="n", code="invalid_value")
    return n


def _prompt(value: Any) -> str:
    prompt = _required_str(value, "prompt")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidRequestError(f"prompt is longer than {MAX_PROMPT_CHARS} characters", param="prompt")
    return prompt


def _required_str(value: Any, param: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidRequestError(f"{param} is required", param=param, code="missing_required_parameter")
    if not isinstance(value, str):
        raise InvalidRequestError(f"{param} must be a string", param=param, code="invalid_type")
    return value.strip()


def _optional_str(value: Any, param: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(f"{param} must be a string", param=param, code="invalid_type")
    return value.strip()


def _response_format(value: Any) -> ResponseFormat:
    if value is None or value == "":
        return ResponseFormat.B64_JSON
    try:
        return ResponseFormat(value)
    except ValueError:
        raise InvalidRequestError(
            "response_format must be 'b64_json' or 'url'", param="response_format", code="invalid_value"
        ) from None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in {"true", "1"})


def truthy(value: Any) -> bool:
    """``true``, ``"true"`` or ``"1"`` (query strings and multipart send booleans as text)."""
    return _truthy(value)
