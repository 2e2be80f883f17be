"""The scheduled refresh: due accounts only, answers update the pool, failures go through the retry table."""

from __future__ import annotations

from gateway.domain import (
    AccountKind,
    Capability,
    GeneratedImage,
    ImageData,
    ImageResolution,
    Secret,
    Tier,
    UpstreamMedia,
)
from gateway.pool.account import Account
from gateway.pool.policy import AccountState, Health
from gateway.pool.pool import AccountPool
from gateway.service.account_refresh import AccountRefresher
from gateway.upstream.flow.errors import UpstreamAuthError
from gateway.upstream.flow.transport import AccountInfo, FlowCredentials, ImageGenerationRequest


class StubTransport:
    name = "stub"

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def account_info(self, creds: FlowCredentials) -> AccountInfo:
        self.asked.append(creds.account_id)
        if creds.account_id == "dead":
            raise UpstreamAuthError("no token", endpoint="auth.session")
        return AccountInfo(500, Tier.ULTRA, f"{creds.account_id}@x")

    async def upload_image(self, creds: FlowCredentials, image: ImageData) -> UpstreamMedia:
        raise NotImplementedError

    async def generate_images(
        self, creds: FlowCredentials, request: ImageGenerationRequest
    ) -> list[GeneratedImage]:
        raise NotImplementedError

    async def upscale_image(
        self, creds: FlowCredentials, media: UpstreamMedia, resolution: ImageResolution
    ) -> bytes:
        raise NotImplementedError

    async def download(self, url: str) -> bytes:
        raise NotImplementedError


def account(name: str, **fields: object) -> Account:
    return Account(
        id=name,
        label=name,
        session_token=Secret(name),
        limits={Capability.IMAGE: 1, Capability.VIDEO: 1},
        **fields,
    )  # type: ignore[arg-type]


async def test_refreshes_only_due_rest_accounts_and_applies_answers() -> None:
    now = [1000.0]
    broke = account("broke", credits=0, health=Health(AccountState.OUT_OF_CREDITS, "credits exhausted"))
    fresh = account("fresh", tier=Tier.PRO, info_at=990.0)
    worker = account("worker", kind=AccountKind.WORKER)
    disabled = account("off", health=Health(AccountState.DISABLED, "5 failures"))
    dead = account("dead")
    pool = AccountPool([broke, fresh, worker, disabled, dead], clock=lambda: now[0])
    stub = StubTransport()
    refresher = AccountRefresher(pool, {AccountKind.REST: stub}, ttl=300, clock=lambda: now[0])
    assert sorted(a.id for a in refresher.due()) == ["broke", "dead"]
    assert await refresher.refresh_due() == 1
    assert sorted(stub.asked) == ["broke", "dead"]
    views = {v.id: v for v in pool.table.snapshot()}
    assert (views["broke"].state, views["broke"].tier, views["broke"].credits) == ("active", "ultra", 500)
    await refresher.refresh_due()
    assert {v.id: v.state for v in pool.table.snapshot()}["dead"] == "needs_relogin"  # two auth failures
    now[0] += 301
    assert sorted(a.id for a in refresher.due()) == ["broke", "fresh"]


class BuggyTransport(StubTransport):
    async def account_info(self, creds: FlowCredentials) -> AccountInfo:
        if creds.account_id == "odd":
            self.asked.append(creds.account_id)
            raise ValueError("Newline or carriage return detected in headers")  # a bug, not Flow
        return await super().account_info(creds)


async def test_one_account_s_unexpected_error_does_not_end_the_round_or_the_loop() -> None:
    odd, fine = account("odd"), account("fine")
    pool = AccountPool([odd, fine])
    transport = BuggyTransport()
    refresher = AccountRefresher(pool, {AccountKind.REST: transport}, ttl=300)
    assert await refresher.refresh_due() == 1  # the other account was still refreshed
    views = {v.id: v for v in pool.table.snapshot()}
    assert views["fine"].credits == 500 and views["odd"].credits is None
    assert await refresher.refresh_due() == 0  # the next round runs and asks again (no crash)
    assert transport.asked.count("odd") == 2
