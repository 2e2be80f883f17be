"""Which media store ``[media] backend`` names, opened and closed as a pair.

The S3 store's modules (and aiobotocore under them) are imported only when the backend is ``s3``:
a gateway on local disk neither loads them nor needs them installed (the ``s3`` extra).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from gateway.config import ConfigError, MediaSettings
from gateway.media.storage import DiskMediaStore, MediaStore


@asynccontextmanager
async def open_media_store(settings: MediaSettings) -> AsyncIterator[MediaStore]:
    """The store the settings name: the disk at ``root``, or the S3 bucket."""
    if settings.backend != "s3":
        yield DiskMediaStore(Path(settings.root))
        return
    try:
        from gateway.media.s3 import open_s3_media  # noqa: PLC0415 (not loaded for the disk store)
    except ImportError:
        raise ConfigError(
            "[media] backend \"s3\" needs aiobotocore: pip install 'flow-gateway[s3]'"
        ) from None
    async with open_s3_media(settings) as store:
        yield store
