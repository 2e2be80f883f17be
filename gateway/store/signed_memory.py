"""Signed URLs' expiries in memory (``MemoryStore``'s facet)."""

from __future__ import annotations

from collections.abc import Mapping


class MemorySignedUrls:
    """Dict-backed ``SignedUrlStore``."""

    def __init__(self) -> None:
        super().__init__()  # cooperative: MemoryStore mixes several facets
        self._signed: dict[str, int] = {}  # media id -> the latest expiry recorded for it

    async def put_signed_urls(self, expiries: Mapping[str, int]) -> None:
        """Record expiries, keeping an id's later one."""
        for media_id, expires in expiries.items():
            self._signed[media_id] = max(expires, self._signed.get(media_id, expires))

    async def signed_media(self, now: float) -> frozenset[str]:
        """Ids whose URL still opens at ``now``; the expired are forgotten."""
        self._signed = {media_id: e for media_id, e in self._signed.items() if e >= now}
        return frozenset(self._signed)
