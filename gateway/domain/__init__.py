"""Value types shared by the layers: what a generation asks for and what it yields.

Frozen dataclasses and StrEnums only; no I/O, no HTTP, no Flow wire shapes (those live in
``gateway.upstream.flow``). Secrets are wrapped in :class:`Secret` so that a stray ``repr`` or log
line can never show them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

# Licences, usage, audit and webhook deliveries live in their own module; re-exported here so that
# every layer keeps importing value types from ``gateway.domain``.
from gateway.domain.licences import AuditEntry as AuditEntry
from gateway.domain.licences import DeliveryStatus as DeliveryStatus
from gateway.domain.licences import LicenceDefinition as LicenceDefinition
from gateway.domain.licences import ProgressMode as ProgressMode
from gateway.domain.licences import UsageOutcome as UsageOutcome
from gateway.domain.licences import UsageRecord as UsageRecord
from gateway.domain.licences import WebhookDelivery as WebhookDelivery


class Kind(enum.StrEnum):
    """What a model produces."""

    IMAGE = "image"
    VIDEO = "video"


class Tier(enum.StrEnum):
    """Flow paygate tiers, valued as Flow names them (``userPaygateTier``)."""

    FREE = "PAYGATE_TIER_NOT_PAID"
    PRO = "PAYGATE_TIER_ONE"
    ULTRA = "PAYGATE_TIER_TWO"

    @property
    def rank(self) -> int:
        """0 for free, 1 for Pro, 2 for Ultra: an account serves a spec when its rank is >= the spec's."""
        return _TIER_RANK[self]

    @property
    def label(self) -> str:
        """The short human name (free, pro, ultra)."""
        return _TIER_LABEL[self]


_TIER_RANK = {Tier.FREE: 0, Tier.PRO: 1, Tier.ULTRA: 2}
_TIER_LABEL = {Tier.FREE: "free", Tier.PRO: "pro", Tier.ULTRA: "ultra"}


class Aspect(enum.StrEnum):
    """Aspect ratio of a generated image or video."""

    PORTRAIT = "9:16"
    LANDSCAPE = "16:9"
    SQUARE = "1:1"
    LANDSCAPE_4_3 = "4:3"
    PORTRAIT_3_4 = "3:4"

    @property
    def ratio(self) -> float:
        """Width divided by height."""
        width, height = self.value.split(":")
        return int(width) / int(height)


class ImageResolution(enum.StrEnum):
    """Output resolution of an image; 2K and 4K are an upsample after generation."""

    R1K = "1K"
    R2K = "2K"
    R4K = "4K"


class VideoSpeed(enum.StrEnum):
    """Veo queue/quality variant."""

    QUALITY = "quality"
    FAST = "fast"
    RELAXED = "relaxed"
    LITE = "lite"


class VideoResolution(enum.StrEnum):
    """Output resolution of a video; 1080p and 4K are an upscale after generation."""

    SD = "720p"
    HD = "1080p"
    UHD = "4K"


class ResponseFormat(enum.StrEnum):
    """How generated images are returned to the client."""

    B64_JSON = "b64_json"
    URL = "url"


class AccountKind(enum.StrEnum):
    """How the gateway reaches Flow for an account."""

    REST = "rest"
    WORKER = "worker"


class Capability(enum.StrEnum):
    """What a lease is for; limits are counted per capability."""

    IMAGE = "image"
    VIDEO = "video"


