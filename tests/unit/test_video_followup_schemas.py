"""Parsing extensions and edits as the SDKs send them, and ``output_format``."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.api.forms import Form
from gateway.api.schemas import parse_image_request
from gateway.api.video_schemas import FollowUpParams, parse_edit_request, parse_extension_request
from gateway.domain import ImageData
from gateway.errors import InvalidRequestError

VIDEO = "video_" + "a" * 32


@pytest.mark.parametrize(
    "form",
    [
        Form(fields={"video[id]": [VIDEO], "prompt": ["on"], "seconds": ["8"]}),  # both SDKs, multipart
        Form(json={"video": {"id": VIDEO}, "prompt": "on", "seconds": "8"}),
        Form(json={"video": VIDEO, "prompt": " on ", "seconds": "8"}),
    ],
)
def test_an_extension_in_every_shape(form: Form) -> None:
    assert parse_extension_request(form) == FollowUpParams(VIDEO, "on", seconds="8")


def test_an_extension_may_name_the_veo_speed() -> None:
    form = Form(json={"video": {"id": VIDEO}, "prompt": "on", "seconds": 7, "model": "veo_3_1-fast"})
    assert parse_extension_request(form) == FollowUpParams(VIDEO, "on", seconds=7, model="veo_3_1-fast")


def test_an_edit() -> None:
    form = Form(fields={"video[id]": [VIDEO], "prompt": ["make it snow"]})
    assert parse_edit_request(form) == FollowUpParams(VIDEO, "make it snow")


@pytest.mark.parametrize(
    ("doc", "param", "code"),
    [
        ({"prompt": "x"}, "video", "missing_required_parameter"),
        ({"video": {"id": ""}, "prompt": "x"}, "video", "invalid_type"),
        ({"video": {"url": "https://a/v.mp4"}, "prompt": "x"}, "video", "invalid_type"),
        ({"video": 12, "prompt": "x"}, "video", "invalid_type"),
        ({"video": {"id": VIDEO}}, "prompt", "missing_required_parameter"),
        ({"video": {"id": VIDEO}, "prompt": "x", "seconds": "8"}, "seconds", "unknown_parameter"),
        ({"video": {"id": VIDEO}, "prompt": "x", "model": "omni_flash"}, "model", "unknown_parameter"),
        ({"video": {"id": VIDEO}, "prompt": "x", "size": "1280x720"}, "size", "unknown_parameter"),
    ],
)
def test_bad_edits_name_the_param(doc: dict[str, Any], param: str, code: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_edit_request(Form(json=doc))
    assert (info.value.param, info.value.code, info.value.status) == (param, code, 400)


def test_an_extension_refuses_a_bad_seconds_type_and_file_parts() -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_extension_request(Form(json={"video": {"id": VIDEO}, "prompt": "x", "seconds": [8]}))
    assert info.value.param == "seconds"
    image = ImageData(b"\xff\xd8\xff", "image/jpeg")
    with pytest.raises(InvalidRequestError) as info:
        parse_extension_request(Form(fields={"video[id]": [VIDEO], "prompt": ["x"]}, files={"ref": [image]}))
    assert info.value.param == "ref"


@pytest.mark.parametrize("fmt", ["jpeg", "jpg", "JPEG", "png", "webp", None, ""])
def test_output_formats_openai_names(fmt: str | None) -> None:
    parse_image_request(
        Form(json={"prompt": "x", "model": "m", "output_format": fmt}), edit=False, max_images=4
    )


@pytest.mark.parametrize("fmt", ["gif", "tiff", 3])
def test_other_output_formats_are_refused_by_name(fmt: object) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_image_request(
            Form(json={"prompt": "x", "model": "m", "output_format": fmt}), edit=False, max_images=4
        )
    assert (info.value.param, info.value.code) == ("output_format", "invalid_value")
