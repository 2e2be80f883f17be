"""Browser workers, gateway side: the JSON worker protocol of flow-migration.md §4.2.

A worker (the Chrome extension, the Playwright worker) connects, says ``hello`` with the accounts it
serves, then runs ``call``s in a signed-in flow.google.com tab and answers ``result``s. This module
keeps who serves which account, sends calls and matches results, and fails a gone worker's calls
at once (``UpstreamWorkerGoneError``) so nobody hangs. It is transport-agnostic: the API layer
adapts a WebSocket to a channel and a message stream. Accounts coming and going are reported to
a listener (the composition root wires it to the pool); this module imports no pool. A call for an
account no local worker serves goes to the ``WorkerRelay`` (``worker_relay.py``): nowhere for one
gateway, the replica hosting its worker when several share Redis; the local path never waits on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from gateway.obs.tally import count_upstream_call
from gateway.upstream.flow.batch import CAPTCHA_PLACEHOLDER, BatchCall
from gateway.upstream.flow.errors import UpstreamProtocolError, UpstreamTimeoutError, UpstreamWorkerGoneError
from gateway.upstream.flow.worker_relay import Lane, LocalRelay, WorkerRelay, endpoint_of

PROTOCOL = 1
MAX_REPLY_BYTES = 16 * 1024 * 1024
log = structlog.get_logger("gateway.workers")


class WorkerChannel(Protocol):
    """Where messages to one worker go."""

    async def send(self, message: dict[str, Any]) -> None:
        """Send one JSON message."""
        ...


@dataclass(frozen=True, slots=True)
class AnnouncedAccount:
    """An account a worker serves, as its ``hello`` or ``account_state`` described it (no secrets)."""

    key: str
    project_id: str
    tier: str = ""
    groups: tuple[str, ...] = ()
    email_hint: str = ""


class AccountListener(Protocol):
    """Told when an account becomes reachable through a worker, or stops being so (and why)."""

    async def __call__(self, account: AnnouncedAccount, *, reachable: bool, reason: str) -> None:
        """React to the change."""
        ...


@dataclass(slots=True)
class _Worker:
    id: str
    channel: WorkerChannel
    accounts: dict[str, AnnouncedAccount]
    generates: asyncio.Semaphore
    reads: asyncio.Semaphore
    pending: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    captcha_refusals: int = 0


class WorkerHub:
    """Connected workers, the accounts they serve, and calls in flight."""

    def __init__(self, *, on_account: AccountListener, relay: WorkerRelay | None = None) -> None:
        self._on_account = on_account
        self._relay: WorkerRelay = relay or LocalRelay()
        self._workers: dict[str, _Worker] = {}
        self._by_account: dict[str, _Worker] = {}

    def serves(self, account_key: str) -> bool:
        """True when a worker connected to this replica serves the account."""
        return account_key in self._by_account

    def project_of(self, account_key: str) -> str | None:
        """The project the account's tab is open on."""
        worker = self._by_account.get(account_key)
        return worker.accounts[account_key].project_id if worker else self._relay.project_of(account_key)

    def connected(self) -> list[dict[str, object]]:
        """Workers and their accounts (for readiness and admin): this replica's, then the accounts
        other replicas' workers serve (``replica`` set, one entry per replica)."""
        return [
            *(
                {
                    "worker_id": w.id,
                    "accounts": sorted(w.accounts),
                    "in_flight": len(w.pending),
                    "captcha_refusals": w.captcha_refusals,
                }
                for w in self._workers.values()
            ),
            *self._relay.remote(),
        ]

    def totals(self) -> dict[str, int]:
        """This replica's workers, the accounts they serve, calls in flight and refused tokens,
        summed (health); ``remote_accounts``: those only other replicas' workers serve."""
        workers = self._workers.values()
        remote = {str(key) for entry in self._relay.remote() for key in _listed(entry.get("accounts"))}
        return {
            "connected": len(self._workers),
            "accounts": sum(len(w.accounts) for w in workers),
            "in_flight": sum(len(w.pending) for w in workers),
            "captcha_refusals": sum(w.captcha_refusals for w in workers),
            "remote_accounts": len(remote - self._by_account.keys()),
        }

    def note_captcha_refusal(self, account_key: str) -> None:
        """Flow refused a token this account's worker minted (counted per worker, for operators)."""
        worker = self._by_account.get(account_key)
        if worker is not None:
            worker.captcha_refusals += 1

    async def serve(self, channel: WorkerChannel, messages: AsyncIterator[dict[str, Any]]) -> None:
        """Run one connection from ``hello`` until it closes."""
        first = await anext(messages, None)
        worker = await self._hello(channel, first)
        if worker is None:
            return
        try:
            async for message in messages:
                await self._handle(worker, message)
        finally:
            await self._goodbye(worker)

    async def call(self, account_key: str, call: BatchCall) -> dict[str, Any]:
        """Send ``call`` to the worker serving ``account_key``; the worker's ``result`` message.

        Generates and reads are bounded separately, by what the worker announced (``max_inflight``)."""
        worker = self._by_account.get(account_key)
        lane = Lane.GENERATE if call.is_generate else Lane.READ
        if worker is None:
            message = _call_message(account_key, call)
            return await self._relay.call(account_key, message, lane=lane, seconds=call.timeout)
        async with _gate(worker, lane):
            return await self._request(worker, _call_message(account_key, call), call.timeout)

    async def probe(self, account_key: str, *, seconds: float = 15.0) -> dict[str, Any]:
        """What the worker sees in the account's tab (presence only: never cookie or token values)."""
        message: dict[str, Any] = {
            "type": "call",
            "op": "probe",
            "account_key": account_key,
            "deadline_ms": int(seconds * 1000),
        }
        worker = self._by_account.get(account_key)
        if worker is None:
            result = await self._relay.call(account_key, message, lane=Lane.PROBE, seconds=seconds)
        else:
            result = await self._request(worker, message, seconds)
        probe = result.get("probe")
        if not result.get("ok") or not isinstance(probe, dict):
            raise UpstreamProtocolError("probe: the worker answered no probe", endpoint="probe")
        return probe

    async def run_relayed(
        self, account_key: str, message: dict[str, Any], *, lane: Lane, seconds: float
    ) -> dict[str, Any]:
        """Run a call another replica relayed here, within the ``seconds`` its caller has left and
        the same bounds as a local call; never relayed on (a worker gone meanwhile is an error)."""
        worker = self._by_account.get(account_key)
        if worker is None:
            endpoint = endpoint_of(message)
            raise UpstreamWorkerGoneError(f"no worker serves {account_key} here", endpoint=endpoint)
        async with _gate(worker, lane):
            return await self._request(worker, {**message, "deadline_ms": int(seconds * 1000)}, seconds)

    async def _request(self, worker: _Worker, message: dict[str, Any], seconds: float) -> dict[str, Any]:
        call_id = f"c-{uuid.uuid4().hex}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        worker.pending[call_id] = future
        count_upstream_call()
        try:
            await worker.channel.send({**message, "id": call_id})
            async with asyncio.timeout(seconds):
                return await future
        except TimeoutError:
            await self._cancel(worker, call_id)
            raise UpstreamTimeoutError(
                f"worker gave no result within {seconds:g}s",
                endpoint=_endpoint(message),
            ) from None
        except asyncio.CancelledError:
            await self._cancel(worker, call_id)  # only honoured before dispatch: credits may be spent after
            raise
        finally:
            worker.pending.pop(call_id, None)

    async def _hello(self, channel: WorkerChannel, message: dict[str, Any] | None) -> _Worker | None:
        if not message or message.get("type") != "hello" or message.get("protocol") != PROTOCOL:
            await channel.send({"type": "error", "error": "the first message must be hello with protocol 1"})
            return None
        accepted, rejected = _accounts(message.get("accounts"))
        raw_limits = message.get("max_inflight")
        limits: dict[str, Any] = raw_limits if isinstance(raw_limits, dict) else {}
        worker = _Worker(
            str(message.get("worker_id") or uuid.uuid4().hex[:8]),
            channel,
            accepted,
            generates=asyncio.Semaphore(_limit(limits.get("generate"), 1)),
            reads=asyncio.Semaphore(_limit(limits.get("read"), 4)),
        )
        self._workers[worker.id] = worker
        try:
            for account in accepted.values():
                self._by_account[account.key] = worker
                await self._on_account(account, reachable=True, reason="")
                await self._relay.hosted(account, reachable=True)
            await channel.send({"type": "hello_ack", "accepted": sorted(accepted), "rejected": rejected})
        except BaseException:
            await self._goodbye(worker)  # a worker gone before its ack must not stay listed
            raise
        log.info("worker_connected", worker=worker.id, accounts=len(accepted), rejected=len(rejected))
        return worker

    async def _handle(self, worker: _Worker, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "result":
            future = worker.pending.get(str(message.get("id")))
            if future is not None and not future.done():
                future.set_result(message)
        elif kind == "ping":
            await worker.channel.send({"type": "pong"})
        elif kind == "account_state":
            await self._account_state(worker, message)
        elif kind != "pong":
            log.info("worker_message_ignored", worker=worker.id, type=str(kind)[:32])

    async def _account_state(self, worker: _Worker, message: dict[str, Any]) -> None:
        account = worker.accounts.get(str(message.get("account_key")))
        if account is None:
            return
        state = str(message.get("state", ""))
        await self._on_account(account, reachable=state == "ready", reason=state)
        await self._relay.hosted(account, reachable=state == "ready")

    async def _goodbye(self, worker: _Worker) -> None:
        self._workers.pop(worker.id, None)
        for call_id, future in worker.pending.items():
            if not future.done():
                future.set_exception(
                    UpstreamWorkerGoneError(
                        f"worker {worker.id} disconnected during {call_id}", endpoint="batch"
                    )
                )
        for key, account in worker.accounts.items():
            if self._by_account.get(key) is worker:
                del self._by_account[key]
                await self._on_account(account, reachable=False, reason="its browser worker disconnected")
                await self._relay.hosted(account, reachable=False)
        log.info("worker_disconnected", worker=worker.id, failed_calls=len(worker.pending))

    async def _cancel(self, worker: _Worker, call_id: str) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await worker.channel.send({"type": "cancel", "id": call_id})


def _gate(worker: _Worker, lane: Lane) -> contextlib.AbstractAsyncContextManager[object]:
    if lane is Lane.PROBE:
        return contextlib.nullcontext()
    return worker.generates if lane is Lane.GENERATE else worker.reads


def _endpoint(message: dict[str, Any]) -> str:
    return str(message.get("rpcid") or message.get("op"))


def _listed(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _limit(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 64 else default


def _call_message(account_key: str, call: BatchCall) -> dict[str, Any]:
    captcha = None
    if call.captcha_action is not None:
        captcha = {"action": call.captcha_action.value, "placeholder": CAPTCHA_PLACEHOLDER}
    return {
        "type": "call",
        "account_key": account_key,
        "op": "batchexecute",
        "rpcid": call.rpcid,
        "source_path": call.source_path,
        "freq": call.freq,
        "captcha": captcha,
        "response": {"max_bytes": MAX_REPLY_BYTES, "match": None},
        "deadline_ms": int(call.timeout * 1000),
    }


def _accounts(raw: object) -> tuple[dict[str, AnnouncedAccount], list[str]]:
    accepted: dict[str, AnnouncedAccount] = {}
    rejected: list[str] = []
    for entry in raw if isinstance(raw, list) else []:
        key = entry.get("account_key") if isinstance(entry, dict) else None
        tab = entry.get("tab") if isinstance(entry, dict) else None
        project = tab.get("project_id") if isinstance(tab, dict) else None
        if not isinstance(key, str) or not key or not isinstance(project, str) or not project:
            rejected.append(str(key))
            continue
        groups = entry.get("groups")
        accepted[key] = AnnouncedAccount(
            key,
            project,
            str(entry.get("tier") or ""),
            tuple(str(g).lower() for g in groups) if isinstance(groups, list) else (),
            str(entry.get("email_hint", "")),
        )
    return accepted, rejected


def result_body(result: dict[str, Any], *, endpoint: str) -> tuple[int, str]:
    """The HTTP status and body text of a successful ``result``."""
    status, body = result.get("http_status"), result.get("body")
    if not isinstance(status, int) or not isinstance(body, str):
        raise UpstreamProtocolError(f"{endpoint}: worker result without status or body", endpoint=endpoint)
    return status, body
