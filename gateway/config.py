"""Settings: a TOML file plus ``GATEWAY_*`` environment overrides, validated once at start.

This is the only module that reads the environment. ``load_settings`` returns frozen settings or
raises :class:`ConfigError` whose message names the offending key (``server.port``,
``accounts[1].session_token``, ``GATEWAY_PORT``). Every setting can be overridden from the
environment as ``GATEWAY_<SECTION>_<FIELD>`` (``GATEWAY_FLOW_API_BASE_URL``); the server section's
fields also go without the section (``GATEWAY_PORT``, ``GATEWAY_HOST``).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

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
    # One serving gateway per Redis and prefix (a lease; see store/redis_replica.py) until pool
    # leases and task ownership are shared too. Off only to test what is shared already.
    exclusive: bool = True

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


class Settings(_Section, frozen=True):
    """All settings, as validated at start."""

    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    logging: LoggingSettings = msgspec.field(default_factory=LoggingSettings)
    store: StoreSettings = msgspec.field(default_factory=StoreSettings)
    media: MediaSettings = msgspec.field(default_factory=MediaSettings)
    flow: FlowSettings = msgspec.field(default_factory=FlowSettings)
    captcha: CaptchaSettings = msgspec.field(default_factory=CaptchaSettings)
    batch: BatchSettings = msgspec.field(default_factory=BatchSettings)
    workers: WorkerSettings = msgspec.field(default_factory=WorkerSettings)
    pool: PoolSettings = msgspec.field(default_factory=PoolSettings)
    admin: AdminSettings = msgspec.field(default_factory=AdminSettings)
    console: ConsoleSettings = msgspec.field(default_factory=ConsoleSettings)
    licensing: LicensingSettings = msgspec.field(default_factory=LicensingSettings)
    tasks: TaskSettings = msgspec.field(default_factory=TaskSettings)
    metrics: MetricsSettings = msgspec.field(default_factory=MetricsSettings)
    models: ModelsSettings = msgspec.field(default_factory=ModelsSettings)
    webhooks: WebhookSettings = msgspec.field(default_factory=WebhookSettings)
    catalog_path: str = "config/models.toml"
    accounts: tuple[AccountSettings, ...] = ()
    licences: tuple[LicenceSettings, ...] = ()


_SECTIONS: dict[str, type[_Section]] = {
    "server": ServerSettings,
    "logging": LoggingSettings,
    "store": StoreSettings,
    "media": MediaSettings,
    "flow": FlowSettings,
    "captcha": CaptchaSettings,
    "batch": BatchSettings,
    "workers": WorkerSettings,
    "pool": PoolSettings,
    "admin": AdminSettings,
    "console": ConsoleSettings,
    "licensing": LicensingSettings,
    "tasks": TaskSettings,
    "metrics": MetricsSettings,
    "models": ModelsSettings,
    "webhooks": WebhookSettings,
}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_WHSEC = re.compile(r"^whsec_(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")


def default_config_path() -> str:
    """``GATEWAY_CONFIG`` if set, else ``config/gateway.toml``."""
    return os.environ.get("GATEWAY_CONFIG", "config/gateway.toml")


def load_settings(path: str | Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (if given), apply ``GATEWAY_*`` overrides from ``environ``, validate."""
    raw: dict[str, Any] = {}
    if path is not None:
        raw = _read_toml(Path(path))
    _apply_environment(raw, os.environ if environ is None else environ)
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"invalid configuration: {_humanise(str(exc))}") from None
    _check(settings)
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None


def environment_names() -> dict[str, tuple[str, str]]:
    """Every accepted ``GATEWAY_*`` variable name, mapped to its (section, field)."""
    names: dict[str, tuple[str, str]] = {}
    for section, cls in _SECTIONS.items():
        for name in cls.__struct_fields__:
            names[f"GATEWAY_{section}_{name}".upper()] = (section, name)
            if section == "server":
                names[f"GATEWAY_{name}".upper()] = (section, name)
    names["GATEWAY_CATALOG_PATH"] = ("", "catalog_path")
    return names


def _apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    known = environment_names()
    for key, value in environ.items():
        if not key.startswith("GATEWAY_") or key == "GATEWAY_CONFIG":
            continue
        if key not in known:
            raise ConfigError(
                f"unknown environment variable {key}; valid names: see config/gateway.example.toml"
            )
        section, name = known[key]
        target = raw if not section else raw.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(f"[{section}] must be a table")
        target[name] = _env_value(value, shape=_shape_of(section, name))


_LISTS = (msgspec.inspect.VarTupleType, msgspec.inspect.ListType, msgspec.inspect.TupleType)


