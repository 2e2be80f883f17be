"""The batchexecute codec: build f.req, decode it back and check the slots; parse framed replies."""

from __future__ import annotations

import base64
import json

import pytest

from gateway.config import BatchSettings
from gateway.domain import Aspect, ImageData, ImageResolution, UpstreamMedia
from gateway.upstream.flow import batch_rpcs as rpc
from gateway.upstream.flow import errors as up
from gateway.upstream.flow.batch import (
    CAPTCHA_PLACEHOLDER,
    decode_freq,
    encode_freq,
    iter_frames,
    parse_reply,
)
from gateway.upstream.flow.transport import ImageGenerationRequest

SETTINGS = BatchSettings()


def roundtrip(rpcid: str, inner: object) -> object:
    got_rpcid, got = decode_freq(encode_freq(rpcid, inner))
    assert got_rpcid == rpcid
    return got


def test_freq_envelope_shape() -> None:
    freq = encode_freq("ogiZ0b", [1, "x"])
    outer = json.loads(freq)
    assert outer == [[["ogiZ0b", '[1,"x"]', None, "generic"]]]


def test_image_generate_slots() -> None:
    request = ImageGenerationRequest(
        "GEM_PIX_2", "a fox", Aspect.LANDSCAPE, 42, (UpstreamMedia("ref1", "p"),)
    )
    inner = roundtrip("ogiZ0b", rpc.image_generate(request, "P1", SETTINGS))
    assert isinstance(inner, list)
    (item,) = inner[1]
    ctx = [None, 22, None, None, None, "P1", None, None, None, None, [CAPTCHA_PLACEHOLDER, 1]]
    assert item[2] == [["ref1", None, None, None, 1]]
    assert (item[3], item[4], item[5]) == (42, 3, "GEM_PIX_2")
    assert item[7] == ctx and inner[3] == ctx
    assert item[8] == [[["a fox"]]]
    assert item[12] == item[12].upper() and len(item[12]) == 36


@pytest.mark.parametrize(
    ("aspect", "code"),
    [
        (Aspect.SQUARE, 1),
        (Aspect.PORTRAIT, 2),
        (Aspect.LANDSCAPE, 3),
        (Aspect.PORTRAIT_3_4, 4),
        (Aspect.LANDSCAPE_4_3, 5),
    ],
)
def test_image_aspect_codes_come_from_config(aspect: Aspect, code: int) -> None:
    request = ImageGenerationRequest("NARWHAL", "x", aspect, 1)
    assert rpc.image_generate(request, "P", SETTINGS)[1][0][4] == code  # type: ignore[index]
    swapped = BatchSettings(image_aspect_codes={**SETTINGS.image_aspect_codes, "3:4": 5, "4:3": 4})
    if aspect in (Aspect.PORTRAIT_3_4, Aspect.LANDSCAPE_4_3):
        assert rpc.image_generate(request, "P", swapped)[1][0][4] == 9 - code  # type: ignore[index]


def test_no_inputs_is_null() -> None:
    inner = rpc.image_generate(ImageGenerationRequest("NARWHAL", "x", Aspect.SQUARE, 1), "P", SETTINGS)
    assert inner[1][0][2] is None  # type: ignore[index]


def test_upload_and_upscale() -> None:
    inner = roundtrip(
        "maseQ", rpc.upload(ImageData(b"\xff\xd8\xffjpeg", "image/jpeg"), "P", "a.jpg", SETTINGS)
    )
    assert isinstance(inner, list)
    assert inner[0][5] == "P" and base64.b64decode(inner[1]) == b"\xff\xd8\xffjpeg"
    assert (inner[2], inner[8]) == ("image/jpeg", "a.jpg")
    up_inner = roundtrip("SPrCad", rpc.image_upscale(UpstreamMedia("m", "P"), ImageResolution.R4K, SETTINGS))
    assert up_inner[:2] == ["m", 2] and up_inner[2][5] is None  # type: ignore[index]


def reply(*frames: object) -> str:
    body = json.dumps(list(frames))
    return f')]}}\'\n\n{len(body) + 2}\n{body}\n25\n[["di",53],["af.httprm",52,"x",1]]\n'


def test_success_reply_with_wrong_length_prefixes() -> None:
    # the URL holds a JSON escape (\u003d), as real replies do
    payload = '[null,[["M1","https://flow-content.google/image/M1?Expires=1&Signature=a\\u003d"]]]'
    text = reply(["wrb.fr", "ogiZ0b", payload, None, None, None, "generic"]).replace("\n", "\n999\n", 1)
    images = rpc.parse_image_generate(parse_reply(text, "ogiZ0b", endpoint="ogiZ0b"), "P")
    assert [i.media.name for i in images] == ["M1"]
    assert images[0].url is not None and images[0].url.endswith("Signature=a=")


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (["wrb.fr", "ogiZ0b", None, None, None, [3], "generic"], up.UpstreamInvalidRequestError),
        (["wrb.fr", "ogiZ0b", None, None, None, [5], "generic"], up.UpstreamNotFoundError),
        (["wrb.fr", "ogiZ0b", None, None, None, [7], "generic"], up.UpstreamForbiddenError),
        # A reasonless [8] is throttling, not spent credits (no live capture shows otherwise).
        (["wrb.fr", "ogiZ0b", None, None, None, [8], "generic"], up.UpstreamRateLimitedError),
        (["wrb.fr", "ogiZ0b", None, None, None, [13], "generic"], up.UpstreamUnavailableError),
        (["wrb.fr", "ogiZ0b", None, None, None, [16], "generic"], up.UpstreamAuthError),
        (["wrb.fr", "ogiZ0b", None, None, None, [2], "generic"], up.UpstreamCaptchaError),
        (
            ["wrb.fr", "ogiZ0b", None, None, None, [7, None, [["PUBLIC_ERROR_UNUSUAL_ACTIVITY"]]], "generic"],
            up.UpstreamFlaggedError,
        ),
        (
            [
                "wrb.fr",
                "ogiZ0b",
                None,
                None,
                None,
                [3, None, [["PUBLIC_ERROR_UNSAFE_GENERATION"]]],
                "generic",
            ],
            up.UpstreamContentRejectedError,
        ),
        (["er", None, None, None, None, [16]], up.UpstreamAuthError),
    ],
)
def test_error_frames(frame: list[object], expected: type[up.UpstreamError]) -> None:
    with pytest.raises(expected):
        parse_reply(reply(frame), "ogiZ0b", endpoint="ogiZ0b")


def test_missing_frame_and_garbage_are_protocol_errors() -> None:
    with pytest.raises(up.UpstreamProtocolError):
        parse_reply(reply(["wrb.fr", "other", "[]", None]), "ogiZ0b", endpoint="ogiZ0b")
    with pytest.raises(up.UpstreamProtocolError):
        parse_reply(')]}\'\n12\n[["wrb.fr", broken', "ogiZ0b", endpoint="ogiZ0b")
    assert list(iter_frames("no json here")) == []


def test_upload_and_upscale_replies() -> None:
    assert rpc.parse_upload([["M9", "P"]], "P") == UpstreamMedia("M9", "P")
    with pytest.raises(up.UpstreamProtocolError):
        rpc.parse_upload([], "P")
    assert rpc.parse_image_upscale([{}, base64.b64encode(b"jpg").decode()]) == b"jpg"
