"""Image generation: lease an account, upload inputs, generate, upscale, store, with bounded retries.

The service decides the order of operations and, through ``retry.decide``, what each failure means.
It never touches HTTP or Flow's JSON (that is ``upstream``), never picks accounts itself (that is
the pool) and never renders responses (that is ``api``). A lease serves as many of the ``n`` images
as its account's transport asks for in one call (a browser worker's account all of them, as rows of
one ``ogiZ0b``: one token, one held request); the rest go to further leases in parallel, each with
its own retry budget. Partial success (a failed lease, or Flow answering 3 of 4) returns what came.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import structlog

from gateway.config import FlowSettings
from gateway.domain import (
    AccountKind,
    Capability,
    GeneratedImage,
    GenerationSpec,
    ImageResolution,
    Kind,
    MediaRecord,
    UpstreamMedia,
)
from gateway.errors import (
    BadGatewayError,
    ClientClosedError,
    GatewayError,
    GatewayTimeoutError,
    InternalError,
)
from gateway.media.checks import MediaCheckError, verify_image_bytes
from gateway.media.storage import MediaStore, StoredMedia
from gateway.obs.metrics import GatewayMetrics
from gateway.pool.account import Account
from gateway.pool.policy import Outcome
from gateway.pool.pool import AccountPool, Lease, LeaseRequest
from gateway.service import refusals
from gateway.service.entitlement import credentials_of, ensure_entitled
from gateway.service.inputs import ResolvedImage
from gateway.service.needs import image_code, image_needs
from gateway.service.refusals import INCIDENT
from gateway.service.retry import decide
from gateway.store.base import Store
from gateway.upstream.flow.errors import (
    UpstreamError,
    UpstreamNotFoundError,
    UpstreamProtocolError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from gateway.upstream.flow.transport import FlowCredentials, FlowTransport, ImageGenerationRequest

log = structlog.get_logger("gateway.service.generation")
UPLOAD_CACHE_SIZE = 4096
DOWNLOAD_ATTEMPTS, DOWNLOAD_BACKOFF = 3, 0.5
SEED_RANGE = 999_995  # Flow's seeds are below 1,000,000 (the page's own); a batch uses seed + index
# Where the refused reCAPTCHA token came from: the solver service (REST) or the account's browser.
CAPTCHA_SOURCE = {AccountKind.REST: "solver", AccountKind.WORKER: "worker"}


@dataclass(frozen=True, slots=True)
class ImageJob:
    """What the client asked for, resolved: the spec, the prompt, input images and who owns the results."""

    spec: GenerationSpec
    prompt: str
    owner: str
    inputs: tuple[ResolvedImage, ...] = ()
    groups: frozenset[str] = frozenset()
    departed: asyncio.Event | None = field(default=None, compare=False)  # set once the client left
    priority: int = 0  # the licence's, for waiting on a busy pool

    def check_present(self) -> None:
        """Raise before anything is dispatched for a client that left: nothing is spent for nobody."""
        if self.departed is not None and self.departed.is_set():
            raise ClientClosedError("the client closed the request before it was sent to Flow")


@dataclass(frozen=True, slots=True)
class ImageResult:
    """One stored result and its bytes (for b64 responses), the account that made it and how long
    its request waited for that account (usage records)."""

    media: StoredMedia
    data: bytes
    account_id: str = ""
    queue_wait: float = 0.0


class ImageService:
    """Generates images over the pool and the transports."""

    def __init__(  # noqa: PLR0913 - the composition root passes each collaborator by name
        self,
        *,
        pool: AccountPool,
        transports: Mapping[AccountKind, FlowTransport],
        media: MediaStore,
        store: Store,
        settings: FlowSettings,
        metrics: GatewayMetrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool = pool
        self._transports = transports
        self._media = media
        self._store = store
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._uploads: OrderedDict[tuple[str, str], UpstreamMedia] = OrderedDict()

    async def generate(self, job: ImageJob, *, n: int) -> list[ImageResult]:
        """``n`` images; raises the most telling error only when none succeeded."""
        if job.spec.kind is not Kind.IMAGE:
            raise InternalError("image service given a non-image spec")
        started = time.monotonic()
        siblings: list[asyncio.Task[list[ImageResult]]] = []
        try:
            async with asyncio.timeout(self._settings.generation_timeout):
                first = await asyncio.gather(self._group(job, n, siblings), return_exceptions=True)
                outcomes = [*first, *await asyncio.gather(*siblings, return_exceptions=True)]
        except TimeoutError:
            raise GatewayTimeoutError("image generation did not finish in time") from None
        finally:
            for sibling in siblings:
                sibling.cancel()  # a client that left, or the timeout: no sibling runs on for nobody
        results = [r for outcome in outcomes if isinstance(outcome, list) for r in outcome]
        if self._metrics is not None:
            self._metrics.observe_generation("image", time.monotonic() - started)
        if results:
            return results
        for failure in outcomes:
            if isinstance(failure, GatewayError):
                raise failure
        for failure in outcomes:
            if isinstance(failure, BaseException):
                raise failure
        raise InternalError("no image and no error")

    async def _group(
        self, job: ImageJob, wanted: int, siblings: list[asyncio.Task[list[ImageResult]]]
    ) -> list[ImageResult]:
        """``wanted`` images from one lease at a time; what the leased account's transport cannot ask
        for in one call is split off (once, at the first lease) to sibling groups of one image each."""
        exclude: set[str] = set()
        last: UpstreamError | None = None
        for attempt in range(1, self._settings.max_attempts + 1):
            request = LeaseRequest(
                Capability.IMAGE,
                job.spec.tier,
                job.groups,
                frozenset(exclude),
                credits=job.spec.credits,
                feature=job.spec.feature,
                needs=image_needs(job.spec),
                priority=job.priority,
            )
            leased = False
            try:
                job.check_present()
                asked = time.monotonic()
                async with refusals.lease(self._pool, request) as lease:
                    leased = True
                    waited = time.monotonic() - asked
                    job.check_present()
                    count = min(wanted, self._transports[lease.account.kind].max_images)
                    if count < wanted:
                        siblings.extend(
                            asyncio.ensure_future(self._group(job, 1, siblings))
                            for _ in range(wanted - count)
                        )
                        wanted = count
                    try:
                        results = await self._attempt(lease, job, attempt=attempt, count=count)
                    except UpstreamError as exc:
                        last = exc
                        retry = self._after_failure(lease, exc, exclude, attempt=attempt)
                        if not retry or (job.departed is not None and job.departed.is_set()):
                            raise decide(exc).to_client(exc) from None  # no retry for a departed client
                        continue
                    lease.report(Outcome.SUCCESS, credits=job.spec.credits * len(results))
                    self._pool.table.spend(lease.account.id, job.spec.credits * len(results))
                    return [replace(r, queue_wait=waited) for r in results]
            except GatewayError as exc:
                # The pool found no account after an upstream failure: the failure explains it best,
                # unless the pool saw an incident (most accounts failing): that says more.
                if leased or last is None or exc.code == INCIDENT:
                    raise
                raise decide(last).to_client(last) from None
        assert last is not None
        raise decide(last).to_client(last)

    def _after_failure(self, lease: Lease, exc: UpstreamError, exclude: set[str], *, attempt: int) -> bool:
        """Report the outcome; True when another attempt should follow."""
        decision = decide(exc)
        lease.report(decision.outcome, retry_after=exc.retry_after, error=type(exc).__name__)
        if decision.outcome is Outcome.CAPTCHA and self._metrics is not None:
            self._metrics.captcha_refusals.labels(CAPTCHA_SOURCE[lease.account.kind]).inc()
        log.warning(
            "upstream_attempt_failed",
            account=lease.account.id,
            endpoint=exc.endpoint,
            error=type(exc).__name__,
            reason=exc.reason,
            attempt=attempt,
            retry=decision.retry,
        )
        if decision.elsewhere:
            exclude.add(lease.account.id)
        return decision.retry

    async def _attempt(self, lease: Lease, job: ImageJob, *, attempt: int, count: int) -> list[ImageResult]:
        account = lease.account
        transport = self._transports[account.kind]
        creds = credentials_of(account)
        await ensure_entitled(
            self._pool, account, transport, job.spec, ttl=self._settings.credits_ttl, now=self._clock()
        )
        inputs = tuple([await self._upload(account, creds, transport, item) for item in job.inputs])
        request = ImageGenerationRequest(
            image_code(job.spec, account.models, known=account.offers is not None),
            job.prompt,
            job.spec.aspect,
            secrets.randbelow(SEED_RANGE) + 1,
            inputs,
            count,
        )
        log.info("image_generate", account=account.id, model=job.spec.name, attempt=attempt, count=count)
        try:
            generated = (await transport.generate_images(creds, request))[:count]
        except UpstreamNotFoundError:
            if not inputs:
                raise
            # An input Flow held (an earlier result, a cached upload) is gone: upload our own copy.
            fresh = tuple([await self._send(account, creds, transport, item) for item in job.inputs])
            generated = (await transport.generate_images(creds, replace(request, inputs=fresh)))[:count]
        if len(generated) < count:
            log.warning("image_batch_short", account=account.id, asked=count, got=len(generated))
        return [await self._finish(transport, creds, job, account.id, image) for image in generated]

    async def _finish(
        self,
        transport: FlowTransport,
        creds: FlowCredentials,
        job: ImageJob,
        account_id: str,
        image: GeneratedImage,
    ) -> ImageResult:
        """Upscale when asked, else take the bytes (inline, or from the signed URL); keep them once
        they are checked to be an image that decodes (never an error page stored as a JPEG)."""
        if job.spec.resolution is not ImageResolution.R1K or image.data is not None:
            if job.spec.resolution is not ImageResolution.R1K:
                data = await transport.upscale_image(creds, image.media, job.spec.resolution)
            else:
                data = image.data or b""
            try:
                mime = await verify_image_bytes(data)
            except MediaCheckError as exc:
                raise BadGatewayError("Flow's answer held no usable image", code="bad_result") from exc
        else:
            data, mime = await self._download(transport, image.url or "")
        return await self._keep(data, mime, job.owner, account_id, image.media)

    async def _download(self, transport: FlowTransport, url: str) -> tuple[bytes, str]:
        """The result's bytes and type; a failed download (or bytes that are not an image: a CDN's
        error page) is tried again as a download (the image exists and is paid for), never turned
        into a new generation elsewhere."""
        for attempt in range(DOWNLOAD_ATTEMPTS):
            try:
                data = await transport.download(url)
                return data, await verify_image_bytes(data)
            except (
                UpstreamUnavailableError,
                UpstreamTimeoutError,
                UpstreamProtocolError,
                MediaCheckError,
            ) as exc:
                if attempt == DOWNLOAD_ATTEMPTS - 1:
                    raise BadGatewayError(
                        "Flow made the image but it could not be downloaded", code="download_failed"
                    ) from exc
                log.info("image_download_retry", error=type(exc).__name__, attempt=attempt)
                await asyncio.sleep(DOWNLOAD_BACKOFF * 2**attempt)
        raise InternalError("unreachable")

    async def _upload(
        self, account: Account, creds: FlowCredentials, transport: FlowTransport, item: ResolvedImage
    ) -> UpstreamMedia:
        """Upload an input once per account; our own results already held by this account are reused."""
        if (
            item.record is not None
            and item.record.account_id == account.id
            and item.record.upstream is not None
        ):
            return item.record.upstream
        cached = self._uploads.get(_upload_key(account.id, item))
        if cached is not None:
            self._uploads.move_to_end(_upload_key(account.id, item))
            return cached
        return await self._send(account, creds, transport, item)

    async def _send(
        self, account: Account, creds: FlowCredentials, transport: FlowTransport, item: ResolvedImage
    ) -> UpstreamMedia:
        """Upload an input (again): what Flow held of it may be gone with a project it forgot."""
        media = await transport.upload_image(creds, item.image)
        self._uploads[_upload_key(account.id, item)] = media
        if len(self._uploads) > UPLOAD_CACHE_SIZE:
            self._uploads.popitem(last=False)
        return media

    async def _keep(
        self, data: bytes, mime: str, owner: str, account_id: str, upstream: UpstreamMedia
    ) -> ImageResult:
        stored = await self._media.put(data, mime=mime, prefix="img")
        await self._store.put_media(
            MediaRecord(stored.id, owner, stored.mime, stored.size, stored.created_at, account_id, upstream)
        )
        return ImageResult(stored, data, account_id)


def _upload_key(account_id: str, item: ResolvedImage) -> tuple[str, str]:
    return account_id, hashlib.sha256(item.image.data).hexdigest()