def _shape_of(section: str, name: str) -> str:
    """``list`` or ``table`` for a field holding one (a variable gives it as JSON, a list also as
    comma-separated values), else ``scalar`` (taken as written: ``[::1]:9100`` is an address)."""
    cls = _SECTIONS.get(section)
    if cls is None:
        return "scalar"
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)  # every section is a Struct
    kind = next((f.type for f in info.fields if f.name == name), None)
    if isinstance(kind, _LISTS):
        return "list"
    return "table" if isinstance(kind, msgspec.inspect.DictType) else "scalar"


def _env_value(value: str, *, shape: str = "scalar") -> Any:
    """Environment strings: booleans as true/false; a list or table field as JSON (``["a", "b"]``,
    ``{...}``), a list also as ``a,b``; everything else converted by msgspec (strict=False)."""
    stripped = value.strip()
    lowered = stripped.lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    if shape != "scalar" and stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped)
        except ValueError:
            raise ConfigError(f"not valid JSON: {stripped[:80]}") from None
    if shape == "list":
        return [part.strip() for part in stripped.split(",") if part.strip()]
    return value


def _humanise(message: str) -> str:
    """msgspec says ``... - at `$.server.port```; say ``server.port`` instead."""
    match = re.search(r"- at `\$\.?(.*)`$", message)
    if not match:
        return message
    where = match.group(1) or "(top level)"
    return f"{where}: {message[: match.start()].strip()}"


def account_limit_problems(account: AccountSettings, where: str) -> list[str]:
    """What is wrong with an account's numbers (shared by the config check and nothing else)."""
    problems = []
    if not account.weight > 0:
        problems.append(f"{where}.weight: must be greater than 0")
    for name in ("image_concurrency", "video_concurrency"):
        if not 0 <= getattr(account, name) <= 1000:
            problems.append(f"{where}.{name}: must be from 0 to 1000")
    for name in ("rpm", "daily_images", "daily_videos"):
        if getattr(account, name) < 0:
            problems.append(f"{where}.{name}: must be 0 (no limit) or more")
    return problems


def parse_listen(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9100`` for IPv6) as a pair; ValueError when it is not one."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(value)
    return host, int(port)


def _listen_problems(settings: Settings) -> list[str]:
    if not settings.admin.listen:
        return []
    try:
        _, port = parse_listen(settings.admin.listen)
    except ValueError:
        return ["admin.listen: must be host:port, such as 127.0.0.1:9100 (or empty)"]
    if port == settings.server.port:
        return ["admin.listen: must use another port than server.port"]
    return []


def _console_problems(console: ConsoleSettings) -> list[str]:
    problems = []
    if not console.session_ttl > 0 or not console.max_lockout > 0:
        problems.append("console.session_ttl, console.max_lockout: must be greater than 0")
    if console.max_sessions < 1 or console.free_attempts < 1:
        problems.append("console.max_sessions, console.free_attempts: must be at least 1")
    return problems


def _webhook_problems(webhooks: WebhookSettings) -> list[str]:
    problems = []
    if webhooks.secret.startswith("whsec_") and not _WHSEC.match(webhooks.secret):
        problems.append("webhooks.secret: a whsec_ secret is base64 after its prefix")
    if webhooks.timeout <= 0 or webhooks.concurrency < 1:
        problems.append("webhooks.timeout, webhooks.concurrency: must be greater than 0")
    return problems


def _check(settings: Settings) -> None:
    """Cross-field rules msgspec's types cannot express."""
    problems: list[str] = []
    if not 0 < settings.server.port < 65536:
        problems.append("server.port: must be between 1 and 65535")
    if settings.server.base_path and not re.fullmatch(r"(/[A-Za-z0-9_.-]+)+", settings.server.base_path):
        problems.append("server.base_path: must look like /flow (or be empty)")
    if settings.flow.max_attempts < 1:
        problems.append("flow.max_attempts: must be at least 1")
    if settings.metrics.max_licence_labels < 0:
        problems.append("metrics.max_licence_labels: must be 0 (every licence is 'other') or more")
    if settings.admin.key_sha256 and not _HEX64.match(settings.admin.key_sha256):
        problems.append("admin.key_sha256: must be 64 lowercase hex characters")
    problems.extend(_listen_problems(settings))
    problems.extend(_console_problems(settings.console))
    problems.extend(_webhook_problems(settings.webhooks))
    for i, licence in enumerate(settings.licences):
        if not _HEX64.match(licence.key_sha256):
            problems.append(f"licences[{i}].key_sha256: must be 64 lowercase hex characters")
    seen: set[str] = set()
    for i, account in enumerate(settings.accounts):
        if not account.session_token.strip():
            problems.append(f"accounts[{i}].session_token: must not be empty")
        problems.extend(account_limit_problems(account, f"accounts[{i}]"))
        label = account.label or f"#{i}"
        if label in seen:
            problems.append(f"accounts[{i}].label: duplicate label {label!r}")
        seen.add(label)
    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems))
