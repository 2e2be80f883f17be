"""Where a webhook may point: the SSRF rules of client image URLs (``gateway.media.fetch``), applied
when a request or a licence names a URL and again at every delivery.

A webhook turns the gateway into a client of a URL someone else chose, so it must never reach what
only the gateway can reach (loopback, private networks, cloud metadata) unless the operator allows
private addresses. At request time the host is resolved once (a typo or an internal name is a 400
the client sees, not eight silent failures over three hours); at delivery the session's checked
resolver connects only to addresses it approved, so DNS changed in between (rebinding) gains
nothing. An IP literal is checked here, because aiohttp does not resolve literals.
"""

from __future__ import annotations

import asyncio
import ipaddress

import yarl

from gateway.errors import InvalidRequestError
from gateway.media.fetch import AddressPolicy, CheckedResolver, RefusedAddressError

PARAM = "webhook_url"
CODE = "invalid_webhook_url"
MAX_URL_CHARS = 2048
RESOLVE_TIMEOUT = 5.0  # seconds for the request-time lookup; a slower DNS is the client's 400


def _bad(message: str) -> InvalidRequestError:
    return InvalidRequestError(message, param=PARAM, code=CODE)


class WebhookUrlGuard:
    """Checks webhook URLs against the address policy."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._resolver = CheckedResolver(policy)

    @property
    def policy(self) -> AddressPolicy:
        """The address policy (the delivery session's resolver applies the same)."""
        return self._policy

    def check_form(self, url: str) -> str:
        """The URL if its form is acceptable (http(s), a host, no credentials, not a refused IP
        literal); a 400 naming ``webhook_url`` otherwise. No I/O."""
        if len(url) > MAX_URL_CHARS:
            raise _bad(f"webhook_url is longer than {MAX_URL_CHARS} characters")
        try:
            parsed = yarl.URL(url)
        except ValueError:
            raise _bad("webhook_url is not a valid URL") from None
        if parsed.scheme not in ("http", "https") or not parsed.host or not parsed.is_absolute():
            raise _bad("webhook_url must be an absolute http(s) URL")
        if parsed.user or parsed.password:
            raise _bad("webhook_url must not carry credentials")
        try:
            literal = ipaddress.ip_address(parsed.host.strip("[]"))
        except ValueError:
            return url
        if not self._policy(literal):
            raise _bad("webhook_url points to a private or local address; refused")
        return url

    async def check(self, url: str) -> str:
        """:meth:`check_form`, then the host resolved once: every address must be allowed."""
        self.check_form(url)
        host = yarl.URL(url).host or ""
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT):
                await self._resolver.resolve(host, 0)
        except RefusedAddressError:
            raise _bad("webhook_url resolves to a private or local address; refused") from None
        except (OSError, TimeoutError):
            raise _bad(f"webhook_url's host {host!r} could not be resolved") from None
        return url

    async def close(self) -> None:
        """Release the resolver."""
        await self._resolver.close()
