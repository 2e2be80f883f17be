"""Input images must decode as a format Flow takes; result bytes must be the media they claim to be."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from gateway.errors import InvalidRequestError, PayloadTooLargeError
from gateway.media.checks import MediaCheckError, check_image_bytes, check_video_bytes, verify_image_bytes
from gateway.media.images import (
    INPUT_FORMATS,
    Defect,
    check_input_image,
    decode_image_input,
    image_defect,
    verify_input_image,
)
from gateway.simulator.render import build_mp4, render_jpeg

HTML_PAGE = b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body>oops</body></html>"


def encoded(fmt: str, size: tuple[int, int] = (40, 30), mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, 7).save(buf, format=fmt)
    return buf.getvalue()


def box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


MP4 = box(b"ftyp", b"isom\0\0\2\0isomiso2mp41") + box(b"moov", b"\0" * 40) + box(b"mdat", b"\1" * 300)


@pytest.mark.parametrize(
    ("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_inputs_that_decode_pass(fmt: str, mime: str) -> None:
    assert check_input_image(encoded(fmt), param="image").mime == mime


def test_a_real_gif_is_an_input_flow_takes() -> None:
    assert check_input_image(encoded("GIF", mode="P"), param="image").mime == "image/gif"


@pytest.mark.parametrize(
    ("data", "defect"),
    [
        (b"", Defect.EMPTY),
        (b"GIF89a" + b"\0garbage" * 10, Defect.UNDECODABLE),
        (encoded("PNG")[:60], Defect.UNDECODABLE),
        (encoded("JPEG")[:-40], Defect.UNDECODABLE),
        (encoded("BMP"), Defect.UNSUPPORTED),
        (HTML_PAGE, Defect.NOT_MEDIA),
        (MP4, Defect.WRONG_KIND),
    ],
    ids=["empty", "gif-magic-then-garbage", "truncated-png", "truncated-jpeg", "bmp", "html", "mp4"],
)
def test_inputs_that_do_not_decode_are_400_naming_the_param(data: bytes, defect: Defect) -> None:
    assert image_defect(data, INPUT_FORMATS)[1] is defect
    with pytest.raises(InvalidRequestError) as info:
        check_input_image(data, param="image[2]")
    assert (info.value.status, info.value.param, info.value.code) == (400, "image[2]", "invalid_image")


def test_an_image_with_too_many_pixels_is_413_before_it_is_decoded() -> None:
    bomb = encoded("PNG", size=(8000, 8000), mode="1")  # 64 MP in a few kilobytes
    assert len(bomb) < 100_000
    with pytest.raises(PayloadTooLargeError) as info:
        check_input_image(bomb, param="image")
    assert (info.value.status, info.value.param) == (413, "image")


async def test_async_variants_agree() -> None:
    png = encoded("PNG")
    assert (await verify_input_image(png, param="image")).data == png
    with pytest.raises(InvalidRequestError):
        await decode_image_input("R0lGODlhAAAAAAAAAAAA", param="image", max_bytes=1000)  # GIF89a + zeros
    assert await verify_image_bytes(encoded("JPEG")) == "image/jpeg"


@pytest.mark.parametrize(
    ("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_result_images_that_decode_pass(fmt: str, mime: str) -> None:
    assert check_image_bytes(encoded(fmt)) == mime


@pytest.mark.parametrize(
    ("data", "defect", "found"),
    [
        (HTML_PAGE, Defect.NOT_MEDIA, "text/html"),
        (b'{"error": {"code": 500}}', Defect.NOT_MEDIA, "application/json"),
        (b"\x17\x99 random", Defect.NOT_MEDIA, None),
        (b"", Defect.EMPTY, None),
        (encoded("JPEG")[:200], Defect.UNDECODABLE, "image/jpeg"),
        (encoded("GIF", mode="P"), Defect.UNSUPPORTED, "image/gif"),
        (MP4, Defect.WRONG_KIND, "video/mp4"),
    ],
)
def test_result_images_that_are_not_are_refused_by_structure(
    data: bytes, defect: Defect, found: str | None
) -> None:
    with pytest.raises(MediaCheckError) as info:
        check_image_bytes(data)
    assert (info.value.defect, info.value.expected, info.value.found) == (defect, "image", found)


def test_result_videos() -> None:
    assert check_video_bytes(MP4) == "video/mp4"
    last_to_end = MP4[:-308] + struct.pack(">I", 0) + b"mdat" + b"\1" * 300  # size 0: to the end
    assert check_video_bytes(last_to_end) == "video/mp4"
    large = box(b"ftyp", b"isom") + struct.pack(">I4sQ", 1, b"moov", 16 + 8) + b"\0" * 8  # 64-bit size
    assert check_video_bytes(large) == "video/mp4"


@pytest.mark.parametrize(
    ("data", "defect", "found"),
    [
        (HTML_PAGE, Defect.NOT_MEDIA, "text/html"),
        (encoded("JPEG"), Defect.WRONG_KIND, "image/jpeg"),
        (MP4[:-100], Defect.UNDECODABLE, "video/mp4"),  # cut short: the mdat box runs past the end
        (MP4[:-308] + b"\0\0", Defect.UNDECODABLE, "video/mp4"),  # a box header cut short
        (box(b"ftyp", b"isom") + box(b"mdat", b"x"), Defect.UNDECODABLE, "video/mp4"),  # no moov
        (b"", Defect.EMPTY, None),
    ],
)
def test_result_videos_that_are_not_are_refused(data: bytes, defect: Defect, found: str | None) -> None:
    with pytest.raises(MediaCheckError) as info:
        check_video_bytes(data)
    assert (info.value.defect, info.value.expected, info.value.found) == (defect, "video", found)


def test_the_simulators_mp4_and_jpeg_pass() -> None:
    frame = render_jpeg((64, 36), prompt="x", seed=1)
    assert check_image_bytes(frame) == "image/jpeg"
    assert check_video_bytes(build_mp4([frame, frame], (64, 36), 1.0)) == "video/mp4"
