"""Browser workers across replicas, against a real redis-server: two hubs with their relays on one
Redis and prefix ("replicas" A and B), a fake worker connected to A, calls made at B."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gateway.domain import CaptchaAction
from gateway.errors import StoreUnavailableError
from gateway.store.redis_store import RedisStore
from gateway.upstream.flow import errors as up
from gateway.upstream.flow.batch import BatchCall
from gateway.upstream.flow.worker_presence import PresenceTiming
from gateway.upstream.flow.worker_replicas import ReplicaRelay
from gateway.upstream.flow.workers import AnnouncedAccount, WorkerHub
from tests.reliability.support import eventually
from tests.support.redis_server import RedisServer, start_server, unique_prefix

FAST = PresenceTiming(ttl=1.0, check=0.1, backoff=0.1)
GRACE = 0.3
ACCOUNT = "acct-1"


def generate(timeout: float = 10.0) -> BatchCall:
    return BatchCall("ogiZ0b", "[]", "/project/p-1", CaptchaAction.IMAGE_GENERATION, timeout)


def read(timeout: float = 10.0) -> BatchCall:
    return BatchCall("nzlxg", "[]", "/project/p-1", None, timeout)


class FakeWorker:
    """A worker without a browser: answers each call at once (``answer``), or holds it for ``reply``."""

    def __init__(self, *accounts: str) -> None:
        self.accounts = accounts
        self.calls: list[dict[str, Any]] = []
        self.cancels: list[str] = []
        self.answer = True
        self._out: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def send(self, message: dict[str, Any]) -> None:  # the hub -> the worker
        if message["type"] == "call":
            self.calls.append(message)
            if self.answer:
                self.reply(message)
        elif message["type"] == "cancel":
            self.cancels.append(message["id"])

    def reply(self, call: dict[str, Any]) -> None:
        if call["op"] == "probe":
            self._out.put_nowait(
                {"type": "result", "id": call["id"], "ok": True, "probe": {"flow_tab": True}}
            )
            return
        body = f"{call['rpcid']} for {call['account_key']}"
        self._out.put_nowait(
            {"type": "result", "id": call["id"], "ok": True, "http_status": 200, "body": body}
        )

    def leave(self) -> None:
        self._out.put_nowait(None)

    async def messages(self) -> AsyncIterator[dict[str, Any]]:
        yield {
            "type": "hello",
            "protocol": 1,
            "worker_id": "w-a",
            "max_inflight": {"generate": 1, "read": 4},
            "accounts": [
                {"account_key": key, "tier": "ultra", "groups": ["g"], "tab": {"project_id": f"proj-{key}"}}
                for key in self.accounts
            ],
        }
        while (message := await self._out.get()) is not None:
            yield message


@dataclass
class Replica:
    store: RedisStore
    hub: WorkerHub
    relay: ReplicaRelay
    seen: dict[str, bool] = field(default_factory=dict)  # account -> reachable, as the listener last heard
    running: bool = False
    serving: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        await self.relay.start(self.hub)
        self.running = True

    async def die(self) -> None:
        """Stop renewing presence and taking calls, without saying goodbye (a crash)."""
        if self.running:
            await self.relay.stop()
            self.running = False

    async def connect(self, worker: FakeWorker) -> None:
        self.serving.append(asyncio.create_task(self.hub.serve(worker, worker.messages())))
        await eventually(lambda: all(self.hub.serves(k) for k in worker.accounts), what="hello")

    async def close(self) -> None:
        await self.die()
        for task in self.serving:
            task.cancel()
        await asyncio.gather(*self.serving, return_exceptions=True)


Opener = Callable[..., Awaitable[Replica]]


@pytest.fixture
async def open_replica(redis_server: RedisServer) -> AsyncIterator[Opener]:
    prefix = unique_prefix()
    async with contextlib.AsyncExitStack() as stack:

        async def make(
            name: str,
            *,
            url: str = redis_server.url,
            timing: PresenceTiming = FAST,
            start: bool = True,
            wrap: Callable[[Any], Any] = lambda bus: bus,
        ) -> Replica:
            store = RedisStore(url, prefix=prefix)
            await store.open()
            stack.push_async_callback(store.close)
            seen: dict[str, bool] = {}

            async def listener(account: AnnouncedAccount, *, reachable: bool, reason: str) -> None:
                seen[account.key] = reachable

            bus = wrap(store.worker_bus(name))
            relay = ReplicaRelay(bus, on_account=listener, timing=timing, grace=GRACE)
            replica = Replica(store, WorkerHub(on_account=listener, relay=relay), relay, seen)
            stack.push_async_callback(replica.close)
            if start:
                await replica.start()
            return replica

        yield make


@pytest.fixture
async def worker() -> FakeWorker:
    return FakeWorker(ACCOUNT)


async def test_a_call_at_b_is_answered_by_the_worker_on_a(open_replica: Opener, worker: FakeWorker) -> None:
    a, b = await open_replica("A"), await open_replica("B")
    await a.connect(worker)
    await eventually(lambda: b.seen.get(ACCOUNT) is True, what="B hears of the account")
    assert b.hub.project_of(ACCOUNT) == f"proj-{ACCOUNT}"
    result = await b.hub.call(ACCOUNT, generate(timeout=10.0))
    assert (result["ok"], result["body"]) == (True, f"ogiZ0b for {ACCOUNT}")
    assert len(worker.calls) == 1
    assert 0 < worker.calls[0]["deadline_ms"] <= 10_000  # the time B had left, not more
    assert (await b.hub.probe(ACCOUNT)) == {"flow_tab": True}
    assert b.hub.totals()["remote_accounts"] == 1 and b.hub.totals()["connected"] == 0
    [entry] = b.hub.connected()
    assert (entry["replica"], entry["accounts"]) == ("A", [ACCOUNT])
    assert a.hub.totals()["remote_accounts"] == 0  # A serves it itself


async def test_concurrent_calls_at_b_each_get_their_own_result(open_replica: Opener) -> None:
    worker = FakeWorker("acct-1", "acct-2")
    a, b = await open_replica("A"), await open_replica("B")
    await a.connect(worker)
    await eventually(lambda: b.seen.get("acct-1") is True and b.seen.get("acct-2") is True)
    keys = ["acct-1", "acct-2"] * 6
    results = await asyncio.gather(*(b.hub.call(key, read()) for key in keys))
    assert [r["body"] for r in results] == [f"nzlxg for {key}" for key in keys]
    assert len(worker.calls) == len(keys)


async def test_a_generate_is_run_once_when_its_result_is_lost_or_late(
    open_replica: Opener, worker: FakeWorker
) -> None:
    a, b = await open_replica("A"), await open_replica("B")
    await a.connect(worker)
    await eventually(lambda: b.seen.get(ACCOUNT) is True)
    worker.answer = False  # the result comes after B stopped waiting (as good as lost, for B)
    started = time.monotonic()
    with pytest.raises(up.UpstreamTimeoutError):
        await b.hub.call(ACCOUNT, generate(timeout=0.5))
    assert time.monotonic() - started < 0.5 + GRACE + 1.0
    # A's hub timed the call out on its own (the time B had), so even a late result lands nowhere.
    worker.reply(worker.calls[0])
    worker.answer = True
    result = await b.hub.call(ACCOUNT, read())  # the relay still works, and did not resend
    assert result["body"] == f"nzlxg for {ACCOUNT}"
    assert [c["rpcid"] for c in worker.calls] == ["ogiZ0b", "nzlxg"]


class LosingResults:
    """A replica's bus that loses every result it sends back (a reply lost on the way)."""

    def __init__(self) -> None:
        self.bus: Any = None
        self.lost = 0

    def wrap(self, bus: Any) -> LosingResults:
        self.bus = bus
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self.bus, name)

    async def answer(self, replica: str, payload: bytes) -> None:
        self.lost += 1


