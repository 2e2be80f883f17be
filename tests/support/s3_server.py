"""A local S3 for the tests: moto's server (a faithful fake of S3's HTTP API, served over real HTTP
by ``ThreadedMotoServer``) on a free loopback port, one per test session; each test makes a bucket
of its own. Skipped, saying why, when ``moto[server]`` or aiobotocore is not installed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.config_sections import MediaSettings

REGION = "us-east-1"
# moto accepts any credentials; the gateway takes them from the environment (the AWS chain).
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass(frozen=True)
class S3Server:
    """A running server: where it listens."""

    endpoint: str

    def settings(self, bucket: str, *, prefix: str = "media/") -> MediaSettings:
        return MediaSettings(
            backend="s3",
            s3_bucket=bucket,
            s3_prefix=prefix,
            s3_endpoint_url=self.endpoint,
            s3_region=REGION,
            s3_addressing_style="path",
        )

    def environment(self, bucket: str, *, prefix: str = "media/") -> dict[str, str]:
        """The ``GATEWAY_MEDIA_*`` variables putting a gateway's media in ``bucket``."""
        return {
            "GATEWAY_MEDIA_S3_BUCKET": bucket,
            "GATEWAY_MEDIA_S3_PREFIX": prefix,
            "GATEWAY_MEDIA_S3_ENDPOINT_URL": self.endpoint,
            "GATEWAY_MEDIA_S3_REGION": REGION,
            "GATEWAY_MEDIA_S3_ADDRESSING_STYLE": "path",
        }


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One moto S3 server for the session (tests keep apart by bucket); stopped at the end."""
    try:
        import aiobotocore  # noqa: F401
        from moto.server import ThreadedMotoServer
    except ImportError:
        pytest.skip("the S3 tests need aiobotocore and moto[server] (pip install -e '.[dev]')")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(f"http://{host}:{port}")
    finally:
        server.stop()


def unique_bucket() -> str:
    return f"test-{uuid.uuid4().hex[:16]}"


@asynccontextmanager
async def s3_client(server: S3Server, *, max_attempts: int = 2) -> AsyncIterator[Any]:
    """A client with the test credentials given to the session (nothing read from the environment)."""
    from aiobotocore.session import get_session

    from gateway.media.s3_client import open_s3_client

    session = get_session()
    session.set_credentials(CREDENTIALS["AWS_ACCESS_KEY_ID"], CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    async with open_s3_client(
        server.settings("unused"), session=session, max_attempts=max_attempts
    ) as client:
        yield client


async def make_bucket(server: S3Server) -> str:
    """A new empty bucket's name."""
    name = unique_bucket()
    async with s3_client(server) as client:
        await client.create_bucket(Bucket=name)
    return name
