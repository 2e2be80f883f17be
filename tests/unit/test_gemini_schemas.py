"""Google's request bodies: what is read, and the 400 ``INVALID_ARGUMENT`` naming the field otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.catalog import Catalog
from gateway.config import ConfigError
from gateway.errors import InvalidRequestError, ModelNotFoundError
from gateway.gemini.content_schemas import parse_generate_content
from gateway.gemini.fields import fields_named
from gateway.gemini.names import Choice, GoogleNames
from gateway.gemini.predict_schemas import parse_imagen, parse_veo

CATALOG = Catalog.load(Path(__file__).parents[2] / "config" / "models.toml")
B64 = "iVBORw0KGgo="


def user(*parts: dict[str, Any], role: str = "user") -> dict[str, Any]:
    return {"role": role, "parts": list(parts)}


def test_generate_content_reads_prompt_images_count_and_image_config() -> None:
    parsed = parse_generate_content(
        {
            "systemInstruction": {"parts": [{"text": "Photorealistic."}]},
            "contents": [
                user({"text": "a cat"}, {"inlineData": {"mimeType": "image/png", "data": B64}}),
            ],
            "generationConfig": {
                "candidateCount": 2,
                "responseModalities": ["TEXT", "IMAGE"],
                "temperature": 0.4,
                "imageConfig": {"aspectRatio": "16:9", "imageSize": "2k"},
            },
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        }
    )
    assert parsed.prompt == "Photorealistic.\n\na cat"
    assert parsed.n == 2
    assert [(s.param, s.value) for s in parsed.sources] == [("contents[0].parts[1].inlineData.data", B64)]
    assert parsed.choices == (
        Choice("aspect", "16:9", "generationConfig.imageConfig.aspectRatio"),
        Choice("image_size", "2K", "generationConfig.imageConfig.imageSize"),
    )


def test_a_follow_up_without_an_image_edits_the_newest_model_image() -> None:
    parsed = parse_generate_content(
        {
            "contents": [
                user({"text": "a cat"}),
                user({"inlineData": {"mimeType": "image/png", "data": "old"}}, role="model"),
                user({"text": "again"}),
                user({"text": "", "thought": True}, {"inlineData": {"data": B64}}, role="model"),
                user({"text": "make it blue"}),
            ]
        }
    )
    assert parsed.prompt == "make it blue"
    assert [s.value for s in parsed.sources] == [B64]
    assert parsed.sources[0].param == "contents[3].parts[1].inlineData.data"


@pytest.mark.parametrize(
    ("doc", "param"),
    [
        ({}, "contents"),
        ({"contents": []}, "contents"),
        ({"contents": "a cat"}, "contents"),
        ({"contents": [user({"text": " "})]}, "contents[0].parts"),
        ({"contents": [user({"text": "x"}, role="model")]}, "contents[0].role"),
        ({"contents": [user({"text": "x"})], "tools": []}, "tools"),
        ({"contents": [user({"text": "x"})], "bogus": 1}, "bogus"),
        ({"contents": [user({"text": "x", "colour": "red"})]}, "contents[0].parts[0].colour"),
        ({"contents": [user({"text": 5})]}, "contents[0].parts[0].text"),
        (
            {"contents": [user({"inlineData": {"mimeType": "video/mp4", "data": B64}})]},
            "contents[0].parts[0].inlineData.mimeType",
        ),
        (
            {"contents": [user({"inlineData": {"mimeType": "image/png"}})]},
            "contents[0].parts[0].inlineData.data",
        ),
        (
            {"contents": [user({"fileData": {"fileUri": "files/abc", "mimeType": "image/png"}})]},
            "contents[0].parts[0].fileData.fileUri",
        ),
        (
            {"contents": [user({"text": "x"})], "generationConfig": {"candidateCount": 5}},
            "generationConfig.candidateCount",
        ),
        (
            {"contents": [user({"text": "x"})], "generationConfig": {"candidateCount": "two"}},
            "generationConfig.candidateCount",
        ),
        ({"contents": [user({"text": "x"})], "generationConfig": {"seed": 7}}, "generationConfig.seed"),
        ({"contents": [user({"text": "x"})], "generationConfig": {"nope": 7}}, "generationConfig.nope"),
        (
            {"contents": [user({"text": "x"})], "generationConfig": {"responseModalities": ["TEXT"]}},
            "generationConfig.responseModalities",
        ),
        (
            {"contents": [user({"text": "x"})], "generationConfig": {"responseMimeType": "application/json"}},
            "generationConfig.responseMimeType",
        ),
        (
            {"contents": [user({"text": "x"})], "generationConfig": {"imageConfig": {"aspectRatio": "7:5"}}},
            "generationConfig.imageConfig.aspectRatio",
        ),
        (
            {"contents": [user({"text": "x"})], "generationConfig": {"imageConfig": {"imageSize": "8K"}}},
            "generationConfig.imageConfig.imageSize",
        ),
        (
            {
                "contents": [user({"text": "x"})],
                "generationConfig": {"imageConfig": {"personGeneration": "x"}},
            },
            "generationConfig.imageConfig.personGeneration",
        ),
    ],
)
def test_generate_content_errors_name_the_field(doc: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_generate_content(doc)
    assert (info.value.param, info.value.status) == (param, 400)


def test_imagen_reads_count_aspect_and_size_and_defaults_to_one_image() -> None:
    parsed = parse_imagen(
        {
            "instances": [{"prompt": " a fox "}],
            "parameters": {"sampleCount": 3, "aspectRatio": "9:16", "personGeneration": "allow_adult"},
        }
    )
    assert (parsed.prompt, parsed.n) == ("a fox", 3)
    assert parsed.choices == (Choice("aspect", "9:16", "parameters.aspectRatio"),)
    assert parse_imagen({"instances": [{"prompt": "x"}]}).n == 1


@pytest.mark.parametrize(
    ("doc", "param"),
    [
        ({"instances": []}, "instances"),
        ({"instances": [{"prompt": "a"}, {"prompt": "b"}]}, "instances"),
        ({"instances": [{}]}, "instances[0].prompt"),
        ({"instances": [{"prompt": "x", "image": {}}]}, "instances[0].image"),
        ({"instances": [{"prompt": "x"}], "parameters": {"sampleCount": 5}}, "parameters.sampleCount"),
        (
            {"instances": [{"prompt": "x"}], "parameters": {"negativePrompt": "dogs"}},
            "parameters.negativePrompt",
        ),
        ({"instances": [{"prompt": "x"}], "parameters": {"addWatermark": False}}, "parameters.addWatermark"),
        ({"instances": [{"prompt": "x"}], "parameters": {"aspectRatio": "2:1"}}, "parameters.aspectRatio"),
        ({"instances": [{"prompt": "x"}], "parameters": {"what": 1}}, "parameters.what"),
        ({"instances": [{"prompt": "x"}], "extra": 1}, "extra"),
    ],
)
def test_imagen_errors_name_the_field(doc: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_imagen(doc)
    assert info.value.param == param


def test_veo_frames_references_and_parameters() -> None:
    image = {"bytesBase64Encoded": B64, "mimeType": "image/png"}
    frames = parse_veo(
        {
            "instances": [{"prompt": "a fox", "image": image, "lastFrame": image}],
            "parameters": {
                "aspectRatio": "9:16",
                "durationSeconds": 6,
                "resolution": "1080p",
                "sampleCount": 1,
            },
        }
    )
    assert frames.frames is True
    assert [s.param for s in frames.sources] == [
        "instances[0].image.bytesBase64Encoded",
        "instances[0].lastFrame.bytesBase64Encoded",
    ]
    assert frames.choices == (
        Choice("aspect", "9:16", "parameters.aspectRatio"),
        Choice("duration", "6", "parameters.durationSeconds"),
        Choice("video_size", "hd", "parameters.resolution"),
    )
    references = parse_veo(
        {"instances": [{"prompt": "x", "referenceImages": [{"image": image, "referenceType": "asset"}]}]}
    )
    assert (references.frames, len(references.sources)) == (False, 1)
    by_uri = parse_veo({"instances": [{"prompt": "x", "image": {"gcsUri": "https://example.com/a.png"}}]})
    assert by_uri.sources[0].value == "https://example.com/a.png"


@pytest.mark.parametrize(
    ("instance", "parameters", "param"),
    [
        ({"prompt": ""}, {}, "instances[0].prompt"),
        ({"prompt": "x", "lastFrame": {"bytesBase64Encoded": B64}}, {}, "instances[0].lastFrame"),
        ({"prompt": "x", "video": {"gcsUri": "gs://b/v.mp4"}}, {}, "instances[0].video"),
        ({"prompt": "x", "image": {"gcsUri": "gs://b/a.png"}}, {}, "instances[0].image.gcsUri"),
        (
            {
                "prompt": "x",
                "referenceImages": [{"image": {"bytesBase64Encoded": B64}, "referenceType": "style"}],
            },
            {},
            "instances[0].referenceImages[0].referenceType",
        ),
        (
            {
                "prompt": "x",
                "image": {"bytesBase64Encoded": B64},
                "referenceImages": [{"image": {"bytesBase64Encoded": B64}}],
            },
            {},
            "instances[0].referenceImages",
        ),
        ({"prompt": "x"}, {"sampleCount": 2}, "parameters.sampleCount"),
        ({"prompt": "x"}, {"negativePrompt": "cats"}, "parameters.negativePrompt"),
        ({"prompt": "x"}, {"seed": 1}, "parameters.seed"),
        ({"prompt": "x"}, {"storageUri": "gs://b/"}, "parameters.storageUri"),
        ({"prompt": "x"}, {"generateAudio": False}, "parameters.generateAudio"),
        ({"prompt": "x"}, {"resolution": "8k"}, "parameters.resolution"),
        ({"prompt": "x"}, {"aspectRatio": "1:1"}, "parameters.aspectRatio"),
        ({"prompt": "x"}, {"durationSeconds": "long"}, "parameters.durationSeconds"),
    ],
)
def test_veo_errors_name_the_field(instance: dict[str, Any], parameters: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_veo({"instances": [instance], "parameters": parameters})
    assert info.value.param == param


def test_google_names_stand_for_catalogue_strings_with_google_defaults() -> None:
    names = GoogleNames.load(CATALOG)
    aspect = Choice("aspect", "9:16", "parameters.aspectRatio")
    assert names.model_string("veo-3.1-fast-generate-preview", []) == "veo_3_1-fast-16:9"  # Veo's default
    assert names.model_string("veo-3.1-fast-generate-preview", [aspect]) == "veo_3_1-fast-9:16"
    assert names.model_string("gemini-2.5-flash-image", []) == "nano_banana-1:1"
    size = Choice("image_size", "1K", "generationConfig.imageConfig.imageSize")
    assert names.model_string("gemini-2.5-flash-image", [size]) == "nano_banana-1:1"  # 1K adds nothing
    resolution = Choice("video_size", "sd", "parameters.resolution")
    assert (
        names.model_string("veo_3_1|[ultra]", [resolution, Choice("duration", "4", "x")])
        == "veo_3_1-4s|[ultra]"
    )
    for name in ("veo-3.1-generate-preview", "gemini-3-pro-image-preview", "imagen-4.0-generate-001"):
        CATALOG.resolve(names.model_string(name, []))  # every default string resolves


@pytest.mark.parametrize(
    ("name", "choice"),
    [
        ("imagen-4.0-generate-001", Choice("aspect", "1:1", "parameters.aspectRatio")),
        ("gemini-2.5-flash-image", Choice("image_size", "2K", "generationConfig.imageConfig.imageSize")),
        ("gemini-3-pro-image-preview", Choice("aspect", "21:9", "generationConfig.imageConfig.aspectRatio")),
        ("veo-3.1-generate-preview", Choice("duration", "5", "parameters.durationSeconds")),
        ("veo_3_1", Choice("video_size", "8K", "parameters.resolution")),
    ],
)
def test_a_value_the_model_lacks_is_refused_naming_googles_field(name: str, choice: Choice) -> None:
    with pytest.raises(InvalidRequestError) as info:
        GoogleNames.load(CATALOG).model_string(name, [choice])
    assert info.value.param == choice.field
    assert "valid" in info.value.message


def test_an_unknown_name_is_left_to_the_catalogue() -> None:
    text = GoogleNames.load(CATALOG).model_string("gemini-9-imaginary", [])
    with pytest.raises(ModelNotFoundError):
        CATALOG.resolve(text)


@pytest.mark.parametrize(
    "text",
    [
        '[google."x"]\nmodel = "no_such_model"\n',
        '[google."x"]\nmodel = "veo_3_1-sideways"\n',
        '[google."x"]\nmodel = "imagen_4"\naspect = "1:1"\n',
        '[google."x"]\naspect = "1:1"\n',
        "[google\n",
    ],
)
def test_bad_name_data_stops_the_start(text: str) -> None:
    with pytest.raises(ConfigError):
        GoogleNames.load(CATALOG, text)


def test_service_errors_are_renamed_to_googles_fields() -> None:
    with pytest.raises(InvalidRequestError) as info, fields_named({"seconds": "parameters.durationSeconds"}):
        raise InvalidRequestError("8 s only", param="seconds")
    assert info.value.param == "parameters.durationSeconds"