async def test_a_generate_whose_result_is_lost_times_out_and_is_not_sent_again(
    open_replica: Opener, worker: FakeWorker
) -> None:
    losing = LosingResults()
    a = await open_replica("A", wrap=losing.wrap)
    b = await open_replica("B")
    await a.connect(worker)
    await eventually(lambda: b.seen.get(ACCOUNT) is True)
    started = time.monotonic()
    with pytest.raises(up.UpstreamTimeoutError):  # as a local call that got no result
        await b.hub.call(ACCOUNT, generate(timeout=0.5))
    assert 0.5 + GRACE <= time.monotonic() - started < 0.5 + GRACE + 1.0
    assert losing.lost == 1  # the worker answered; the answer never came back
    assert len(worker.calls) == 1


async def test_a_call_taken_too_late_is_dropped_not_run(open_replica: Opener, worker: FakeWorker) -> None:
    slow = PresenceTiming(ttl=30.0, check=0.1, backoff=0.1)
    a = await open_replica("A", timing=slow, start=False)  # A takes no calls yet
    b = await open_replica("B", timing=slow)
    await a.connect(worker)
    await eventually(lambda: b.seen.get(ACCOUNT) is True)
    with pytest.raises(up.UpstreamTimeoutError):
        await b.hub.call(ACCOUNT, generate(timeout=0.2))
    await a.start()  # A now pops the request whose caller gave up: dropped
    result = await b.hub.call(ACCOUNT, read())  # queued behind it, so the stale one was seen first
    assert result["body"] == f"nzlxg for {ACCOUNT}"
    assert [c["rpcid"] for c in worker.calls] == ["nzlxg"]


