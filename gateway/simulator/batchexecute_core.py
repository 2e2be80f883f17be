"""Shared pieces of the simulator's batchexecute: RPC errors, reply framing, context checks."""

from __future__ import annotations

import json
from typing import Any

from gateway.simulator.call import Call
from gateway.simulator.errors import GoogleError

TOOL_CODE = 22


class RpcError(Exception):
    """An RPC-level failure, answered as a status list in the ``wrb.fr`` frame."""

    def __init__(self, code: int, reason: str | None = None) -> None:
        super().__init__(code)
        self.code, self.reason = code, reason


def frame_reply(rpcid: str, payload: object | None, error: RpcError | None = None) -> str:
    """The framed reply text."""
    status: list[object] | None = None
    if error is not None:
        status = [error.code, None, [[error.reason]]] if error.reason else [error.code]
    wrb = ["wrb.fr", rpcid, None if payload is None else json.dumps(payload), None, None, status, "generic"]
    first = json.dumps([wrb])
    second = json.dumps([["di", 42], ["af.httprm", 41, "-1234567890", 7]])
    return f")]}}'\n\n{len(first)}\n{first}\n{len(second)}\n{second}\n"


def check_ctx(call: Call, ctx: Any, *, project: str | None, action: str | None) -> None:
    """Check the shared context block; with ``action``, verify and use up the token in ``ctx[10]``."""
    if not isinstance(ctx, list) or len(ctx) < 11 or ctx[1] != TOOL_CODE:
        raise RpcError(3)
    if project is not None and ctx[5] != project:
        raise RpcError(3)
    if action is None:
        return
    token = ctx[10][0] if isinstance(ctx[10], list) and ctx[10] else None
    try:
        call.world.consume_token(token, action=action, user_agent=call.user_agent())
    except GoogleError:
        raise RpcError(7, "PUBLIC_ERROR_UNUSUAL_ACTIVITY") from None
    call.token_ok = True


def project_of_path(call: Call, source_path: str) -> str:
    """The project of a ``/project/<id>`` source path, if the account owns it; else ``[3]``."""
    project_id = source_path.removeprefix("/project/").split("/")[0]
    if not source_path.startswith("/project/") or project_id not in call.owner.projects:
        raise RpcError(3)
    return project_id
