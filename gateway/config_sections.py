"""The sections of the settings: one frozen msgspec Struct per TOML table, with its defaults and
the checks a single field can make (``__post_init__``). Loading, the environment and the checks
across sections are in ``gateway.config``."""

from __future__ import annotations

from typing import Literal

import msgspec
import msgspec.inspect

MIB = 1024 * 1024
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/149.0.0.0 Safari/537.36"
)
FLOW_SITE_KEY = "6LdsFiUsAAAAAIjVDZcuLhaHiDn5nnHVXVRQGeMV"


class ConfigError(Exception):
    """The configuration is invalid; the message names the key and what was expected."""


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every settings section: frozen, and unknown keys are errors, not silently ignored."""


class ServerSettings(_Section, frozen=True):
    """The HTTP listener and request limits."""

    host: str = "127.0.0.1"
    port: int = 8000
    base_path: str = "/flow"
    public_url: str = ""
    max_body_bytes: int = 64 * MIB
    shutdown_timeout: float = 30.0
    trust_forwarded: bool = False
    event_loop: Literal["auto", "uvloop", "asyncio"] = "auto"
    # Browser origins allowed to call the API (CORS), e.g. ["https://chat.example.com"]; "*" allows any
    # origin; empty (the default) sends no CORS headers at all.
    cors_origins: tuple[str, ...] = ()


class LoggingSettings(_Section, frozen=True):
    """Structured logging."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "console"] = "json"
    log_prompts: bool = False


class StoreSettings(_Section, frozen=True):
    """Where state lives: ``sqlite`` (default, one machine), ``memory`` (tests, throwaway runs) or
    ``redis`` (several replicas sharing one Redis at ``url``).

    Setting ``url`` (``GATEWAY_STORE_URL``) selects ``redis`` whatever ``backend`` says: a replica
    told where the shared Redis is must never run quietly on a state of its own (the deployment's
    file may keep ``backend = "sqlite"`` for its single-replica variant)."""

    backend: Literal["sqlite", "memory", "redis"] = "sqlite"
    path: str = "data/gateway.sqlite3"
    url: str = ""  # redis://[:password@]host:6379/0, rediss:// (TLS) or unix:///path/redis.sock
    prefix: str = "flow:"  # every key the gateway writes starts with it (several gateways, one Redis)

    def __post_init__(self) -> None:
        # Messages never repeat the URL: it may hold the Redis password.
        if self.url:
            if self.url.partition("://")[0] not in _REDIS_SCHEMES:
                raise ValueError("url must start with redis://, rediss:// or unix://")
            msgspec.structs.force_setattr(self, "backend", "redis")
        elif self.backend == "redis":
            raise ValueError('backend "redis" needs url (GATEWAY_STORE_URL = "redis://host:6379/0")')
        if any(c.isspace() for c in self.prefix):
            raise ValueError("prefix must not contain whitespace")


_REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})


class MediaSettings(_Section, frozen=True):
    """Result storage, signed URLs and the SSRF-safe fetching of client-supplied image URLs."""

    root: str = "data/media"
    signing_key: str = ""
    url_ttl_seconds: int = 24 * 3600
    max_input_bytes: int = 20 * MIB
    max_input_images: int = 16
    fetch_timeout: float = 20.0
    max_redirects: int = 3
    allow_private_urls: bool = False
    # Retention (gateway/service/retention.py); 0 turns a limit off. Never removed: what an unexpired
    # signed URL or an unfinished task points to.
    max_age_hours: float = 7 * 24.0
    max_total_mb: int = 10 * 1024
    sweep_interval: float = 600.0
    # Where results are stored: "disk" (``root``; a shared volume for several replicas) or "s3", an
    # S3-compatible bucket (gateway/media/s3.py). Setting ``s3_bucket`` selects "s3". Credentials
    # come from the standard AWS chain (AWS_* variables, profile, instance role), never from here.
    backend: Literal["disk", "s3"] = "disk"
    s3_bucket: str = ""
    s3_prefix: str = "media/"  # every object key starts with it (several gateways, one bucket)
    s3_endpoint_url: str = ""  # empty: AWS; else MinIO, R2, Ceph... (https://host:port)
    s3_region: str = ""
    s3_addressing_style: Literal["auto", "virtual", "path"] = "auto"

    def __post_init__(self) -> None:
        # Messages never repeat the endpoint URL: a pasted one may carry credentials.
        if self.s3_bucket:
            msgspec.structs.force_setattr(self, "backend", "s3")
        elif self.backend == "s3":
            raise ValueError('backend "s3" needs s3_bucket (GATEWAY_MEDIA_S3_BUCKET = "my-bucket")')
        if self.s3_endpoint_url:
            scheme, _, rest = self.s3_endpoint_url.partition("://")
            if scheme not in ("http", "https") or not rest:
                raise ValueError("s3_endpoint_url must be an http:// or https:// URL")
            if "@" in rest.partition("/")[0]:
                raise ValueError(
                    "s3_endpoint_url must not carry credentials: use AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY in the environment"
                )


