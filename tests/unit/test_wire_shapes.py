"""The one source of truth: every request parser accepts exactly the names its shape publishes,
refuses the shape's refused names with the shape's reason, and reads its enums and bounds from it;
the shapes render as the JSON Schema the OpenAPI document carries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

import pytest

from gateway.admin import bodies as admin_bodies
from gateway.admin.licence_schemas import parse_licence, parse_rotation
from gateway.admin.schemas import parse_account, parse_import
from gateway.api import bodies
from gateway.api.chat_schemas import PROGRESS_MODES, ROLES, parse_chat_request
from gateway.api.forms import Form
from gateway.api.schemas import MAX_N, MAX_PROMPT_CHARS, OUTPUT_FORMATS, parse_image_request
from gateway.api.video_schemas import (
    parse_edit_request,
    parse_extension_request,
    parse_remix_request,
    parse_video_request,
)
from gateway.errors import InvalidRequestError
from gateway.gemini import bodies as google
from gateway.gemini.content_schemas import ASPECTS, SIZES, parse_generate_content
from gateway.gemini.predict_schemas import RESOLUTIONS, parse_imagen, parse_veo
from gateway.service.account_book import AccountInput
from gateway.service.licence_rules import EDITABLE
from gateway.wire import Shape
from gateway.wire.json_schema import object_schema

Parse = Callable[[dict[str, Any]], object]
USER = [{"role": "user", "content": "a fox"}]
# Each parser, the shape it reads, a body it takes, and where in that body the shape's fields go.
CASES: list[tuple[str, Shape, Parse, dict[str, Any], tuple[str, ...]]] = [
    (
        "images/generations",
        bodies.IMAGE_GENERATION,
        lambda d: parse_image_request(Form(json=d), edit=False, max_images=4),
        {"prompt": "a fox", "model": "m"},
        (),
    ),
    (
        "images/edits",
        bodies.IMAGE_EDIT,
        lambda d: parse_image_request(Form(json=d), edit=True, max_images=4),
        {"prompt": "a fox", "model": "m", "image": "https://example.com/a.png"},
        (),
    ),
    ("videos", bodies.VIDEO, lambda d: parse_video_request(Form(json=d)), {"prompt": "a fox"}, ()),
    ("remix", bodies.VIDEO_REMIX, lambda d: parse_remix_request(Form(json=d)), {"prompt": "a fox"}, ()),
    (
        "extensions",
        bodies.VIDEO_EXTENSION,
        lambda d: parse_extension_request(Form(json=d)),
        {"prompt": "a fox", "video": {"id": "video_1"}},
        (),
    ),
    (
        "edits",
        bodies.VIDEO_EDIT,
        lambda d: parse_edit_request(Form(json=d)),
        {"prompt": "a fox", "video": {"id": "video_1"}},
        (),
    ),
    ("chat", bodies.CHAT, parse_chat_request, {"model": "m", "messages": USER}, ()),
    ("licence", admin_bodies.LICENCE, parse_licence, {}, ()),
    ("rotation", admin_bodies.ROTATION, parse_rotation, {}, ()),
    ("account", admin_bodies.ACCOUNT, parse_account, {}, ()),
    ("import", admin_bodies.ACCOUNT_IMPORT, parse_import, {"accounts": []}, ()),
    (
        "generateContent",
        google.GENERATE_CONTENT,
        parse_generate_content,
        {"contents": [{"parts": [{"text": "a fox"}]}]},
        (),
    ),
    (
        "generationConfig",
        google.GENERATION_CONFIG,
        parse_generate_content,
        {"contents": [{"parts": [{"text": "a fox"}]}], "generationConfig": {}},
        ("generationConfig",),
    ),
    (
        "imagen parameters",
        google.IMAGEN_PARAMETERS,
        parse_imagen,
        {"instances": [{"prompt": "a fox"}], "parameters": {}},
        ("parameters",),
    ),
    (
        "veo instance",
        google.VEO_INSTANCE,
        parse_veo,
        {"instances": [{"prompt": "a fox"}]},
        ("instances", "0"),
    ),
    (
        "veo parameters",
        google.VEO_PARAMETERS,
        parse_veo,
        {"instances": [{"prompt": "a fox"}], "parameters": {}},
        ("parameters",),
    ),
]
IDS = [c[0] for c in CASES]


def with_field(body: dict[str, Any], where: tuple[str, ...], name: str, value: object) -> dict[str, Any]:
    doc: Any = {**body}
    target = doc
    for key in where:  # copy the path down to the shape's object
        inner = target[int(key)] if isinstance(target, list) else target[key]
        inner = list(inner) if isinstance(inner, list) else dict(inner)
        if isinstance(target, list):
            target[int(key)] = inner
        else:
            target[key] = inner
        target = inner
    target[name] = value
    return doc


def code_of(parse: Parse, doc: dict[str, Any]) -> tuple[str | None, str]:
    try:
        parse(doc)
    except InvalidRequestError as exc:
        return exc.code, exc.message
    return None, ""


@pytest.mark.parametrize(("name", "shape", "parse", "body", "where"), CASES, ids=IDS)
def test_a_parser_knows_every_name_its_shape_publishes(
    name: str, shape: Shape, parse: Parse, body: dict[str, Any], where: tuple[str, ...]
) -> None:
    assert code_of(parse, body) == (None, ""), "the base body parses"
    for field in shape.names:
        code, message = code_of(parse, with_field(body, where, field, None))
        assert code != "unknown_parameter", f"{name}: {field} is published but refused: {message}"
    code, _ = code_of(parse, with_field(body, where, "surely_not_a_field", 1))
    assert code == "unknown_parameter"


@pytest.mark.parametrize(("name", "shape", "parse", "body", "where"), CASES, ids=IDS)
def test_a_refused_name_is_refused_with_the_shapes_reason(
    name: str, shape: Shape, parse: Parse, body: dict[str, Any], where: tuple[str, ...]
) -> None:
    for field, why in shape.refused.items():
        code, message = code_of(parse, with_field(body, where, field, "x"))
        assert code is not None and code != "unknown_parameter" and why in message, (name, field, message)


def test_enums_and_bounds_are_read_from_the_shapes() -> None:
    assert (
        OUTPUT_FORMATS == set(bodies.IMAGE_GENERATION.enum("output_format")) == {"png", "jpeg", "jpg", "webp"}
    )
    assert (1, MAX_N) == bodies.IMAGE_GENERATION.bounds("n") == (1, 4)
    assert MAX_PROMPT_CHARS == bodies.IMAGE_GENERATION.max_length("prompt") == 32_000
    assert bodies.CHAT.enum("progress") == PROGRESS_MODES
    assert set(bodies.MESSAGE.enum("role")) == ROLES
    assert list(ASPECTS) == list(google.IMAGE_CONFIG.enum("aspectRatio"))
    assert SIZES == {"1k": "1K", "2k": "2K", "4k": "4K"}
    assert RESOLUTIONS == {"720p": "sd", "1080p": "hd", "4k": "4K"}


def test_admin_shapes_name_every_field_their_inputs_take() -> None:
    assert admin_bodies.LICENCE.names == set(EDITABLE)
    assert admin_bodies.ACCOUNT.names == {f.name for f in fields(AccountInput)}


def test_a_bound_changed_in_a_shape_is_what_the_parser_checks() -> None:
    lowest, highest = google.GENERATION_CONFIG.bounds("candidateCount")
    doc = {"contents": [{"parts": [{"text": "a fox"}]}], "generationConfig": {"candidateCount": highest + 1}}
    with pytest.raises(InvalidRequestError) as info:
        parse_generate_content(doc)
    assert f"from {lowest} to {highest}" in info.value.message


def test_a_shape_renders_as_closed_json_schema_with_refusals_named() -> None:
    schema = object_schema(bodies.VIDEO, lambda s: {"$ref": s.name})
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["prompt"]
    assert "n" not in schema["properties"]  # type: ignore[operator]
    assert "Refused by name: n (n is not supported" in str(schema["description"])
    form = object_schema(bodies.VIDEO, lambda s: {"$ref": s.name}, form=True)
    assert form["properties"]["seconds"]["anyOf"][1] == {"type": "string", "pattern": "^-?[0-9]+$"}  # type: ignore[index]