class Secret:
    """A credential that never shows itself in ``repr``, ``str`` or logs; ``reveal()`` to use it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value, for the one place that sends it upstream."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class VideoOptions:
    """The video-only part of a generation spec."""

    speed: VideoSpeed = VideoSpeed.QUALITY
    frames: bool = False
    seconds: int = 8
    resolution: VideoResolution = VideoResolution.SD
    extend: bool = False
    edit: bool = False


@dataclass(frozen=True, slots=True)
class GenerationSpec:
    """A fully resolved model request: which upstream model, at which aspect and size, for which tier.

    ``upstream_model`` is Flow's model code (images) or model family (videos, e.g. ``veo_3_1_fast``);
    ``upstream_models`` every code that may serve it, in order of preference.

    ``feature`` names what an account must be entitled to (the model and its tier-relevant options,
    without aspect or duration), e.g. ``veo_3_1-relaxed-4K``: the pool learns per feature which
    accounts Flow refuses.
    """

    model: str
    kind: Kind
    upstream_model: str
    aspect: Aspect
    tier: Tier
    credits: int
    name: str
    groups: tuple[str, ...] = ()
    resolution: ImageResolution = ImageResolution.R1K
    video: VideoOptions | None = None
    feature: str = ""
    upstream_models: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImageData:
    """Raw image bytes with their sniffed MIME type."""

    data: bytes
    mime: str

    def __repr__(self) -> str:
        return f"ImageData(mime={self.mime!r}, size={len(self.data)})"


@dataclass(frozen=True, slots=True)
class UpstreamMedia:
    """A media item Flow holds for one account (uploads and generations are per account/project).

    ``workflow`` is the generation (workflow) id flow.google.com gives a generated video beside its
    media id (a record's ``[2]``): an upscale names its source by it, and mixing the two ids up is
    accepted and then fails as NOT_FOUND (flow-evidence.md correction 4). Empty where unknown (REST).
    """

    name: str
    project_id: str
    workflow: str = ""


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    """One image Flow produced; ``url`` is the upstream (expiring) URL, ``data`` the bytes if inline."""

    media: UpstreamMedia
    url: str | None = None
    data: bytes | None = field(default=None, repr=False)


class CaptchaAction(enum.StrEnum):
    """reCAPTCHA Enterprise actions Flow checks tokens against."""

    IMAGE_GENERATION = "IMAGE_GENERATION"
    VIDEO_GENERATION = "VIDEO_GENERATION"


@dataclass(frozen=True, slots=True)
class CaptchaToken:
    """A single-use reCAPTCHA token, and the user agent the upstream call must then present."""

    token: Secret
    user_agent: str | None = None


class CaptchaFailedError(Exception):
    """No token could be had (solver error, timeout); shared by ``captcha`` and ``upstream``."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class MediaRecord:
    """A result the gateway stored: who owns it, and where upstream holds it (for re-use as an input)."""

    id: str
    owner: str
    mime: str
    size: int
    created_at: float
    account_id: str = ""
    upstream: UpstreamMedia | None = None


@dataclass(frozen=True, slots=True)
class AccountDefinition:
    """An account as an operator declared it (config file, admin API, CLI, or a worker's hello).

    ``secret`` is the labs session token of a REST account (empty for worker accounts, which are
    reached through ``worker_key``). Zero limits mean "no limit" for ``rpm`` and the daily caps.
    ``tier`` is a declared tier name (``free``/``pro``/``ultra``) for accounts Flow cannot be asked
    about (workers); empty means "learned from Flow".
    """

    id: str
    kind: AccountKind
    label: str
    secret: Secret = field(default_factory=lambda: Secret(""), repr=False)
    worker_key: str = ""
    groups: tuple[str, ...] = ()
    weight: float = 1.0
    proxy: str = ""
    image_concurrency: int = 4
    video_concurrency: int = 2
    rpm: int = 0
    daily_images: int = 0
    daily_videos: int = 0
    tier: str = ""
    enabled: bool = True
    source: str = "admin"
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """What the store keeps of an account's runtime state, so a restart forgets no cooldown or verdict.

    The ``*_today`` counters belong to the UTC ``day``; ``refused`` holds the features Flow refused
    this account, each with the time until which the refusal is believed.
    """

    account_id: str
    state: str
    reason: str = ""
    since: float = 0.0
    cooldown_until: float = 0.0
    rate_limit_streak: int = 0
    auth_failures: int = 0
    consecutive_failures: int = 0
    tier: str | None = None
    credits: int | None = None
    email: str = ""
    info_at: float = 0.0
    day: str = ""
    images_today: int = 0
    videos_today: int = 0
    failures_today: int = 0
    credits_today: int = 0
    images_total: int = 0
    videos_total: int = 0
    failures_total: int = 0
    captcha_refusals: int = 0
    last_error: str = ""
    last_error_at: float = 0.0
    refused: tuple[tuple[str, float], ...] = ()


class TaskStatus(enum.StrEnum):
    """Where a durable task stands, as the OpenAI ``Video`` object names it."""

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        """True once the task will not change any more."""
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED)


class TaskStage(enum.StrEnum):
    """The step a task is at; ``submitting`` marks the window in which a restart cannot tell whether
    Flow received the submit (such a task is failed, never sent twice)."""

    QUEUED = "queued"
    SUBMITTING = "submitting"
    GENERATING = "generating"
    UPSCALING = "upscaling"
    DOWNLOADING = "downloading"
    DONE = "done"


class VideoMode(enum.StrEnum):
    """What a video is generated from."""

    TEXT = "text"
    START = "start"
    START_END = "start_end"
    REFERENCES = "references"
    EXTEND = "extend"
    EDIT = "edit"


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """A durable task (a video, or an asynchronous image order) as the store keeps it.

    ``order`` is the resolved request needed to (re)run it: the canonical model name and the
    request fields, as plain JSON-able values. ``job`` is the upstream job being waited for (the
    generation, then its upscale); ``source_job`` the finished generation an upscale or an extend
    starts from. ``inputs`` are media ids of the input images kept by the gateway; ``results`` the
    media ids of what it produced (a video, or images).
    """

    id: str
    owner: str
    kind: Kind
    model: str
    prompt: str
    status: TaskStatus
    stage: TaskStage
    created_at: float
    updated_at: float
    progress: int = 0
    order: dict[str, str | int | bool | None] = field(default_factory=dict)
    account_id: str = ""
    job: UpstreamMedia | None = None
    source_job: UpstreamMedia | None = None
    inputs: tuple[str, ...] = ()
    results: tuple[str, ...] = ()
    poster: str = ""
    error_code: str = ""
    error_message: str = ""
    submitted_at: float = 0.0
    completed_at: float = 0.0
    remixed_from: str = ""
    attempts: int = 0
