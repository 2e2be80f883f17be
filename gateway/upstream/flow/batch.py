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
from gateway.upstream.flow.errors import UpstreamProtocolError, classify_rpc

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


def parse_reply(text: str, rpcid: str, *, endpoint: str) -> object:
    """The decoded payload of ``rpcid``'s frame, or the typed error its error frame stands for."""
    for frame in iter_frames(text):
        kind = frame[0]
        if kind == "wrb.fr" and len(frame) > 2 and frame[1] == rpcid:
            if isinstance(frame[2], str):
                try:
                    return json.loads(frame[2])
                except json.JSONDecodeError:
                    raise UpstreamProtocolError(
                        f"{endpoint}: payload is not JSON", endpoint=endpoint
                    ) from None
            raise classify_rpc(_status_code(frame[3:]), _reasons(frame), endpoint=endpoint)
        if kind == "er":
            raise classify_rpc(_status_code(frame[1:]), _reasons(frame), endpoint=endpoint)
    raise UpstreamProtocolError(f"{endpoint}: no frame for {rpcid}", endpoint=endpoint)


def _status_code(items: list[object]) -> int:
    """The first status list (``[3]``, ``[8, …]``) among ``items``; 13 (INTERNAL) when none is there."""
    for item in items:
        if isinstance(item, list) and item and isinstance(item[0], int) and not isinstance(item[0], bool):
            return item[0]
    return 13


def _reasons(value: object) -> tuple[str, ...]:
    """Every ``PUBLIC_ERROR_*`` string anywhere in an error frame."""
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and item.startswith("PUBLIC_ERROR_"):
            found.append(item)
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return tuple(dict.fromkeys(found))