class FlowSettings(_Section, frozen=True):
    """The legacy REST upstream (labs.google + aisandbox-pa); base URLs point at the simulator in tests."""

    labs_base_url: str = "https://labs.google"
    api_base_url: str = "https://aisandbox-pa.googleapis.com"
    user_agent: str = DEFAULT_USER_AGENT
    accept_language: str = "en-US,en;q=0.9"
    connect_timeout: float = 10.0
    request_timeout: float = 60.0
    image_timeout: float = 60.0
    upsample_timeout: float = 300.0
    video_submit_timeout: float = 80.0
    token_refresh_margin: float = 600.0
    credits_ttl: float = 300.0
    generation_timeout: float = 300.0
    max_attempts: int = 3


class BatchSettings(_Section, frozen=True):
    """flow.google.com batchexecute codes where sources disagree or could change: data, not code.

    Each choice is explained in ``gateway/upstream/flow/evidence`` (the fixture that records the
    disagreement) and in the README's table:

    - ``image_aspect_codes``: 4 = 3:4 and 5 = 4:3 (four sources to one);
    - ``audio_failure_preference``: the second value of a video submit's trailer, 2 = fail a job whose
      audio is filtered, 1 = return it silenced (every captured video RPC sends 2; gflow's first 1);
    - ``extend_trailer``: 1 in the standalone extend;
    - ``upscale_targets``: ``p0UkFb``'s target enum per resolution; ``upscale_trailer``: what follows
      the uuid in its trailer (nothing, live; fograd's reading of the bundle has 1);
    - ``upload_action``: the reCAPTCHA action minted for an upload (IMAGE_GENERATION or UPLOAD_IMAGE);
    - ``service_tier_slot``: where ``nzlxg`` carries the service tier the catalogue's costs are per;
    - ``video_key_overrides``: replaces any Veo key the gateway would send.
    """

    image_aspect_codes: dict[str, int] = msgspec.field(
        default_factory=lambda: {"1:1": 1, "9:16": 2, "16:9": 3, "3:4": 4, "4:3": 5}
    )
    video_aspect_codes: dict[str, int] = msgspec.field(default_factory=lambda: {"9:16": 1, "16:9": 2})
    audio_failure_preference: int = 2
    extend_trailer: int = 1
    upscale_targets: dict[str, int] = msgspec.field(default_factory=lambda: {"720p": 1, "1080p": 2, "4K": 3})
    upscale_trailer: tuple[int, ...] = ()
    upload_action: Literal["IMAGE_GENERATION", "UPLOAD_IMAGE"] = "IMAGE_GENERATION"
    service_tier_slot: Literal[2, 3] = 3
    tool_code: int = 22
    call_timeout: float = 180.0
    video_key_overrides: dict[str, str] = msgspec.field(default_factory=dict)


