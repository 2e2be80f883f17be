"""The S3 client the S3 media store talks through: opened from ``[media]`` settings, and the one place
that turns what S3 (or the way to it) answers into the gateway's errors.

Credentials are botocore's standard chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``AWS_PROFILE``, web identity, the instance or task role): never a settings value, never logged.
Errors are classified by their type and the structured code and status S3 sends, never by message
text; what is logged names the action, the error class and S3's code, nothing a client sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import structlog
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import BotoCoreError, ClientError

from gateway.config import MediaSettings
from gateway.errors import MediaUnavailableError

log = structlog.get_logger("gateway.media.s3")
RETRY_AFTER = 2.0  # what a 503 tells the client: S3 hiccups (SlowDown, a restart) are short
# Fail fast when S3 is away: a refused connection is answered at once, an unanswered one within
# CONNECT_TIMEOUT; botocore's "standard" retries (with backoff) absorb one transient error.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
MAX_ATTEMPTS = 2  # in all, the first included
# S3 answers a missing key with 404 and one of these codes (HEAD has no body, so its code is "404");
# NoSuchBucket is a 404 too, but a misconfiguration, not a missing blob.
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
# Every way a call to S3 can fail that is not the gateway's bug.
FAILURES = (ClientError, BotoCoreError, aiohttp.ClientError, TimeoutError)
S3Client = Any  # aiobotocore's client is generated at run time from botocore's JSON models: no type


def client_config(settings: MediaSettings, *, max_attempts: int = MAX_ATTEMPTS) -> AioConfig:
    """Timeouts, retries and addressing for ``settings``."""
    return AioConfig(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"total_max_attempts": max_attempts, "mode": "standard"},
        s3={"addressing_style": settings.s3_addressing_style},
        # botocore >= 1.36 adds CRC checksums to every upload by default, which several
        # S3-compatible servers (older MinIO, Ceph, some gateways) refuse: only where S3 requires one.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


@asynccontextmanager
async def open_s3_client(
    settings: MediaSettings, *, session: AioSession | None = None, max_attempts: int = MAX_ATTEMPTS
) -> AsyncIterator[S3Client]:
    """An S3 client for the settings' endpoint and region, closed on exit."""
    session = session or get_session()
    async with session.create_client(
        "s3",
        region_name=settings.s3_region or None,
        endpoint_url=settings.s3_endpoint_url or None,
        config=client_config(settings, max_attempts=max_attempts),
    ) as client:
        yield client


def is_missing(exc: ClientError) -> bool:
    """True when S3 answered that the key does not exist."""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 404 and error_code(exc) in MISSING_CODES


def error_code(exc: ClientError) -> str:
    """S3's error code (``NoSuchKey``, ``SlowDown``, ``AccessDenied``...), from the parsed reply."""
    return str(exc.response.get("Error", {}).get("Code", ""))


@asynccontextmanager
async def translated(action: str) -> AsyncIterator[None]:
    """Turn S3 refusing or unreachable into :class:`MediaUnavailableError` (503, Retry-After).

    A refusal (403, 5xx, a missing bucket) is the operator's to fix or S3's to recover from; either
    way the client may retry later and nothing was stored (an object appears whole or not at all).
    """
    try:
        yield
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        log.warning("media_s3_refused", action=action, code=error_code(exc), status=status)
        raise MediaUnavailableError(
            "the media storage refused the request; try again shortly", retry_after=RETRY_AFTER
        ) from None
    except (BotoCoreError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("media_s3_unreachable", action=action, error=type(exc).__name__)
        raise MediaUnavailableError(
            "the media storage does not answer; try again shortly", retry_after=RETRY_AFTER
        ) from None
