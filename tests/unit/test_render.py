"""The large-JSON writer's pure parts: the body it streams is exactly the JSON of the document."""

from __future__ import annotations

import base64
import os

import orjson
import pytest

from gateway.api.render import (
    RAW_CHUNK,
    WRITE_CHUNK,
    Base64Bytes,
    body_chunks,
    json_pieces,
    json_response,
)


def eager(doc: object) -> bytes:
    """What the document is as JSON, with every Base64Bytes encoded at once."""

    def encode(value: object) -> str:
        assert isinstance(value, Base64Bytes)
        return base64.b64encode(value.data).decode()

    return orjson.dumps(doc, default=encode)


@pytest.mark.parametrize(
    "size", [0, 1, 2, 3, RAW_CHUNK - 1, RAW_CHUNK, RAW_CHUNK + 1, 3 * RAW_CHUNK + 2, 1_000_001]
)
def test_streamed_body_is_the_documents_json(size: int) -> None:
    raw = os.urandom(size)
    doc = {
        "created": 1,
        "data": [{"b64_json": Base64Bytes(raw), "revised_prompt": None}],
        "output_format": "jpg",
    }
    pieces = json_pieces(doc)
    body = b"".join(body_chunks(pieces))
    assert body == eager(doc)
    assert base64.b64decode(orjson.loads(body)["data"][0]["b64_json"]) == raw
    assert sum(len(p) if isinstance(p, bytes) else p.encoded_size for p in pieces) == len(body)


def test_several_lazy_values_and_strings_that_look_like_placeholders() -> None:
    doc = {
        "data": [{"b64_json": Base64Bytes(os.urandom(70_000))}, {"b64_json": Base64Bytes(b"ab")}],
        "prompt": 'b64-0000000000000000-0 "quoted" \\ \u00e9',
        "user": "b64-0123456789abcdef-1",  # exactly a placeholder's shape, with another nonce
    }
    assert b"".join(body_chunks(json_pieces(doc))) == eager(doc)


def test_chunks_are_about_the_write_size_and_a_plain_body_is_sliced_without_scanning() -> None:
    text = orjson.dumps({"b64_json": base64.b64encode(os.urandom(1_300_000)).decode()})
    pieces = json_pieces(orjson.loads(text))
    assert pieces == [text]
    chunks = list(body_chunks(pieces))
    assert b"".join(chunks) == text
    assert all(len(c) <= 2 * WRITE_CHUNK for c in chunks) and len(chunks) > 20


def test_json_response_encodes_lazy_values_at_once() -> None:
    response = json_response({"b64_json": Base64Bytes(b"hello")})
    assert response.body == b'{"b64_json":"aGVsbG8="}'
    with pytest.raises(TypeError):
        json_response({"x": object()})
