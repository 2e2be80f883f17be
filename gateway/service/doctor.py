"""``doctor``: read-only probes of every flow.google.com account through its browser worker.

For each connected worker account: the tab (``probe``), credits and tier (``nzlxg``), the model
catalogue (``HTrJv``), and a media read (``as29s`` of the newest video the gateway saw finish on
that account since it started; else of an id no account has, which Flow must answer NOT_FOUND).
Nothing is generated, no token is minted, no credit spent. The report says what each account can
do (which public models its catalogue serves) and what looks different from the evidence (replies
the drift canary did not recognise during the probes, reads that failed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gateway.catalog import Catalog
from gateway.domain import AccountKind, Kind, UpstreamMedia, VideoMode
from gateway.pool.account import Account
from gateway.pool.pool import AccountPool
from gateway.service.entitlement import apply_info, credentials_of
from gateway.service.needs import image_needs, video_needs
from gateway.upstream.flow import errors as up
from gateway.upstream.flow.batch_transport import BatchTransport
from gateway.upstream.flow.canary import ShapeCanary
from gateway.upstream.flow.workers import WorkerHub

UNKNOWN_MEDIA = "00000000-0000-4000-8000-000000000000"


@dataclass(slots=True)
class AccountCheck:
    """What the probes found for one account."""

    account: str
    label: str
    ok: bool = True
    tab: dict[str, object] = field(default_factory=dict)
    tier: str | None = None
    tier_read: bool = False
    credits: int | None = None
    models: list[str] = field(default_factory=list)
    serves: list[str] = field(default_factory=list)
    media: str = "no video of this account to read"
    problems: list[str] = field(default_factory=list)
    drift: dict[str, int] = field(default_factory=dict)


class Doctor:
    """Runs the probes."""

    def __init__(
        self,
        *,
        pool: AccountPool,
        hub: WorkerHub,
        batch: BatchTransport,
        catalog: Catalog,
        canary: ShapeCanary,
    ) -> None:
        self._pool, self._hub, self._batch = pool, hub, batch
        self._catalog, self._canary = catalog, canary

    async def run(self) -> list[AccountCheck]:
        """One check per worker account whose worker is connected."""
        connected = {key for worker in self._hub.connected() for key in _keys(worker)}
        accounts = [
            a for a in self._pool.table.accounts if a.kind is AccountKind.WORKER and a.worker_key in connected
        ]
        return [await self._check(account) for account in accounts]

    async def _check(self, account: Account) -> AccountCheck:
        check = AccountCheck(account.id, account.label)
        before = {rpc: d.count for rpc, d in self._canary.drifts.items()}
        try:
            check.tab = await self._hub.probe(account.worker_key)
        except up.UpstreamError as exc:
            check.problems.append(f"probe: {type(exc).__name__}")
        creds = credentials_of(account)
        try:
            info = await self._batch.account_info(creds)
        except up.UpstreamError as exc:
            check.problems.append(f"account: {type(exc).__name__} {exc.reason}")
        else:
            apply_info(self._pool, account.id, info)
            check.tier, check.tier_read, check.credits = info.tier.label, info.tier_read, info.credits
            check.models, check.problems = list(info.models), [*check.problems, *info.problems]
            check.serves = self._servable(account)
        check.media = await self._media(account)
        after = {rpc: d.count for rpc, d in self._canary.drifts.items()}
        check.drift = {rpc: n - before.get(rpc, 0) for rpc, n in after.items() if n > before.get(rpc, 0)}
        check.ok = not check.problems and not check.drift
        return check

    def _servable(self, account: Account) -> list[str]:
        """The public models (default parameters, and every speed of a video model) it serves."""
        names: set[str] = set()
        for info in self._catalog.models():
            speeds = next((f.values for f in info.parameters if f.name == "speed"), ())
            for name in (info.id, *(f"{info.id}-{speed}" for speed in speeds)):
                spec = self._catalog.resolve(name)
                needs = image_needs(spec) if info.kind is Kind.IMAGE else video_needs(spec, VideoMode.TEXT)
                if account.serves(needs):
                    names.add(spec.name)
        return sorted(names)

    async def _media(self, account: Account) -> str:
        recent = self._batch.recent_video(account.worker_key)
        project = self._hub.project_of(account.worker_key) or ""
        media = recent or UpstreamMedia(UNKNOWN_MEDIA, project)
        started = time.monotonic()
        try:
            links = await self._batch.video_links(credentials_of(account), media)
        except up.UpstreamError as exc:
            return f"read failed: {type(exc).__name__}"
        took = f"{1000 * (time.monotonic() - started):.0f} ms"
        if recent is None:
            return f"an unknown id answered {'a record' if links else 'NOT_FOUND, as expected'} in {took}"
        return f"{'a signed URL' if links else 'no URL (expired or not published)'} in {took}"


def _keys(worker: dict[str, object]) -> list[str]:
    """The account keys a connected worker serves (``WorkerHub.connected``)."""
    accounts = worker.get("accounts")
    return [str(key) for key in accounts] if isinstance(accounts, list) else []
