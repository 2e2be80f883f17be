"""Calls for accounts whose browser worker is connected to another replica: the seam.

The hub (``workers.py``) serves its own workers' accounts directly and hands every other call to a
``WorkerRelay``. One gateway alone has nothing to relay to (``LocalRelay``: no worker, the same
``UpstreamWorkerGoneError`` as before); several replicas on Redis relay through the store
(``worker_replicas.py`` over ``store/redis_workers.py``). This module holds what both sides share:
the Protocols (the relay, the hub it runs calls on, the buses it speaks through), the lanes a
call is bounded by, and how an ``UpstreamError`` crosses the hop with
its structure (class, endpoint, Google status and reasons), never its message text as a meaning.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from gateway.upstream.flow import errors as up

if TYPE_CHECKING:  # workers.py imports this module: the hub's types are only named here
    from gateway.upstream.flow.workers import AnnouncedAccount


class Lane(enum.StrEnum):
    """Which of the worker's bounds a call waits for: generates and reads are bounded apart (what
    the worker announced), probes by nothing."""

    GENERATE = "generate"
    READ = "read"
    PROBE = "probe"


class RelayHost(Protocol):
    """What a relay needs of the local hub: whether it serves an account, and running a call that
    another replica relayed here (through the same bounds as a local call, never relayed again)."""

    def serves(self, account_key: str) -> bool:
        """True when a worker connected here serves the account."""
        ...

    async def run_relayed(
        self, account_key: str, message: dict[str, Any], *, lane: Lane, seconds: float
    ) -> dict[str, Any]:
        """The worker's ``result`` message for ``message``."""
        ...


class WorkerRelay(Protocol):
    """Where the hub's calls go when no local worker serves the account, and who hears of the
    accounts its workers serve."""

    async def hosted(self, account: AnnouncedAccount, *, reachable: bool) -> None:
        """A local worker serves the account (ready) or stopped doing so."""
        ...

    async def call(
        self, account_key: str, message: dict[str, Any], *, lane: Lane, seconds: float
    ) -> dict[str, Any]:
        """The ``result`` of ``message`` from the replica hosting the account's worker."""
        ...

    def project_of(self, account_key: str) -> str | None:
        """The project of an account another replica's worker serves."""
        ...

    def remote(self) -> list[dict[str, object]]:
        """The accounts other replicas' workers serve, by replica (admin, doctor)."""
        ...


class PresenceBus(Protocol):
    """The shared presence (``store/redis_workers.py``)."""

    @property
    def replica(self) -> str:
        """This replica's id."""
        ...

    async def host(self, announcements: Mapping[str, bytes], *, ttl: float) -> list[str]:
        """Host (or renew) accounts; those another replica hosts."""
        ...

    async def unhost(self, accounts: Sequence[str]) -> None:
        """Stop hosting accounts."""
        ...

    async def hosts(self) -> dict[str, tuple[str, bytes]]:
        """Every hosted account: its replica and announcement."""
        ...

    async def changed(self, seconds: float) -> bool:
        """True as soon as presence moved, False after ``seconds``."""
        ...


class CallBus(PresenceBus, Protocol):
    """The shared queues (``store/redis_workers.py``), besides presence."""

    async def open(self) -> None:
        """Connect what the blocking pops need."""
        ...

    async def close(self) -> None:
        """Disconnect it."""
        ...

    async def send(self, replica: str, payload: bytes, *, within: float) -> None:
        """Queue a call for ``replica``, to run only if taken within ``within`` seconds."""
        ...

    async def receive(self) -> tuple[bytes, float] | None:
        """A call queued for this replica and the seconds its caller still waits; None: none yet."""
        ...

    async def answer(self, replica: str, payload: bytes) -> None:
        """Queue a result for a caller on ``replica``."""
        ...

    async def answers(self) -> bytes | None:
        """A result for a caller here; None: none yet."""
        ...


class LocalRelay:
    """One gateway: no other replica hosts a worker."""

    async def hosted(self, account: AnnouncedAccount, *, reachable: bool) -> None:
        """Nothing to tell anyone."""

    async def call(
        self, account_key: str, message: dict[str, Any], *, lane: Lane, seconds: float
    ) -> dict[str, Any]:
        """No worker serves the account."""
        raise up.UpstreamWorkerGoneError(f"no worker serves {account_key}", endpoint=endpoint_of(message))

    def project_of(self, account_key: str) -> str | None:
        """Unknown: no other replica."""
        return None

    def remote(self) -> list[dict[str, object]]:
        """None."""
        return []


def endpoint_of(message: dict[str, Any]) -> str:
    """The endpoint a call message is for, as the hub names it in errors (``batch.<rpcid>``, ``probe``)."""
    rpcid = message.get("rpcid")
    return f"batch.{rpcid}" if rpcid else str(message.get("op") or "batch")


def _error_classes() -> dict[str, type[up.UpstreamError]]:
    found: dict[str, type[up.UpstreamError]] = {}
    todo: list[type[up.UpstreamError]] = [up.UpstreamError]
    while todo:
        cls = todo.pop()
        found[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return found


ERROR_CLASSES = _error_classes()  # every upstream error class by name: the kinds a reply may carry


def error_to_wire(exc: up.UpstreamError) -> dict[str, Any]:
    """An upstream error as a relayed reply carries it."""
    google = exc.error
    return {
        "kind": type(exc).__name__,
        "message": str(exc),
        "endpoint": exc.endpoint,
        "retry_after": exc.retry_after,
        "google": (
            None
            if google is None
            else {"http_status": google.http_status, "status": google.status, "reasons": list(google.reasons)}
        ),
    }


def error_from_wire(wire: object) -> up.UpstreamError:
    """The upstream error a relayed reply carries. A kind this replica does not know (another
    version mid-upgrade) is read as the worker gone: its call may have run, so it is never sent again."""
    fields: dict[str, Any] = wire if isinstance(wire, dict) else {}
    cls = ERROR_CLASSES.get(str(fields.get("kind")), up.UpstreamWorkerGoneError)
    google = fields.get("google")
    retry_after = fields.get("retry_after")
    return cls(
        str(fields.get("message", "relayed call failed")),
        endpoint=str(fields.get("endpoint", "")),
        error=_google(google) if isinstance(google, dict) else None,
        retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
    )


def _google(fields: dict[str, Any]) -> up.GoogleError:
    reasons = fields.get("reasons")
    return up.GoogleError(
        int(fields.get("http_status") or 0),
        str(fields.get("status") or ""),
        tuple(str(r) for r in reasons) if isinstance(reasons, list) else (),
    )
