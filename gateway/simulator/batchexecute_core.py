"""Shared pieces of the simulator's batchexecute: RPC errors, reply framing, the checks every RPC shares.

An error frame's status is a ``google.rpc.Status`` as live captures show it (``reasons.py``): a bare
``[code]`` when Flow gives no reason (``[3]`` malformed, ``[5]`` not found), else
``[code, null, [[typeUrl, value]]]``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gateway.simulator.call import Call
from gateway.simulator.errors import GoogleError
from gateway.simulator.reasons import status

TOOL_CODE = 22
CTX_SLOTS = 11
_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")


class RpcError(Exception):
    """An RPC-level failure, answered as a status in the ``wrb.fr`` frame."""

    def __init__(self, code: int, reason: str | None = None, form: str = "string") -> None:
        super().__init__(code)
        self.code, self.reason, self.form = code, reason, form

    def status(self) -> list[object]:
        """The ``google.rpc.Status`` list of the frame."""
        return status(self.code, self.reason, self.form)


def frame_reply(rpcid: str, payload: object | None, error: RpcError | None = None) -> str:
    """The framed reply text."""
    wrb = [
        "wrb.fr",
        rpcid,
        None if error is not None else json.dumps(payload),
        None,
        None,
        None if error is None else error.status(),
        "generic",
    ]
    first = json.dumps([wrb])
    second = json.dumps([["di", 42], ["af.httprm", 41, "-1234567890", 7]])
    return f")]}}'\n\n{len(first)}\n{first}\n{len(second)}\n{second}\n"


def check_ctx(call: Call, ctx: Any, *, project: str | None, action: str | tuple[str, ...] | None) -> None:
    """Check the shared context ``[null, 22, null×3, project, null×4, [token, 1]]``; with ``action``,
    verify and use up its token. ``project`` None accepts a null project slot or one the account owns."""
    if not isinstance(ctx, list) or len(ctx) != CTX_SLOTS or ctx[1] != TOOL_CODE:
        raise RpcError(3)
    if ctx[5] != project and (project is not None or not _own_or_null(call, ctx[5])):
        raise RpcError(3)
    if action is None:
        return
    call.token_present = bool(token_of(ctx))
    try:
        call.world.consume_token(token_of(ctx), action=action, user_agent=call.user_agent())
    except GoogleError:
        raise RpcError(7, "PUBLIC_ERROR_UNUSUAL_ACTIVITY") from None
    call.token_ok = True


def _own_or_null(call: Call, project: object) -> bool:
    return project is None or project in call.owner.projects


def token_of(ctx: Any) -> object:
    """The token slot of a context (``ctx[10][0]``), or None."""
    slot = ctx[10] if isinstance(ctx, list) and len(ctx) == CTX_SLOTS else None
    return slot[0] if isinstance(slot, list) and len(slot) == 2 and slot[1] == 1 else None


def project_of_path(call: Call, source_path: str) -> str:
    """The project of a ``/project/<id>`` source path, if the account owns it; else ``[3]``."""
    project_id = source_path.removeprefix("/project/").split("/")[0]
    if not source_path.startswith("/project/") or project_id not in call.owner.projects:
        raise RpcError(3)
    return project_id


def is_uuid(value: object) -> bool:
    """True for a UUID string (the page sends them upper-case; either case is accepted)."""
    return isinstance(value, str) and bool(_UUID.match(value))


def prompt_of(block: Any) -> str:
    """The text of a prompt block ``[null, null, [[["text"]]]]``; ``[3]`` otherwise."""
    try:
        text = block[2][0][0][0] if block[:2] == [None, None] and len(block) == 3 else None
    except (TypeError, IndexError, KeyError):
        raise RpcError(3) from None
    if not isinstance(text, str) or not text.strip():
        raise RpcError(3)
    return text


def check_ids(block: Any) -> str:
    """A video item's id block ``[null×4, uuid, uuid]`` (two seeds the outputs' ids derive from)."""
    if not (
        isinstance(block, list)
        and len(block) == 6
        and block[:4] == [None] * 4
        and all(is_uuid(v) for v in block[4:])
    ):
        raise RpcError(3)
    return str(block[4])


def check_trailer(trailer: Any, seconds: tuple[tuple[int, ...], ...]) -> str:
    """A trailer ``[uuid, *rest]`` whose rest is one of ``seconds``; returns its uuid."""
    if not isinstance(trailer, list) or not trailer or not is_uuid(trailer[0]):
        raise RpcError(3)
    if tuple(trailer[1:]) not in seconds or any(isinstance(v, bool) for v in trailer[1:]):
        raise RpcError(3)
    return str(trailer[0])


def int_of(value: Any) -> int | None:
    """``value`` when it is an int (never a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