class TaskSettings(_Section, frozen=True):
    """Durable tasks (videos, asynchronous images): polling, deadlines, what clients are told.

    Polls are batched: every ``poll_interval`` seconds one status call per account and project asks
    for up to ``poll_batch`` jobs; a failed poll backs off (doubling, up to ``max_poll_backoff``) and
    never fails a job: only Flow or the job's deadline does. ``video_deadline`` bounds a generation
    from its submit
    (``relaxed_deadline`` one in Ultra's slower low-priority queue), and
    ``upscale_deadline`` the upscale after it; ``queue_timeout`` how long a task may wait for a free
    account. ``expected_*_seconds`` only shape the progress estimate (Flow reports no percentage).
    ``write_delay``: image-task transitions after the first are written in batches this many seconds
    late (reads see them at once; a crash in that window re-runs the image; 0 writes each at once).
    ``claim_ttl`` (Redis store): seconds after a replica's last renewal before another takes its
    tasks over (resuming them, never submitting again); renewed every third of it.
    """

    poll_interval: float = 5.0
    poll_batch: int = 20
    max_poll_backoff: float = 60.0
    video_deadline: float = 900.0
    relaxed_deadline: float = 3600.0
    upscale_deadline: float = 1800.0
    queue_timeout: float = 900.0
    poll_after_ms: int = 5000
    expected_video_seconds: float = 120.0
    expected_upscale_seconds: float = 180.0
    link_attempts: int = 6
    link_delay: float = 2.0
    keepalive: float = 10.0
    chat_progress: Literal["reasoning", "content", "off"] = "reasoning"
    write_delay: float = 0.05
    claim_ttl: float = 30.0

    def __post_init__(self) -> None:
        if self.claim_ttl <= 0:
            raise ValueError("claim_ttl must be more than 0 seconds")


class PoolSettings(_Section, frozen=True):
    """Account selection, waiting and the health policy's numbers."""

    wait_timeout: float = 30.0
    max_waiters: int = 1000
    base_cooldown: float = 30.0
    max_cooldown: float = 900.0
    transient_cooldown: float = 5.0
    max_transient_cooldown: float = 300.0
    auth_failures_to_relogin: int = 2
    refusal_ttl: float = 6 * 3600.0
    flagged_pause: float = 1800.0
    sync_interval: float = 2.0


class WorkerSettings(_Section, frozen=True):
    """Browser workers (the Chrome extension, the Playwright worker) serving flow.google.com accounts."""

    secret: str = ""
    default_tier: Literal["free", "pro", "ultra"] = "pro"
    image_concurrency: int = 2
    video_concurrency: int = 2
    heartbeat: float = 20.0
    auto_register: bool = True


class CaptchaSettings(_Section, frozen=True):
    """The reCAPTCHA solver (anti-captcha protocol: YesCaptcha, CapSolver, CapMonster, EzCaptcha).

    With ``prefetch``, tokens are solved ahead as recent demand (over ``prefetch_window`` seconds)
    calls for, at most ``prefetch_max`` ready or being solved per action; a token older than
    ``token_ttl`` is never used, and no more are solved ahead while more than ``prefetch_waste`` of
    them expired unused (``gateway/captcha/prefetch.py``).
    """

    provider: Literal["anticaptcha", "none"] = "anticaptcha"
    base_url: str = "https://api.yescaptcha.com"
    client_key: str = ""
    task_type: str = "RecaptchaV3TaskProxylessM1S9"
    min_score: float | None = None
    website_key: str = FLOW_SITE_KEY
    poll_interval: float = 3.0
    timeout: float = 120.0
    prefetch: bool = True
    prefetch_max: int = 8
    prefetch_window: float = 60.0
    prefetch_waste: float = 0.1
    token_ttl: float = 90.0


class AccountSettings(_Section, frozen=True):
    """One Flow account from the config file."""

    session_token: str
    label: str = ""
    proxy: str = ""
    groups: tuple[str, ...] = ()
    weight: float = 1.0
    image_concurrency: int = 4
    video_concurrency: int = 2
    rpm: int = 0
    daily_images: int = 0
    daily_videos: int = 0
    enabled: bool = True


