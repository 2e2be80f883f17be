"""Signed, expiring URLs for stored results (HMAC-SHA256 over id and expiry)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable


def signing_key_from(configured: str) -> bytes:
    """The configured key, or a random one (signed URLs then do not survive a restart)."""
    return configured.encode() if configured else secrets.token_bytes(32)


class UrlSigner:
    """Signs and verifies ``(media id, expiry)`` pairs."""

    def __init__(self, key: bytes, *, ttl: int, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._ttl = ttl
        self._clock = clock

    def sign(self, media_id: str) -> tuple[int, str]:
        """(expiry in unix seconds, URL-safe signature)."""
        expires = int(self._clock()) + self._ttl
        return expires, self._mac(media_id, expires)

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