async def test_worker_leaving_a_fails_the_call_at_b_at_once(open_replica: Opener, worker: FakeWorker) -> None:
    a, b = await open_replica("A"), await open_replica("B")
    await a.connect(worker)
    await eventually(lambda: b.seen.get(ACCOUNT) is True)
    worker.answer = False
    call = asyncio.ensure_future(b.hub.call(ACCOUNT, generate(timeout=30.0)))
    await eventually(lambda: len(worker.calls) == 1, what="the call reached the worker")
    worker.leave()
    async with asyncio.timeout(3.0):  # not the call's 30 s
        with pytest.raises(up.UpstreamWorkerGoneError):
            await call
    await eventually(lambda: b.seen.get(ACCOUNT) is False, what="NEEDS_WORKER on B")
    with pytest.raises(up.UpstreamWorkerGoneError):
        await b.hub.call(ACCOUNT, generate())
    assert len(worker.calls) == 1


async def test_host_dying_fails_the_call_within_the_ttl(open_replica: Opener, worker: FakeWorker) -> None:
    a, b = await open_replica("A"), await open_replica("B")
    await a.connect(worker)
    await eventually(lambda: b.seen.get(ACCOUNT) is True)
    worker.answer = False
    call = asyncio.ensure_future(b.hub.call(ACCOUNT, generate(timeout=30.0)))
    await eventually(lambda: len(worker.calls) == 1)
    await a.die()
    async with asyncio.timeout(FAST.ttl + 2.0):
        with pytest.raises(up.UpstreamWorkerGoneError):
            await call
    await eventually(lambda: b.seen.get(ACCOUNT) is False, what="NEEDS_WORKER on B")
    assert b.hub.project_of(ACCOUNT) is None
    assert len(worker.calls) == 1  # never sent again


async def test_presence_moves_reach_the_other_replica_by_pub_sub(
    open_replica: Opener, worker: FakeWorker
) -> None:
    # Neither replica looks on its own for 30 s: only the published moves can tell B in time.
    slow = PresenceTiming(ttl=60.0, check=30.0, backoff=0.1)
    a, b = await open_replica("A", timing=slow), await open_replica("B", timing=slow)
    await b.store.changes.subscribed()
    await a.connect(worker)
    await eventually(lambda: b.seen.get(ACCOUNT) is True, within=2.0, what="B hears of the hello")
    await a.relay.withdraw()  # A stops: its accounts are withdrawn, not left to expire
    await eventually(lambda: b.seen.get(ACCOUNT) is False, within=2.0, what="long before the TTL")


async def test_redis_away_fails_calls_fast_and_the_relay_recovers(
    open_replica: Opener, worker: FakeWorker, tmp_path: Path
) -> None:
    server = start_server(tmp_path / "redis")  # its own: this test stops it
    try:
        timing = PresenceTiming(ttl=5.0, check=0.1, backoff=0.1)
        a = await open_replica("A", url=server.url, timing=timing)
        b = await open_replica("B", url=server.url, timing=timing)
        await a.connect(worker)
        await eventually(lambda: b.seen.get(ACCOUNT) is True)
        worker.answer = False
        waiting = asyncio.ensure_future(b.hub.call(ACCOUNT, generate(timeout=30.0)))
        await eventually(lambda: len(worker.calls) == 1)
        server.stop()
        async with asyncio.timeout(3.0):
            with pytest.raises(StoreUnavailableError):  # 503 Retry-After; never resent
                await waiting
            with pytest.raises(StoreUnavailableError):
                await b.hub.call(ACCOUNT, read())
        worker.answer = True
        server.start()  # empty: A's renewals write its presence again
        await eventually(lambda: _answers(b), within=10.0, what="the relay works again")
        assert worker.calls[0]["rpcid"] == "ogiZ0b"
        assert [c["rpcid"] for c in worker.calls].count("ogiZ0b") == 1
    finally:
        server.stop()


async def _answers(b: Replica) -> bool:
    try:
        return (await b.hub.call(ACCOUNT, read(timeout=1.0)))["ok"] is True
    except (StoreUnavailableError, up.UpstreamError):
        return False