class ModelsSettings(_Section, frozen=True):
    """Names over the catalogue (``[models]``): ``aliases`` add to (or, mapped to "", remove) the
    catalogue file's ``[aliases]`` (``gpt-image-1 = "nano_banana_pro"``); ``variants``, when set,
    replace its ``[listing] variants``, the ready-made names ``/v1/models`` lists beside the bases."""

    aliases: dict[str, str] = msgspec.field(default_factory=dict)
    variants: tuple[str, ...] | None = None


class MetricsSettings(_Section, frozen=True):
    """Prometheus metrics: ``max_licence_labels`` licences get series of their own (the first seen
    since start); the rest are counted together as ``other``, so the series stay bounded."""

    max_licence_labels: int = 50


class AdminSettings(_Section, frozen=True):
    """The admin API (``/admin/...``): off unless ``key_sha256`` is set (``python -m gateway admin key``).

    ``listen`` (``host:port``): a second listener that alone serves ``/admin`` (404 on the public
    one), so an ingress that exposes the public port never exposes the admin API.
    """

    key_sha256: str = ""
    listen: str = ""


class ConsoleSettings(_Section, frozen=True):
    """The operator console (``/console``), served beside the admin API and only when it is on.

    Signing in exchanges the admin key for a session cookie. ``secure_cookie = "auto"`` marks the
    cookie ``Secure`` when the request came over TLS, or said ``X-Forwarded-Proto: https`` through a
    proxy trusted by ``[server] trust_forwarded``; ``"always"`` marks it so whatever the request said
    (a proxy that terminates TLS but sends no such header). After ``free_attempts`` wrong admin keys
    in a row from one address (console or bearer), each further one locks that address out for 1,
    2, 4 … seconds, up to ``max_lockout``.
    """

    enabled: bool = True
    session_ttl: float = 12 * 3600.0  # seconds a sign-in lasts (from signing in, not from last use)
    max_sessions: int = 100  # signed-in browsers at once; past it the oldest is signed out
    secure_cookie: Literal["auto", "always"] = "auto"
    free_attempts: int = 5
    max_lockout: float = 900.0


class WebhookSettings(_Section, frozen=True):
    """Signed webhooks (``gateway/service/webhooks.py``). ``secret`` (``whsec_…``) signs the
    deliveries of licences without a secret of their own; empty: one made once, kept in the store
    (``python -m gateway webhooks secret`` shows it). ``allow_private_urls`` unset: as ``[media]``'s."""

    secret: str = ""
    timeout: float = 10.0  # seconds a receiver has to answer one attempt
    concurrency: int = 16  # attempts under way at once
    allow_private_urls: bool | None = None


class LicensingSettings(_Section, frozen=True):
    """Licences kept in the store (``[licensing]``; ``[licences]`` cannot be a table, as
    ``[[licences]]`` is the config file's list of licences)."""

    sync_interval: float = 2.0  # seconds between checks for licence changes made by the CLI
    rotation_grace: float = 3600.0  # seconds a rotated key keeps working, unless the rotation says
    # Redis store: seconds a synchronous request's reservation outlives its replica's last renewal
    # (a replica that dies mid-request gives back what it held after this long).
    hold_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.hold_seconds <= 0:
            raise ValueError("hold_seconds must be more than 0")


class LicenceSettings(_Section, frozen=True):
    """One client licence; only the SHA-256 of the key is stored (``python -m gateway licence new``).

    The other fields are a licence's limits, as the admin API takes them; the licence book checks
    them at start (a config licence is written to the store at every start: the file wins).
    """

    id: str
    key_sha256: str
    name: str = ""
    owner: str = ""
    notes: str = ""
    expires_at: float = 0.0
    models: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    default_group: str = ""
    rpm: int = 0
    max_concurrency: int = 0
    daily_images: int = 0
    daily_videos: int = 0
    daily_credits: int = 0
    monthly_credits: int = 0
    progress: str = ""
    webhook_url: str = ""
    webhook_secret: str = ""
    priority: int = 0
    enabled: bool = True
