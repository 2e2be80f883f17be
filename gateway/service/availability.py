"""Which public models the pool can serve right now (``GET /v1/models``).

A model is servable when some account that takes leases (active, or cooling down) has its tier (or
a tier not yet known) and, when its Flow catalogue is known, offers one of its variants (an image
model's codes; a video model's text-to-video task at one of its speeds). The answer is cached for a
second: listing models must not cost a scan of the pool per request.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gateway.catalog import Catalog, ModelInfo
from gateway.domain import Kind, VideoMode
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
        self._cached: tuple[float, frozenset[str]] = (-TTL, frozenset())

    def servable(self) -> frozenset[str]:
        """Ids of the models some serving account could serve now."""
        now = self._clock()
        if now - self._cached[0] >= TTL:
            self._cached = (now, self._compute())
        return self._cached[1]

    def _compute(self) -> frozenset[str]:
        found: set[str] = set()
        accounts = [a for a in self._pool.accounts if a.health.state in SERVING]
        for info in self._catalog.models():
            for account in accounts:
                if account.tier is not None and account.tier.rank < info.tier.rank:
                    continue
                if any(account.serves(needs) for needs in self._variants[info.id]):
                    found.add(info.id)
                    break
        return frozenset(found)

    def _needs_of(self, info: ModelInfo) -> list[Needs]:
        if info.kind is Kind.IMAGE:
            return [image_needs(self._catalog.resolve(info.id))]
        speeds = next((f.values for f in info.parameters if f.name == "speed"), ())
        names = (info.id, *(f"{info.id}-{speed}" for speed in speeds))
        return [video_needs(self._catalog.resolve(name), VideoMode.TEXT) for name in names]
