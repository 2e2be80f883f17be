"""Reading Google's JSON: typed fields or a 400 ``INVALID_ARGUMENT`` naming the field's path.

Google's API refuses a field it does not know ("Unknown name ... Cannot find field"), and so do we.
Each object is read against three sets: fields honoured, fields accepted and documented as having no
effect here (safety knobs Flow applies its own way, sampling knobs of text models), and fields
refused because the gateway cannot honour them (the message says why). Paths are written as
Google's docs write them (``generationConfig.imageConfig.aspectRatio``, ``instances[0].image``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from gateway.errors import InvalidRequestError
from gateway.service.inputs import ImageSource
from gateway.wire import Shape

IMAGE_URL_SCHEMES = ("https://", "http://")


def path_of(where: str, name: str) -> str:
    """``where.name`` (or ``name`` at the top level)."""
    return f"{where}.{name}" if where else name


def check_fields(
    doc: Mapping[str, Any], where: str, *, known: frozenset[str], refused: Mapping[str, str]
) -> None:
    """Refuse unknown fields, and known ones the gateway cannot honour (with the reason)."""
    for name in doc:
        if name in refused:
            raise InvalidRequestError(
                f"{path_of(where, name)} is not supported: {refused[name]}", param=path_of(where, name)
            )
        if name not in known:
            raise InvalidRequestError(
                f"Invalid JSON payload received. Unknown name \"{name}\" at '{where or 'body'}': "
                "Cannot find field.",
                param=path_of(where, name),
                code="unknown_parameter",
            )


def check_shape(doc: Mapping[str, Any], where: str, shape: Shape) -> None:
    """:func:`check_fields` with the sets of ``shape`` (honoured and ignored names known; refused
    ones with their reasons)."""
    check_fields(doc, where, known=shape.names, refused=shape.refused)


def an_object(value: Any, where: str) -> dict[str, Any]:
    """``value`` as a JSON object (absent: empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequestError(f"{where} must be an object", param=where, code="invalid_type")
    return value


def a_list(value: Any, where: str) -> list[Any]:
    """``value`` as a JSON array (absent: empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRequestError(f"{where} must be an array", param=where, code="invalid_type")
    return value


def a_string(value: Any, where: str) -> str | None:
    """``value`` as a string, or None when absent."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(f"{where} must be a string", param=where, code="invalid_type")
    return value


def an_int(value: Any, where: str, *, lowest: int, highest: int) -> int | None:
    """``value`` as an integer in ``lowest..highest`` (proto3 JSON also writes integers as strings)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidRequestError(f"{where} must be an integer", param=where, code="invalid_type")
    try:
        number = int(value)
    except ValueError:
        raise InvalidRequestError(f"{where} must be an integer", param=where, code="invalid_type") from None
    if not lowest <= number <= highest:
        raise InvalidRequestError(
            f"{where} must be from {lowest} to {highest}; got {number}", param=where, code="invalid_value"
        )
    return number


def a_flag(value: Any, where: str) -> bool | None:
    """``value`` as a boolean, or None when absent."""
    if value is None or isinstance(value, bool):
        return value
    raise InvalidRequestError(f"{where} must be true or false", param=where, code="invalid_type")


def one_of(value: str | None, where: str, allowed: Mapping[str, str]) -> str | None:
    """``value`` (case-insensitive) mapped through ``allowed``; another value is a 400 listing them."""
    if value is None:
        return None
    found = allowed.get(value.strip().lower())
    if found is None:
        raise InvalidRequestError(
            f"{where} must be one of {', '.join(allowed)}; got {value!r}", param=where, code="invalid_value"
        )
    return found


def inline_image(doc: Mapping[str, Any], where: str, *, data: str, mime: str) -> ImageSource:
    """An image given inline (``data``: the base64 field's name, ``mime``: the MIME type's)."""
    raw = a_string(doc.get(data), path_of(where, data))
    if not raw:
        raise InvalidRequestError(
            f"{path_of(where, data)} is required",
            param=path_of(where, data),
            code="missing_required_parameter",
        )
    mime_type = a_string(doc.get(mime), path_of(where, mime))
    if mime_type and not mime_type.lower().startswith("image/"):
        raise InvalidRequestError(
            f"{path_of(where, mime)} must be an image type; got {mime_type!r}", param=path_of(where, mime)
        )
    return ImageSource(param=path_of(where, data), value=raw)


def image_by_uri(uri: str, where: str) -> ImageSource:
    """An image at a URL (fetched with the SSRF rules of every image URL); ``gs://`` and uploaded
    ``files/...`` cannot be read by this gateway."""
    if not uri.startswith(IMAGE_URL_SCHEMES):
        raise InvalidRequestError(
            f"{where} must be an https:// URL of an image (this gateway reads neither gs:// nor "
            "uploaded files/...); or send the bytes inline",
            param=where,
        )
    return ImageSource(param=where, value=uri)


@contextlib.contextmanager
def fields_named(names: Mapping[str, str]) -> Iterator[None]:
    """Rename, in a 400 raised by a service, the OpenAI parameter it names to Google's field
    (``seconds`` -> ``parameters.durationSeconds``): the service's rule stays the service's."""
    try:
        yield
    except InvalidRequestError as exc:
        if exc.param is not None and exc.param in names:
            exc.param = names[exc.param]
        raise
