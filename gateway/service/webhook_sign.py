"""Signing webhooks the Standard Webhooks way (https://www.standardwebhooks.com), and their secrets.

Each POST carries ``webhook-id`` (the delivery's id: receivers drop duplicates by it),
``webhook-timestamp`` (Unix seconds of this attempt: receivers refuse old ones, so a captured
request cannot be replayed later) and ``webhook-signature: v1,<base64 HMAC-SHA256>`` over
``"{id}.{timestamp}.{body}"``. Secrets look like ``whsec_<base64>`` and the HMAC key is the decoded
bytes, so the Standard Webhooks libraries (Python, JS, Go, ...) verify our requests unchanged.
Pure functions: no I/O, and never a secret in a return value other than the one it was given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret
SECRET_BYTES = 24  # Standard Webhooks suggests 24 to 64 random bytes
SIGNATURE_VERSION = "v1"


def new_webhook_secret() -> str:
    """A fresh secret: ``whsec_`` and the base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signing_key(secret: str) -> bytes:
    """The HMAC key of a secret: the decoded bytes of a ``whsec_`` secret; any other string (an
    operator's ``[webhooks] secret`` in another form) is used as its UTF-8 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode()
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("a whsec_ webhook secret must be base64 after its prefix") from None


def signature(key: bytes, *, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``"{id}.{timestamp}.{body}"``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signed_headers(key: bytes, *, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one attempt (its own timestamp, so a retry is signed anew)."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(key, message_id=message_id, timestamp=timestamp, body=body),
    }
