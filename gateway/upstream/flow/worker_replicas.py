"""Calls relayed between replicas to the one hosting the account's browser worker (several on Redis).

A caller queues its call on the host's request queue with the seconds it will wait; the host's one
consumer pops it and runs it through its hub, with the same bounds as a local call and only the
time its caller has left, then queues the worker's result (or the upstream error, by structure)
for the caller, whose one collector hands it to the waiting call. The guarantees:

- at most once: a popped request is never queued again, one popped after its caller stopped
  waiting is dropped (the caller raises the local timeout's ``UpstreamTimeoutError``), and no
  caller ever sends a call twice (a lost or late result is a timeout, never a resend);
- a worker leaving its host fails relayed calls at once (the host answers its
  ``UpstreamWorkerGoneError``); a host replica dying fails them as soon as its presence goes
  (``UpstreamWorkerGoneError``: the call may have run, so it is not retried);
- Redis away: a call that cannot be queued, and every call waiting when the collector loses Redis,
  raises ``StoreUnavailableError`` (503 with Retry-After, like every other store operation; it is
  no upstream error, so nothing retries it on another account); the loops go on and resume.

Calls for accounts a local worker serves never come here.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from gateway.errors import StoreUnavailableError
from gateway.upstream.flow import errors as up
from gateway.upstream.flow.worker_presence import TIMING, Presence, PresenceTiming
from gateway.upstream.flow.worker_relay import (
    CallBus,
    Lane,
    RelayHost,
    endpoint_of,
    error_from_wire,
    error_to_wire,
)
from gateway.upstream.flow.workers import AccountListener, AnnouncedAccount

log = structlog.get_logger("gateway.workers")
GRACE = 2.0  # seconds a caller waits past its call's timeout for the host's own timeout to arrive
CANCEL_WAIT = 1.0  # seconds a cancelled caller spends telling the host (best effort)
BACKOFF = 1.0  # seconds between attempts while Redis does not answer
CANCEL_AGAIN = 0.05  # seconds before a cancellation the client swallowed is sent again


@dataclass(frozen=True, slots=True)
class _Waiting:
    future: asyncio.Future[dict[str, Any]]
    account_key: str
    replica: str


class ReplicaRelay:
    """The ``WorkerRelay`` of a replica among several: presence, calls out, calls in."""

    def __init__(
        self,
        bus: CallBus,
        *,
        on_account: AccountListener,
        timing: PresenceTiming = TIMING,
        grace: float = GRACE,
    ) -> None:
        self._bus, self._grace = bus, grace
        self._presence = Presence(bus, on_account=on_account, timing=timing)
        self._waiting: dict[str, _Waiting] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._loops: list[asyncio.Task[None]] = []

    @property
    def replica(self) -> str:
        """This replica's id (in presence and queue names)."""
        return self._bus.replica

    async def hosted(self, account: AnnouncedAccount, *, reachable: bool) -> None:
        """A local worker serves the account, or stopped."""
        await self._presence.hosted(account, reachable=reachable)

    def project_of(self, account_key: str) -> str | None:
        """The project of an account another replica's worker serves."""
        return self._presence.project_of(account_key)

    def remote(self) -> list[dict[str, object]]:
        """One entry per other replica hosting workers, as ``WorkerHub.connected`` lists workers."""
        out: list[dict[str, object]] = []
        for replica, accounts in self._presence.by_replica().items():
            in_flight = sum(1 for w in self._waiting.values() if w.replica == replica)
            out.append(
                {
                    "worker_id": f"via {replica}",
                    "replica": replica,
                    "accounts": accounts,
                    "in_flight": in_flight,
                    "captcha_refusals": 0,  # counted where the worker is
                }
            )
        return out

    async def call(
        self, account_key: str, message: dict[str, Any], *, lane: Lane, seconds: float
    ) -> dict[str, Any]:
        """The ``result`` of ``message`` from the replica hosting the account's worker."""
        endpoint = endpoint_of(message)
        replica = self._presence.host_of(account_key)
        if replica is None:
            raise up.UpstreamWorkerGoneError(f"no worker serves {account_key}", endpoint=endpoint)
        call_id = f"r-{uuid.uuid4().hex}"
        waiting = _Waiting(asyncio.get_running_loop().create_future(), account_key, replica)
        self._waiting[call_id] = waiting
        request = {"id": call_id, "from": self.replica, "account_key": account_key, "lane": lane}
        try:
            await self._bus.send(replica, orjson.dumps({**request, "message": message}), within=seconds)
            async with asyncio.timeout(seconds + self._grace):
                return await waiting.future
        except TimeoutError:
            raise up.UpstreamTimeoutError(
                f"worker gave no result within {seconds:g}s", endpoint=endpoint
            ) from None
        except asyncio.CancelledError:
            await self._cancel(replica, call_id)  # honoured by the worker only before dispatch
            raise
        finally:
            self._waiting.pop(call_id, None)

    async def start(self, host: RelayHost) -> None:
        """Start presence, the consumer of calls for this replica's workers and the collector of
        results (until :meth:`stop`)."""
        await self._bus.open()
        self._loops = [
            asyncio.create_task(self._presence.run(host, on_read=self._check_hosts), name="relay-presence"),
            asyncio.create_task(self._consume(host), name="relay-consumer"),
            asyncio.create_task(self._collect(), name="relay-collector"),
        ]
        for loop in self._loops:
            loop.add_done_callback(_log_failure)

    async def withdraw(self) -> None:
        """This replica stops: its accounts are hosted no more (other replicas' callers fail at once)."""
        await self._presence.withdraw()

    async def stop(self) -> None:
        """End the loops and the calls relayed here. Without :meth:`withdraw` first, this replica's
        presence is left to expire, as a crashed one's does."""
        tasks, self._loops = [*self._loops, *self._running.values()], []
        # Cancelled until they end: redis-py can swallow a cancellation landing while it connects.
        while pending := [task for task in tasks if not task.done()]:
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=CANCEL_AGAIN)
        await self._bus.close()

    # --- calls out -------------------------------------------------------------------------

    async def _cancel(self, replica: str, call_id: str) -> None:
        with contextlib.suppress(StoreUnavailableError, TimeoutError):
            async with asyncio.timeout(CANCEL_WAIT):
                await self._bus.send(replica, orjson.dumps({"cancel": call_id}), within=self._grace)

    async def _collect(self) -> None:
        while True:
            try:
                raw = await self._bus.answers()
            except StoreUnavailableError:
                self._fail_waiting()
                await asyncio.sleep(BACKOFF)
                continue
            if raw is not None:
                self._deliver(raw)

    def _deliver(self, raw: bytes) -> None:
        reply = _object(raw)
        waiting = self._waiting.get(str(reply.get("id")))
        if waiting is None or waiting.future.done():
            log.info("relayed_result_late", call=str(reply.get("id"))[:40])  # its caller gave up
            return
        result = reply.get("result")
        if isinstance(result, dict):
            waiting.future.set_result(result)
        else:
            waiting.future.set_exception(error_from_wire(reply.get("error")))

    def _fail_waiting(self) -> None:
        log.warning("relayed_calls_failed_store_unavailable", calls=len(self._waiting))
        for waiting in self._waiting.values():
            if not waiting.future.done():
                waiting.future.set_exception(
                    StoreUnavailableError("the gateway's store is unavailable; retry shortly", retry_after=2)
                )

    def _check_hosts(self) -> None:
        """Fail the calls whose host no longer hosts their account (it died, or its worker moved)."""
        for call_id, waiting in self._waiting.items():
            if self._presence.host_of(waiting.account_key) != waiting.replica and not waiting.future.done():
                waiting.future.set_exception(
                    up.UpstreamWorkerGoneError(
                        f"the replica hosting the worker of {waiting.account_key} is gone during {call_id}",
                        endpoint="batch",
                    )
                )

    # --- calls in --------------------------------------------------------------------------

    async def _consume(self, host: RelayHost) -> None:
        while True:
            try:
                popped = await self._bus.receive()
            except StoreUnavailableError:
                log.warning("relayed_calls_unreadable", retry_in=BACKOFF)
                await asyncio.sleep(BACKOFF)
                continue
            if popped is not None:
                self._take(host, *popped)

    def _take(self, host: RelayHost, raw: bytes, left: float) -> None:
        request = _object(raw)
        cancelled = self._running.get(str(request.get("cancel")))
        if cancelled is not None:
            cancelled.cancel()
            return
        call_id, message = str(request.get("id")), request.get("message")
        if "cancel" in request or not isinstance(message, dict):
            return
        if left <= 0:  # its caller has stopped waiting: running it now would spend for nobody
            log.warning("relayed_call_stale", call=call_id[:40], late_seconds=round(-left, 3))
            return
        task = asyncio.create_task(self._run_one(host, request, message, left))
        self._running[call_id] = task
        task.add_done_callback(lambda done: self._finished(call_id, done))

    def _finished(self, call_id: str, task: asyncio.Task[None]) -> None:
        self._running.pop(call_id, None)
        _log_failure(task)

    async def _run_one(
        self, host: RelayHost, request: Mapping[str, object], message: dict[str, Any], left: float
    ) -> None:
        call_id, account_key = str(request.get("id")), str(request.get("account_key"))
        try:
            lane = Lane(str(request.get("lane")))
            result = await host.run_relayed(account_key, message, lane=lane, seconds=left)
            reply: dict[str, object] = {"id": call_id, "result": result}
        except up.UpstreamError as exc:
            reply = {"id": call_id, "error": error_to_wire(exc)}
        except ConnectionError:  # the worker's socket broke as the call went out: it may have left
            gone = up.UpstreamWorkerGoneError(
                f"the worker of {account_key} is gone", endpoint=endpoint_of(message)
            )
            reply = {"id": call_id, "error": error_to_wire(gone)}
        except ValueError:  # a lane this version does not know
            reply = {"id": call_id, "error": error_to_wire(up.UpstreamProtocolError("unknown lane"))}
        try:
            await self._bus.answer(str(request.get("from")), orjson.dumps(reply))
        except StoreUnavailableError:
            log.warning("relayed_result_lost", call=call_id[:40])  # its caller times out


def _log_failure(task: asyncio.Task[None]) -> None:
    """A loop or relayed call that failed other than by an upstream error is a bug: say so loudly."""
    if not task.cancelled() and task.exception() is not None:
        log.error("worker_relay_loop_failed", loop=task.get_name(), exc_info=task.exception())


def _object(raw: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
