"""Pure helpers for image bytes: MIME sniffing by magic bytes, base64 / data-URL decoding, dimensions."""

from __future__ import annotations

import base64
import binascii
import re
import struct

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
    mime = sniff_mime(data)
    if mime is None or not mime.startswith("image/"):
        raise InvalidRequestError(
            "decoded data is not an image (png, jpeg, webp, gif or bmp)", param=param, code="invalid_image"
        )
    return ImageData(data, mime)


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
