"""The flow.google.com batchexecute envelope: ``f.req`` out, framed replies in (flow-migration.md §2.2-§2.3).

Pure: no I/O. Replies are parsed by scanning for JSON arrays and decoding each in place, never by
trusting the length prefixes (they disagree with the payload by a byte or two around escapes).
Error frames become the same typed ``UpstreamError``s the REST transport raises.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from gateway.domain import CaptchaAction
from gateway.upstream.flow.errors import UpstreamError, UpstreamProtocolError, classify_rpc
from gateway.upstream.flow.reasons import decode_status

ENDPOINT_PATH = "/_/AiSandboxAngularFrontend/data/batchexecute"
CAPTCHA_PLACEHOLDER = "__CAPTCHA__"
XSSI_PREFIX = ")]}'"
_COMPACT = (",", ":")


@dataclass(frozen=True, slots=True)
class BatchCall:
    """One RPC as a worker runs it: the ready ``f.req`` (captcha placeholder included) and where it runs."""

    rpcid: str
    freq: str
    source_path: str
    captcha_action: CaptchaAction | None = None
    timeout: float = 180.0

    @property
    def is_generate(self) -> bool:
        """Generates spend credits and a single-use token: never retried after dispatch."""
        return self.captcha_action is not None


def encode_freq(rpcid: str, inner: object) -> str:
    """``[[["<rpcid>", "<inner as JSON text>", null, "generic"]]]``."""
    return json.dumps(
        [[[rpcid, json.dumps(inner, separators=_COMPACT), None, "generic"]]], separators=_COMPACT
    )


def decode_freq(freq: str) -> tuple[str, object]:
    """The rpcid and inner payload of an ``f.req`` (the inverse of :func:`encode_freq`)."""
    outer = json.loads(freq)
    rpcid, inner, _, _ = outer[0][0]
    return str(rpcid), json.loads(inner)


def iter_frames(text: str) -> Iterator[list[object]]:
    """Every frame (``["wrb.fr", ...]``, ``["er", ...]``, ``["di", ...]``…) in a reply, in order."""
    body = text[len(XSSI_PREFIX) :] if text.startswith(XSSI_PREFIX) else text
    decoder = json.JSONDecoder()
    index = 0
    while (index := body.find("[", index)) != -1:
        try:
            value, end = decoder.raw_decode(body, index)
        except json.JSONDecodeError:
            index += 1
            continue
        if isinstance(value, list):
            yield from (
                entry for entry in value if isinstance(entry, list) and entry and isinstance(entry[0], str)
            )
        index = end


@dataclass(frozen=True, slots=True)
class Reply:
    """One RPC's answer: its decoded payload, or the status list of its error frame."""

    payload: object = None
    status: object = None
    failed: bool = False


def read_reply(text: str, rpcid: str, *, endpoint: str) -> Reply:
    """``rpcid``'s frame in a reply: ``["wrb.fr", rpcid, "<payload>", …]`` or, failed, ``["wrb.fr",
    rpcid, null, null, null, STATUS, "generic"]`` (an ``["er", …]`` frame fails the whole batch)."""
    for frame in iter_frames(text):
        kind = frame[0]
        if kind == "wrb.fr" and len(frame) > 2 and frame[1] == rpcid:
            if isinstance(frame[2], str):
                try:
                    return Reply(json.loads(frame[2]))
                except json.JSONDecodeError:
                    raise UpstreamProtocolError(
                        f"{endpoint}: payload is not JSON", endpoint=endpoint
                    ) from None
            return Reply(status=_status_of(frame[3:]), failed=True)
        if kind == "er":
            return Reply(status=_status_of(frame[1:]), failed=True)
    raise UpstreamProtocolError(f"{endpoint}: no frame for {rpcid}", endpoint=endpoint)


def error_of(reply: Reply, *, endpoint: str, submit: bool = False) -> UpstreamError:
    """The typed error a failed reply stands for (``submit``: an asynchronous video submit)."""
    decoded = decode_status(reply.status)
    return classify_rpc(decoded.code, decoded.reasons, endpoint=endpoint, submit=submit)


def parse_reply(text: str, rpcid: str, *, endpoint: str, submit: bool = False) -> object:
    """The decoded payload of ``rpcid``'s frame, or the typed error its error frame stands for."""
    reply = read_reply(text, rpcid, endpoint=endpoint)
    if reply.failed:
        raise error_of(reply, endpoint=endpoint, submit=submit)
    return reply.payload


def _status_of(items: list[object]) -> object:
    """The status list among a frame's slots: the first list starting with an integer code."""
    for item in items:
        if isinstance(item, list) and item and isinstance(item[0], int) and not isinstance(item[0], bool):
            return item
    return None
