"""Per-request counts that deeper layers add to without knowing the request: upstream calls.

The middleware starts a tally for each request; the upstream client trace and the worker hub add
to it through a context variable (each asyncio task sees its request's tally; background tasks
started at application start see none and count nothing). The count is logged on the access line
and observed as ``gateway_upstream_calls_per_request``.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from aiohttp import web


@dataclass(slots=True)
class Tally:
    """What one client request cost upstream."""

    upstream_calls: int = 0


TALLY = web.RequestKey("gateway.tally", Tally)
# A context variable is the one way to reach the request from code that must not know it (an aiohttp
# trace callback, the worker hub); it holds no state of its own beyond the current task's tally.
_CURRENT: ContextVar[Tally | None] = ContextVar("gateway_tally", default=None)


def start_tally() -> Tally:
    """A fresh tally for the current task (and the tasks it creates)."""
    tally = Tally()
    _CURRENT.set(tally)
    return tally


def count_upstream_call() -> None:
    """One more call to Flow for the current request, if there is one."""
    tally = _CURRENT.get()
    if tally is not None:
        tally.upstream_calls += 1
