"""Reading a request body into one shape, whatever its encoding: JSON, multipart or urlencoded.

Multipart is streamed part by part with per-file and total caps (a 413 names the part), so a huge
upload is refused without being buffered; each file must decode as an image Flow takes (a 400 names
the part) before anything goes upstream. Field values stay strings as the wire sent them; typed
parsing is ``schemas``' job. A body that cannot be read at all (a ``Content-Encoding`` that does not
decode, a connection cut short) is the error middleware's to answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from gateway import keys
from gateway.domain import ImageData
from gateway.errors import InvalidRequestError, PayloadTooLargeError
from gateway.media.images import verify_input_image

MAX_FIELD_BYTES = 256 * 1024
READ_CHUNK = 64 * 1024


@dataclass(slots=True)
class Form:
    """A parsed body: ``json`` for JSON bodies, else string ``fields`` and ``files`` by part name."""

    json: dict[str, Any] | None = None
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[ImageData]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps on what a body may carry."""

    max_file_bytes: int
    max_total_bytes: int
    max_files: int


def limits_of(request: web.Request) -> Limits:
    """The configured caps (per image, per body, images per request)."""
    settings = request.app[keys.SETTINGS]
    return Limits(
        settings.media.max_input_bytes, settings.server.max_body_bytes, settings.media.max_input_images
    )


async def read_form(request: web.Request, limits: Limits) -> Form:
    """Parse the body according to its content type; an empty body is an empty JSON object."""
    ctype = request.content_type
    if ctype.startswith("multipart/"):
        return await _read_multipart(request, limits)
    if ctype == "application/x-www-form-urlencoded":
        post = await request.post()
        form = Form()
        for key, value in post.items():
            form.fields.setdefault(key, []).append(str(value))
        return form
    raw = await request.read()
    if not raw.strip():
        return Form(json={})
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestError(
            f"We could not parse the JSON body of your request: {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno})",
            code="invalid_json",
        ) from None
    if not isinstance(doc, dict):
        raise InvalidRequestError("The request body must be a JSON object.", code="invalid_json")
    return Form(json=doc)


async def _read_multipart(request: web.Request, limits: Limits) -> Form:
    form = Form()
    total = 0
    files = 0
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise InvalidRequestError(
                    "nested multipart bodies are not supported", code="invalid_multipart"
                )
            name = part.name or ""
            if part.filename is not None:
                files += 1
                if files > limits.max_files:
                    raise InvalidRequestError(f"at most {limits.max_files} files per request", param=name)
                data = await _read_part(
                    part, name, min(limits.max_file_bytes, limits.max_total_bytes - total)
                )
                total += len(data)
                form.files.setdefault(name, []).append(await verify_input_image(data, param=name or "image"))
            else:
                data = await _read_part(part, name, MAX_FIELD_BYTES)
                form.fields.setdefault(name, []).append(data.decode("utf-8", errors="replace"))
    except (ValueError, HttpProcessingError):  # how aiohttp's multipart reader signals a malformed body
        raise InvalidRequestError("malformed multipart body", code="invalid_multipart") from None
    return form


async def _read_part(part: BodyPartReader, name: str, cap: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(READ_CHUNK):
        size += len(chunk)
        if size > cap:
            raise PayloadTooLargeError(
                f"part {name!r} is larger than {max(cap, 0)} bytes", param=name or None
            )
        chunks.append(chunk)
    return b"".join(chunks)
