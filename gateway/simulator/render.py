"""Real media bytes: JPEG images of the requested aspect (Pillow) and a small, valid MP4.

The MP4 is ISO-BMFF (``ftyp``, ``moov``, ``mdat``) holding a few Motion-JPEG samples: structurally
valid and of the requested duration, without needing a video encoder.
"""

from __future__ import annotations

import hashlib
import io
import struct

from PIL import Image, ImageDraw, ImageOps

IMAGE_SIZES = {
    "IMAGE_ASPECT_RATIO_SQUARE": (1024, 1024),
    "IMAGE_ASPECT_RATIO_LANDSCAPE": (1376, 768),
    "IMAGE_ASPECT_RATIO_PORTRAIT": (768, 1376),
    "IMAGE_ASPECT_RATIO_LANDSCAPE_FOUR_THREE": (1200, 896),
    "IMAGE_ASPECT_RATIO_PORTRAIT_THREE_FOUR": (896, 1200),
    "VIDEO_ASPECT_RATIO_LANDSCAPE": (1280, 720),
    "VIDEO_ASPECT_RATIO_PORTRAIT": (720, 1280),
}


# A video's size per output resolution enum (the catalogue's: 1 = 720p, 2 = 1080p, 3 = 4K, 4 = 360p),
# as a factor of its 720p size.
RESOLUTION_FACTORS = {1: 1.0, 2: 1.5, 3: 3.0, 4: 0.5}


def pixel_size(aspect: str, *, scale: float, factor: float = 1) -> tuple[int, int]:
    """Pixel dimensions for an aspect enum, times ``factor`` (upsamples) and ``scale`` (the knob)."""
    width, height = IMAGE_SIZES[aspect]
    return max(16, round(width * factor * scale)), max(16, round(height * factor * scale))


def video_size(aspect: str, resolution: int, *, scale: float) -> tuple[int, int]:
    """A video's pixel size at an output resolution (720p is 1280x720 landscape)."""
    return pixel_size(aspect, scale=scale, factor=RESOLUTION_FACTORS[resolution])


def render_jpeg(size: tuple[int, int], *, prompt: str, seed: int) -> bytes:
    """A gradient picture whose colours derive from the prompt and seed, so each result is distinct."""
    digest = hashlib.sha256(f"{prompt}\n{seed}".encode()).digest()
    start, end = tuple(digest[0:3]), tuple(digest[3:6])
    gradient = Image.linear_gradient("L").resize(size)
    image = ImageOps.colorize(gradient, black=start, white=end)
    draw = ImageDraw.Draw(image)
    box = (size[0] // 8, size[1] // 8, size[0] // 8 * 3, size[1] // 8 * 3)
    draw.ellipse(box, fill=tuple(digest[6:9]))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def _box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full(kind: bytes, version_flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version_flags), *parts)


_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)


def _sample_entry(width: int, height: int) -> bytes:
    name = b"\x0aMotion JPEG".ljust(32, b"\0")
    return _box(
        b"jpeg",
        b"\0" * 6,
        struct.pack(">H", 1),
        b"\0" * 16,
        struct.pack(">HH", width, height),
        struct.pack(">II", 0x00480000, 0x00480000),
        b"\0" * 4,
        struct.pack(">H", 1),
        name,
        struct.pack(">Hh", 0x18, -1),
    )


def _stbl(frames: list[bytes], width: int, height: int, delta: int, offset: int) -> bytes:
    return _box(
        b"stbl",
        _full(b"stsd", 0, struct.pack(">I", 1), _sample_entry(width, height)),
        _full(b"stts", 0, struct.pack(">III", 1, len(frames), delta)),
        _full(b"stsc", 0, struct.pack(">IIII", 1, 1, len(frames), 1)),
        _full(b"stsz", 0, struct.pack(">II", 0, len(frames)), *(struct.pack(">I", len(f)) for f in frames)),
        _full(b"stco", 0, struct.pack(">II", 1, offset)),
    )


def _moov(frames: list[bytes], size: tuple[int, int], duration_ms: int, offset: int) -> bytes:
    width, height = size
    delta = duration_ms // len(frames)
    mvhd = _full(
        b"mvhd",
        0,
        struct.pack(">IIII", 0, 0, 1000, duration_ms),
        struct.pack(">IH", 0x00010000, 0x0100),
        b"\0" * 10,
        _MATRIX,
        b"\0" * 24,
        struct.pack(">I", 2),
    )
    tkhd = _full(
        b"tkhd",
        3,
        struct.pack(">IIIII", 0, 0, 1, 0, duration_ms),
        b"\0" * 8,
        struct.pack(">HHHH", 0, 0, 0, 0),
        _MATRIX,
        struct.pack(">II", width << 16, height << 16),
    )
    mdhd = _full(b"mdhd", 0, struct.pack(">IIIIHH", 0, 0, 1000, duration_ms, 0x55C4, 0))
    hdlr = _full(b"hdlr", 0, b"\0" * 4, b"vide", b"\0" * 12, b"VideoHandler\0")
    dinf = _box(b"dinf", _full(b"dref", 0, struct.pack(">I", 1), _full(b"url ", 1)))
    minf = _box(b"minf", _full(b"vmhd", 1, b"\0" * 8), dinf, _stbl(frames, width, height, delta, offset))
    return _box(b"moov", mvhd, _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, minf)))


def build_mp4(frames: list[bytes], size: tuple[int, int], seconds: float) -> bytes:
    """An MP4 of ``seconds`` showing ``frames`` (JPEG bytes) in turn."""
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 512), b"isom", b"iso2", b"mp41")
    duration_ms = max(1, int(seconds * 1000))
    probe = _moov(frames, size, duration_ms, 0)
    offset = len(ftyp) + len(probe) + 8
    moov = _moov(frames, size, duration_ms, offset)
    return ftyp + moov + _box(b"mdat", *frames)
