"""A worker's first frame: a JSON text ``hello`` of our protocol, or a close code and a reason."""

from __future__ import annotations

import pytest
from aiohttp import WSCloseCode, WSMessage, WSMsgType

from gateway.api.workers import MAX_REASON, HelloRefusedError, parse_hello


def frame(kind: WSMsgType, data: object) -> WSMessage:
    return WSMessage(kind, data, None)


def test_a_hello_passes() -> None:
    hello = parse_hello(frame(WSMsgType.TEXT, '{"type": "hello", "protocol": 1, "accounts": []}'))
    assert hello == {"type": "hello", "protocol": 1, "accounts": []}


@pytest.mark.parametrize(
    ("first", "code"),
    [
        (frame(WSMsgType.BINARY, b"\x00\x01hello"), WSCloseCode.UNSUPPORTED_DATA),
        (frame(WSMsgType.TEXT, "hello?"), WSCloseCode.POLICY_VIOLATION),
        (frame(WSMsgType.TEXT, "[1, 2]"), WSCloseCode.POLICY_VIOLATION),
        (frame(WSMsgType.TEXT, '{"type": "ping"}'), WSCloseCode.POLICY_VIOLATION),
        (frame(WSMsgType.TEXT, '{"type": "hello", "protocol": 2}'), WSCloseCode.POLICY_VIOLATION),
    ],
    ids=["binary", "not-json", "not-an-object", "wrong-type", "wrong-protocol"],
)
def test_anything_else_is_refused_with_a_code_and_a_reason(first: WSMessage, code: WSCloseCode) -> None:
    with pytest.raises(HelloRefusedError) as info:
        parse_hello(first)
    assert info.value.code is code
    assert 0 < len(info.value.reason.encode()) <= MAX_REASON
