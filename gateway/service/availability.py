"""Which public models, and which of the catalogue's listed variants, the pool can serve right now
(``GET /v1/models``).

A model is servable when some account that takes leases (active, or cooling down) has its tier (or
a tier not yet known) and, when its Flow catalogue is known, offers one of its variants (an image
model's codes; a video model's text-to-video task at one of its speeds); a listed variant (say
``veo_3_1-landscape-fast-hd``) when some such account has its tier and offers exactly it. The answer
is cached for a second: listing models must not cost a scan of the pool per request.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gateway.catalog import Catalog, ModelInfo
from gateway.domain import GenerationSpec, Kind, Tier, VideoMode
from gateway.pool.account import Account
from gateway.pool.policy import SERVING
from gateway.pool.pool import AccountPool
from gateway.service.needs import Needs, image_needs, video_needs

TTL = 1.0


class ModelAvailability:
    """The servable subset of the catalogue."""

    def __init__(
        self, catalog: Catalog, pool: AccountPool, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._catalog, self._pool, self._clock = catalog, pool, clock
        self._variants = {m.id: self._needs_of(m) for m in catalog.models()}
        self._listed = {spec.name: (spec.tier, needs_of(spec)) for spec in catalog.variants()}
        self._cached: tuple[float, frozenset[str]] = (-TTL, frozenset())

    def servable(self) -> frozenset[str]:
        """Ids of the models some serving account could serve now."""
        now = self._clock()
        if now - self._cached[0] >= TTL:
            self._cached = (now, self._compute())
        return self._cached[1]

    def serves(self, spec: GenerationSpec) -> bool:
        """True when some serving account could serve ``spec`` now (for a name not listed; uncached)."""
        return _any_serves(self._serving(), spec.tier, [needs_of(spec)])

    def _serving(self) -> list[Account]:
        return [a for a in self._pool.table.accounts if a.health.state in SERVING]

    def _compute(self) -> frozenset[str]:
        accounts = self._serving()
        found = {m.id for m in self._catalog.models() if _any_serves(accounts, m.tier, self._variants[m.id])}
        found.update(
            name for name, (tier, needs) in self._listed.items() if _any_serves(accounts, tier, [needs])
        )
        return frozenset(found)

    def _needs_of(self, info: ModelInfo) -> list[Needs]:
        if info.kind is Kind.IMAGE:
            return [image_needs(self._catalog.resolve(info.id))]
        speeds = next((f.values for f in info.parameters if f.name == "speed"), ())
        names = (info.id, *(f"{info.id}-{speed}" for speed in speeds))
        return [video_needs(self._catalog.resolve(name), VideoMode.TEXT) for name in names]


def needs_of(spec: GenerationSpec) -> Needs:
    """What an account must offer to serve ``spec`` (a video: its text-to-video task)."""
    return image_needs(spec) if spec.kind is Kind.IMAGE else video_needs(spec, VideoMode.TEXT)


def _any_serves(accounts: list[Account], tier: Tier, alternatives: list[Needs]) -> bool:
    """Some account has ``tier`` (or a tier not yet known) and offers one of ``alternatives``."""
    return any(
        (account.tier is None or account.tier.rank >= tier.rank)
        and any(account.serves(needs) for needs in alternatives)
        for account in accounts
    )
