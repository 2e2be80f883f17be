"""Signed, expiring URLs for stored results (HMAC-SHA256 over id and expiry).

The signer remembers, until they expire, which ids it signed URLs for, so the retention sweep never
removes a file a URL handed out by this process may still open; the ones not yet written to the
store are taken by ``service/signed_urls.py`` (about every second), so that every replica's sweep,
and this one's after a restart, spares them too. Media made in the last
``FRESH_SECONDS`` (nearly every URL: a result signed as it is delivered) is not remembered: the
sweep spares everything younger than the URL lifetime plus that margin anyway, and remembering
each would hold a day of ids (at 1,000 images a second, 86 million) in memory.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable

FRESH_SECONDS = 600.0
MIN_PRUNE = 1024  # forget expired signatures once this many are remembered (then at twice the live ones)


class UrlSigner:
    """Signs and verifies ``(media id, expiry)`` pairs."""

    def __init__(self, key: bytes, *, ttl: int, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._ttl = ttl
        self._clock = clock
        self._issued: dict[str, int] = {}  # media id -> the latest expiry signed for it
        self._unwritten: dict[str, int] = {}  # the same, signed since the writer last took them
        self._prune_at = MIN_PRUNE

    @property
    def ttl(self) -> int:
        """How long a signed URL opens, in seconds."""
        return self._ttl

    def sign(self, media_id: str, *, made_at: float | None = None) -> tuple[int, str]:
        """(expiry in unix seconds, URL-safe signature); ``made_at``: when the media was stored."""
        now = self._clock()
        expires = int(now) + self._ttl
        if made_at is not None and now - made_at < FRESH_SECONDS:
            return expires, self._mac(media_id, expires)  # the sweep's minimum age covers it
        self._issued[media_id] = max(expires, self._issued.get(media_id, 0))  # the wall clock can step back
        self._unwritten[media_id] = self._issued[media_id]
        if len(self._issued) >= self._prune_at:  # amortised: the record stays bounded without a sweep
            self.unexpired()
            self._prune_at = max(MIN_PRUNE, 2 * len(self._issued))
        return expires, self._mac(media_id, expires)

    def unexpired(self) -> frozenset[str]:
        """Ids with a URL signed here that still opens; the expired ones are forgotten."""
        now = self._clock()
        self._issued = {media_id: e for media_id, e in self._issued.items() if e >= now}
        self._unwritten = {media_id: e for media_id, e in self._unwritten.items() if e >= now}  # no writer
        return frozenset(self._issued)

    def take_unwritten(self) -> dict[str, int]:
        """The (id, expiry) pairs signed since the last call, for the store; they are the taker's now."""
        taken, self._unwritten = self._unwritten, {}
        return taken

    def verify(self, media_id: str, expires: str, signature: str) -> bool:
        """True for an unexpired signature made with our key."""
        try:
            when = int(expires)
        except ValueError:
            return False
        if when < self._clock() or len(signature) > 128:
            return False
        return hmac.compare_digest(self._mac(media_id, when), signature)

    def _mac(self, media_id: str, expires: int) -> str:
        digest = hmac.new(self._key, f"{media_id}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
