"""Checking result bytes (what Flow's CDN served) before they are stored or returned.

A signed URL can answer 200 with something that is not the media: a CDN's HTML error page, a file
cut short, random bytes. Images must be JPEG, PNG or WebP and decode whole; videos must be ISO-BMFF
(an ``ftyp`` box first, a ``moov`` box, every top-level box within the file). A failure is a
:class:`MediaCheckError` whose ``defect`` says what was wrong (never its message text): the service
treats it as a failed download, to be retried, and never stores the bytes.
"""

from __future__ import annotations

import asyncio
import mmap
import struct
from collections.abc import Iterator

from gateway.media.images import Defect, image_defect, sniff_mime

# Flow's image results are JPEG (PNG and WebP are accepted, should that change); never GIF or BMP.
RESULT_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
VIDEO_MIME = "video/mp4"
_BOX_HEADER = 8
_LARGE_BOX_HEADER = 16  # size field 1: a 64-bit size follows the type
_TEXT_STARTS = {b"<": "text/html", b"{": "application/json", b"[": "application/json"}


class MediaCheckError(ValueError):
    """Downloaded bytes are not the media they claim to be; ``found`` is what they look like (a MIME
    type, for the log), ``expected`` ``image`` or ``video``."""

    def __init__(self, defect: Defect, *, expected: str, found: str | None) -> None:
        super().__init__(f"expected {expected}, got {found or 'unknown bytes'} ({defect.value})")
        self.defect = defect
        self.expected = expected
        self.found = found


def looks_like(data: bytes) -> str | None:
    """A MIME type for bytes: sniffed media, or text (an HTML error page, JSON) by its first character."""
    mime = sniff_mime(data)
    if mime is not None:
        return mime
    return _TEXT_STARTS.get(data.lstrip()[:1])


def check_image_bytes(data: bytes) -> str:
    """The MIME type of a result image that decodes whole; else :class:`MediaCheckError`."""
    mime, defect = image_defect(data, RESULT_FORMATS)
    if defect is not None or mime is None:
        raise MediaCheckError(defect or Defect.NOT_MEDIA, expected="image", found=looks_like(data))
    return mime


async def verify_image_bytes(data: bytes) -> str:
    """:func:`check_image_bytes` in a thread (decoding a 4K image takes tens of milliseconds)."""
    return await asyncio.to_thread(check_image_bytes, data)


def check_video_bytes(data: bytes | mmap.mmap) -> str:
    """``video/mp4`` for an ISO-BMFF file whose boxes are all there; else :class:`MediaCheckError`.

    Cheap (reads box headers only), so it runs inline; ``data`` may be a mapped file."""
    if not data:
        raise MediaCheckError(Defect.EMPTY, expected="video", found=None)
    if data[4:8] != b"ftyp":
        found = looks_like(bytes(data[:4096]))
        defect = Defect.WRONG_KIND if found and found.startswith("image/") else Defect.NOT_MEDIA
        raise MediaCheckError(defect, expected="video", found=found)
    try:
        kinds = list(_boxes(data))
    except ValueError:
        raise MediaCheckError(Defect.UNDECODABLE, expected="video", found=VIDEO_MIME) from None
    if b"moov" not in kinds:  # no movie header: nothing can play it
        raise MediaCheckError(Defect.UNDECODABLE, expected="video", found=VIDEO_MIME)
    return VIDEO_MIME


def _boxes(data: bytes | mmap.mmap) -> Iterator[bytes]:
    """The type of each top-level box; ``ValueError`` when one runs past the end (a cut download)."""
    offset = 0
    while offset < len(data):
        if len(data) - offset < _BOX_HEADER:
            raise ValueError("a box header is cut short")
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = _BOX_HEADER
        if size == 1:
            if len(data) - offset < _LARGE_BOX_HEADER:
                raise ValueError("a large box header is cut short")
            (size,) = struct.unpack_from(">Q", data, offset + _BOX_HEADER)
            header = _LARGE_BOX_HEADER
        elif size == 0:  # the last box extends to the end of the file
            size = len(data) - offset
        if size < header or offset + size > len(data):
            raise ValueError("a box runs past the end of the file")
        yield kind
        offset += size
