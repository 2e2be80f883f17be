"""Which replica hosts which account's browser worker, seen from one replica (several on Redis).

This replica hosts the accounts its own workers serve: it writes each one's presence (what the
worker's hello said of it, no secrets) with a TTL and renews it while the worker stays, and takes
it back when the worker goes. It reads every other replica's presence whenever one moves (pub/sub)
and on a timer (a dead replica's presence only expires, which wakes no one), and reports accounts
appearing and vanishing to the same listener a local hello reports to: the pool then sees an
account reachable on every replica while any replica hosts its worker, and ``NEEDS_WORKER``
everywhere once none does. Redis away: the last view is kept for one TTL (hosts keep renewing
nowhere, so it would expire there too), then dropped; every loop goes on and catches up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import orjson
import structlog

from gateway.errors import StoreUnavailableError
from gateway.upstream.flow.worker_relay import PresenceBus, RelayHost
from gateway.upstream.flow.workers import AccountListener, AnnouncedAccount

log = structlog.get_logger("gateway.workers")
GONE = "no replica's browser worker serves it"


@dataclass(frozen=True, slots=True)
class PresenceTiming:
    """How long presence lives unrenewed, and how often it is renewed and read."""

    ttl: float = 15.0  # a dead replica's accounts are reachable elsewhere at most this long
    check: float = 3.0  # renew ours and read everyone's at least this often (several renewals per TTL)
    backoff: float = 2.0  # after Redis failed to answer


TIMING = PresenceTiming()


class Presence:
    """This replica's hosted accounts, and its view of every other replica's."""

    def __init__(
        self,
        bus: PresenceBus,
        *,
        on_account: AccountListener,
        timing: PresenceTiming = TIMING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bus, self._on_account, self._timing, self._clock = bus, on_account, timing, clock
        self._hosted: dict[str, AnnouncedAccount] = {}
        self._remote: dict[str, tuple[str, AnnouncedAccount]] = {}  # account -> (replica, announcement)
        self._read_at = clock()

    def host_of(self, account_key: str) -> str | None:
        """The replica whose worker serves the account, when another replica's does."""
        entry = self._remote.get(account_key)
        return entry[0] if entry else None

    def project_of(self, account_key: str) -> str | None:
        """The project of an account another replica's worker serves."""
        entry = self._remote.get(account_key)
        return entry[1].project_id if entry else None

    def by_replica(self) -> dict[str, list[str]]:
        """Other replicas and the accounts their workers serve."""
        replicas: dict[str, list[str]] = {}
        for key, (replica, _) in sorted(self._remote.items()):
            replicas.setdefault(replica, []).append(key)
        return replicas

    async def hosted(self, account: AnnouncedAccount, *, reachable: bool) -> None:
        """A local worker serves the account (ready), or stopped: written at once (the loop retries)."""
        if reachable:
            self._hosted[account.key] = account
        else:
            self._hosted.pop(account.key, None)
        try:
            if reachable:
                await self._bus.host({account.key: _encode(account)}, ttl=self._timing.ttl)
            else:
                await self._bus.unhost([account.key])
        except StoreUnavailableError:
            log.warning("worker_presence_not_written", account=account.key)
        remote = self._remote.get(account.key)
        if not reachable and remote is not None:  # another replica's worker serves it too
            await self._on_account(remote[1], reachable=True, reason="")

    async def withdraw(self) -> None:
        """Stop hosting every account (this replica stops): callers elsewhere fail at once."""
        hosted, self._hosted = list(self._hosted), {}
        try:
            await self._bus.unhost(hosted)
        except StoreUnavailableError:
            log.warning("worker_presence_not_withdrawn", accounts=len(hosted))  # it expires by itself

    async def run(self, host: RelayHost, *, on_read: Callable[[], None]) -> None:
        """Renew ours and read everyone's, on every move and every ``check`` seconds, until cancelled;
        ``on_read`` after each read (the relay fails calls whose host is gone)."""
        while True:
            try:
                await self._bus.host({k: _encode(a) for k, a in self._hosted.items()}, ttl=self._timing.ttl)
                await self._read(host, await self._bus.hosts())
                self._read_at = self._clock()
            except StoreUnavailableError:
                log.warning("worker_presence_unreadable", retry_in=self._timing.backoff)
                if self._clock() - self._read_at > self._timing.ttl:
                    await self._read(host, {})  # what we knew has expired by now, wherever it was
                await asyncio.sleep(self._timing.backoff)
                continue
            finally:
                on_read()
            await self._bus.changed(self._timing.check)

    async def _read(self, host: RelayHost, found: Mapping[str, tuple[str, bytes]]) -> None:
        mine = self._bus.replica
        seen = {k: (r, _decode(k, raw)) for k, (r, raw) in found.items() if r != mine}
        for key in self._remote.keys() - seen.keys():
            replica, account = self._remote.pop(key)
            if not host.serves(key):
                await self._on_account(account, reachable=False, reason=GONE)
            log.info("worker_account_left_replica", account=key, replica=replica)
        for key, entry in seen.items():
            known = self._remote.get(key)
            # Known before it is announced: the announcement sets off a read through the relay.
            self._remote[key] = entry
            if (known is None or known[1] != entry[1]) and not host.serves(key):
                try:
                    await self._on_account(entry[1], reachable=True, reason="")
                except StoreUnavailableError:
                    self._forget(key, known)  # so that the next read announces it again
                    raise

    def _forget(self, key: str, known: tuple[str, AnnouncedAccount] | None) -> None:
        if known is None:
            self._remote.pop(key, None)
        else:
            self._remote[key] = known


def _encode(account: AnnouncedAccount) -> bytes:
    return orjson.dumps(account)


def _decode(key: str, raw: bytes) -> AnnouncedAccount:
    """An announcement; a malformed one still names its account (reachable, project unknown)."""
    try:
        fields = orjson.loads(raw)
    except orjson.JSONDecodeError:
        fields = {}
    if not isinstance(fields, dict):
        fields = {}
    groups = fields.get("groups")
    return AnnouncedAccount(
        key,
        str(fields.get("project_id") or ""),
        str(fields.get("tier") or ""),
        tuple(str(g) for g in groups) if isinstance(groups, list) else (),
        str(fields.get("email_hint") or ""),
    )
