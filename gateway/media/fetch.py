"""Fetching client-supplied image URLs without becoming an SSRF proxy.

Only http(s), no userinfo; every hop's host is resolved by a resolver that refuses loopback,
private, link-local (cloud metadata), CGNAT, multicast, reserved and unspecified addresses (also
IPv4-mapped), and the connection goes to exactly the addresses it approved, so DNS rebinding
between check and connect is impossible. Redirects are followed by hand and re-checked; size is
capped before and while reading; the whole fetch has one deadline.

Not covered: an allowed public host that proxies to an internal one (nothing client-side can see
that), and timing side channels. What the URL returns must decode as an image Flow takes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

from gateway.domain import ImageData
from gateway.errors import InvalidRequestError, PayloadTooLargeError
from gateway.media.images import verify_input_image

AddressPolicy = Callable[[ipaddress.IPv4Address | ipaddress.IPv6Address], bool]
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
READ_CHUNK = 64 * 1024


class RefusedAddressError(OSError):
    """The host resolves to an address the policy refuses (an ``OSError``, as aiohttp's connector expects)."""


def public_only(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for globally routable unicast addresses."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return False
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def allow_all(_: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """The policy when the operator allows private addresses."""
    return True


class CheckedResolver(AbstractResolver):
    """Resolves with the default resolver, then keeps only addresses the policy allows."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._inner = aiohttp.DefaultResolver()
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve and filter; refuse when any address is disallowed."""
        results = await self._inner.resolve(host, port, family)
        for item in results:
            if not self._policy(ipaddress.ip_address(item["host"])):
                raise RefusedAddressError(f"{host} resolves to a refused address")
        return results

    async def close(self) -> None:
        """Close the inner resolver."""
        await self._inner.close()


def create_fetch_session(
    *, allow_private: bool, policy: AddressPolicy | None = None
) -> aiohttp.ClientSession:
    """The session for client-supplied URLs: checked resolver, no cookies, no environment proxies."""
    chosen = policy or (allow_all if allow_private else public_only)
    connector = aiohttp.TCPConnector(
        resolver=CheckedResolver(chosen), limit=64, ttl_dns_cache=None, use_dns_cache=False
    )
    return aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False, raise_for_status=False
    )


class RemoteImageFetcher:
    """Fetches one image URL under the limits."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        max_bytes: int,
        timeout: float,
        max_redirects: int,
        allow_private: bool,
    ) -> None:
        self._session = session
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._max_redirects = max_redirects
        self._policy = allow_all if allow_private else public_only

    async def fetch(self, url: str, *, param: str) -> ImageData:
        """The image at ``url``; ``InvalidRequestError``/``PayloadTooLargeError`` naming ``param``."""
        try:
            async with asyncio.timeout(self._timeout):
                data = await self._follow(yarl.URL(url), param)
        except TimeoutError:
            raise _bad(param, f"fetching the image URL timed out after {self._timeout:g}s") from None
        return await verify_input_image(data, param=param)  # a 200 error page is no image either

    async def _follow(self, url: yarl.URL, param: str) -> bytes:
        for _ in range(self._max_redirects + 1):
            self._check_url(url, param)
            try:
                async with self._session.get(
                    url, allow_redirects=False, headers={"Accept": "image/*"}
                ) as resp:
                    if resp.status in (301, 302, 303, 307, 308) and "Location" in resp.headers:
                        url = url.join(yarl.URL(resp.headers["Location"]))
                        continue
                    if resp.status != 200:
                        raise _bad(param, f"could not fetch the image URL: HTTP {resp.status}")
                    return await self._read(resp, param)
            except aiohttp.ClientConnectorError as exc:
                raise _bad(param, _connect_message(exc)) from None
            except aiohttp.ClientError:
                raise _bad(param, "could not fetch the image URL") from None
        raise _bad(param, f"too many redirects (more than {self._max_redirects})")

    def _check_url(self, url: yarl.URL, param: str) -> None:
        if url.scheme not in ("http", "https") or not url.host:
            raise _bad(param, "image URLs must be http(s) URLs")
        if url.user or url.password:
            raise _bad(param, "image URLs must not carry credentials")
        try:
            literal = ipaddress.ip_address(url.host.strip("[]"))
        except ValueError:
            return
        if not self._policy(literal):
            raise _bad(param, "the image URL points to a private or local address; refused")

    async def _read(self, resp: aiohttp.ClientResponse, param: str) -> bytes:
        if (resp.content_length or 0) > self._max_bytes:
            raise PayloadTooLargeError(
                f"the image at the URL is larger than {self._max_bytes} bytes", param=param
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(READ_CHUNK):
            size += len(chunk)
            if size > self._max_bytes:
                raise PayloadTooLargeError(
                    f"the image at the URL is larger than {self._max_bytes} bytes", param=param
                )
            chunks.append(chunk)
        return b"".join(chunks)


def _connect_message(exc: aiohttp.ClientConnectorError) -> str:
    if isinstance(exc.os_error, RefusedAddressError):
        return "the image URL resolves to a private or local address; refused"
    return "could not connect to the image URL's host"


def _bad(param: str, message: str) -> InvalidRequestError:
    return InvalidRequestError(message, param=param, code="invalid_image_url")
