"""Pure helpers for image bytes: MIME sniffing by magic bytes, base64 / data-URL decoding, dimensions,
and the check that a client's image really is one Flow takes (it decodes, whole) before anything
is sent upstream.

Pillow only ever sees the formats listed here, never its other plugins (some of which run external
programs), and an image's pixel count is checked before its pixels are decoded, so a small file
cannot expand into gigabytes. Decoding is CPU work during which Pillow releases the GIL: the async
variants run it in a thread.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import enum
import io
import re
import struct
from collections.abc import Mapping

from PIL import Image

from gateway.domain import ImageData
from gateway.errors import InvalidRequestError, PayloadTooLargeError

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^,;]*)*?);base64,", re.IGNORECASE)
_B64_CHARS = re.compile(rb"^[A-Za-z0-9+/]*={0,2}$")
_WHITESPACE = re.compile(r"\s+")
EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/bmp": "bmp",
    "video/mp4": "mp4",
}
OUTPUT_FORMATS = {"image/jpeg": "jpeg", "image/png": "png", "image/webp": "webp"}
# What Flow's upload takes (the simulator, our witness, refuses anything else), by Pillow's format name.
INPUT_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
# Above Flow's largest output (4K: 16.8 MP) and below Pillow's own bomb warning (~89 MP).
MAX_PIXELS = 50_000_000
# What Pillow raises for a file that starts like an image and is not one (or is cut short).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombError)


class Defect(enum.StrEnum):
    """Why bytes are not the media they claim to be."""

    EMPTY = "empty"
    NOT_MEDIA = "not_media"  # no magic number we know: an HTML error page, JSON, random bytes
    WRONG_KIND = "wrong_kind"  # a video where an image was expected, or the reverse
    UNSUPPORTED = "unsupported_format"  # a real format, but not one accepted here (BMP, GIF result)
    UNDECODABLE = "undecodable"  # the format's magic number, then garbage or a truncated file
    TOO_LARGE = "too_large"  # more pixels than MAX_PIXELS


def sniff_mime(data: bytes) -> str | None:
    """The MIME type by magic bytes, or None when it is none we know."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:2] == b"BM" and len(data) > 26:
        return "image/bmp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return None


def extension_for(mime: str) -> str:
    """File extension (without dot) for a MIME type we store."""
    return EXTENSIONS.get(mime, "bin")


def output_format_of(mime: str) -> str:
    """An image's ``output_format`` as OpenAI names it (``jpeg``, not the file extension ``jpg``)."""
    return OUTPUT_FORMATS.get(mime, extension_for(mime))


def decode_image_string(value: str, *, param: str, max_bytes: int) -> ImageData:
    """Decode a ``data:image/...;base64,`` URL or bare base64 into an image, refusing non-images."""
    text = value.strip()
    match = _DATA_URL.match(text)
    if match:
        text = text[match.end() :]
    elif text.startswith("data:"):
        raise InvalidRequestError(
            "data URLs must be base64-encoded images", param=param, code="invalid_image"
        )
    if len(text) > max_bytes * 4 // 3 + 1024:
        raise PayloadTooLargeError(f"image is larger than {max_bytes} bytes", param=param)
    compact = (
        _WHITESPACE.sub("", text).encode("ascii", errors="replace").replace(b"-", b"+").replace(b"_", b"/")
    )
    compact += b"=" * (-len(compact) % 4)
    if not compact or not _B64_CHARS.match(compact):
        raise InvalidRequestError(
            "image is not valid base64, a data URL or an http(s) URL", param=param, code="invalid_image"
        )
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequestError("image is not valid base64", param=param, code="invalid_image") from None
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"image is larger than {max_bytes} bytes", param=param)
    return check_input_image(data, param=param)


async def decode_image_input(value: str, *, param: str, max_bytes: int) -> ImageData:
    """:func:`decode_image_string` in a thread: base64 and the decode check stay off the event loop."""
    return await asyncio.to_thread(decode_image_string, value, param=param, max_bytes=max_bytes)


def image_defect(data: bytes, formats: Mapping[str, str]) -> tuple[str | None, Defect | None]:
    """The sniffed MIME type, and what is wrong with ``data`` as an image of one of ``formats``
    (MIME type -> Pillow format name) once fully decoded; ``None`` when nothing is."""
    mime = sniff_mime(data)
    if not data:
        return mime, Defect.EMPTY
    if mime is None:
        return mime, Defect.NOT_MEDIA
    if not mime.startswith("image/"):
        return mime, Defect.WRONG_KIND
    if mime not in formats:
        return mime, Defect.UNSUPPORTED
    try:
        with Image.open(io.BytesIO(data), formats=[formats[mime]]) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                return mime, Defect.TOO_LARGE
            # A JPEG decodes at 1/8 scale: every byte is still read (so truncation shows), in 1/64
            # of the memory. Then the whole first frame: a corrupt file fails here, not upstream.
            image.draft(image.mode, (width // 8, height // 8))
            image.load()
    except Image.DecompressionBombWarning:  # raised only where warnings are errors (the tests)
        return mime, Defect.TOO_LARGE
    except _DECODE_ERRORS:
        return mime, Defect.UNDECODABLE
    return mime, None


def check_input_image(data: bytes, *, param: str) -> ImageData:
    """A client's image as ``ImageData`` if it decodes as a format Flow takes; else a 400 (413 when it
    has too many pixels) naming ``param``."""
    mime, defect = image_defect(data, INPUT_FORMATS)
    if defect is None and mime is not None:
        return ImageData(data, mime)
    if defect is Defect.TOO_LARGE:
        raise PayloadTooLargeError(f"image has more than {MAX_PIXELS} pixels", param=param)
    message = _INPUT_MESSAGES.get(defect or Defect.NOT_MEDIA, _NOT_AN_IMAGE)
    raise InvalidRequestError(message, param=param, code="invalid_image")


async def verify_input_image(data: bytes, *, param: str) -> ImageData:
    """:func:`check_input_image` in a thread (decoding a large image takes milliseconds)."""
    return await asyncio.to_thread(check_input_image, data, param=param)


_NOT_AN_IMAGE = "data is not an image (png, jpeg, webp or gif)"
_INPUT_MESSAGES = {
    Defect.UNSUPPORTED: "image format is not supported by Flow (use png, jpeg, webp or gif)",
    Defect.UNDECODABLE: "image could not be decoded (corrupt or truncated)",
}


def image_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of a PNG, GIF or JPEG; None when unknown."""
    mime = sniff_mime(data)
    if mime == "image/png" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if mime == "image/gif" and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if mime == "image/jpeg":
        return _jpeg_dimensions(data)
    return None


def _jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(width), int(height)
        i += 2 + length
    return None
