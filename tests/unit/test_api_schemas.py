import pytest

from gateway.api.forms import Form
from gateway.api.schemas import parse_image_request
from gateway.domain import ImageData, ResponseFormat
from gateway.errors import InvalidRequestError

PNG = ImageData(b"\x89PNG\r\n\x1a\n" + b"\0" * 16, "image/png")


def gen(doc: dict[str, object]) -> object:
    return parse_image_request(Form(json=doc), edit=False, max_images=4)


def test_json_generation_defaults() -> None:
    params = parse_image_request(
        Form(json={"prompt": " cat ", "model": "nano_banana"}), edit=False, max_images=4
    )
    assert (params.prompt, params.model, params.n, params.response_format) == (
        "cat",
        "nano_banana",
        1,
        ResponseFormat.B64_JSON,
    )


def test_multipart_scalars_are_strings() -> None:
    form = Form(
        fields={"prompt": ["画小猫"], "model": ["nano_banana"], "n": ["2"], "response_format": ["url"]}
    )
    params = parse_image_request(form, edit=False, max_images=4)
    assert (params.n, params.response_format) == (2, ResponseFormat.URL)


@pytest.mark.parametrize(
    ("doc", "param"),
    [
        ({"model": "nano_banana"}, "prompt"),
        ({"prompt": "", "model": "nano_banana"}, "prompt"),
        ({"prompt": "x"}, "model"),
        ({"prompt": "x", "model": 5}, "model"),
        ({"prompt": "x", "model": "m", "n": 0}, "n"),
        ({"prompt": "x", "model": "m", "n": 5}, "n"),
        ({"prompt": "x", "model": "m", "n": "two"}, "n"),
        ({"prompt": "x", "model": "m", "n": True}, "n"),
        ({"prompt": "x", "model": "m", "response_format": "png"}, "response_format"),
        ({"prompt": "x", "model": "m", "bogus": 1}, "bogus"),
        ({"prompt": "x", "model": "m", "stream": True}, "stream"),
        ({"prompt": "x", "model": "m", "background": "transparent"}, "background"),
        ({"prompt": "x", "model": "m", "image": "https://x/y.png"}, "image"),
        ({"prompt": "x" * 32_001, "model": "m"}, "prompt"),
    ],
)
def test_generation_errors_name_the_param(doc: dict[str, object], param: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        gen(doc)
    assert info.value.param == param
    assert info.value.status == 400


def test_openai_fields_we_cannot_use_are_accepted() -> None:
    params = parse_image_request(
        Form(
            json={
                "prompt": "x",
                "model": "m",
                "quality": "hd",
                "size": "1024x1024",
                "user": "u",
                "style": "vivid",
                "moderation": "auto",
                "output_format": "png",
                "background": "auto",
            }
        ),
        edit=False,
        max_images=4,
    )
    assert (params.quality, params.size) == ("hd", "1024x1024")


@pytest.mark.parametrize("name", ["image", "image[]", "image[0]", "image[12]"])
def test_edit_file_part_names(name: str) -> None:
    form = Form(fields={"prompt": ["p"], "model": ["m"]}, files={name: [PNG, PNG]})
    params = parse_image_request(form, edit=True, max_images=4)
    assert [s.data for s in params.sources] == [PNG, PNG]
    assert params.sources[0].param == name


def test_edit_json_image_and_images() -> None:
    doc = {
        "prompt": "p",
        "model": "m",
        "image": ["https://a/1.png", "data:image/png;base64,AAAA"],
        "images": [
            {"image_url": "https://a/2.png"},
            {"file_id": "img_abcdefgh12"},
            {"image_url": {"url": "u"}},
        ],
    }
    params = parse_image_request(Form(json=doc), edit=True, max_images=8)
    assert [s.value for s in params.sources] == [
        "https://a/1.png",
        "data:image/png;base64,AAAA",
        "https://a/2.png",
        "img_abcdefgh12",
        "u",
    ]
    assert [s.param for s in params.sources] == [
        "image[0]",
        "image[1]",
        "images[0]",
        "images[1]",
        "images[2]",
    ]


@pytest.mark.parametrize(
    ("form", "param"),
    [
        (Form(json={"prompt": "p", "model": "m"}), "image"),
        (Form(json={"prompt": "p", "model": "m", "image": 5}), "image"),
        (Form(json={"prompt": "p", "model": "m", "images": "x"}), "images"),
        (Form(json={"prompt": "p", "model": "m", "images": [{"nope": 1}]}), "images[0]"),
        (Form(json={"prompt": "p", "model": "m", "image": "x", "mask": "y"}), "mask"),
        (Form(fields={"prompt": ["p"], "model": ["m"]}, files={"photo": [PNG]}), "photo"),
        (Form(fields={"prompt": ["p"], "model": ["m"]}, files={"image[]": [PNG] * 5}), "image"),
    ],
)
def test_edit_errors(form: Form, param: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_image_request(form, edit=True, max_images=4)
    assert info.value.param == param
