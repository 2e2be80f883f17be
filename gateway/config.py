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
from typing import Any

import msgspec
import msgspec.inspect

from gateway.config_sections import (
    DEFAULT_USER_AGENT,
    FLOW_SITE_KEY,
    MIB,
    AccountSettings,
    AdminSettings,
    BatchSettings,
    CaptchaSettings,
    ConfigError,
    ConsoleSettings,
    FlowSettings,
    LicenceSettings,
    LicensingSettings,
    LoggingSettings,
    MediaSettings,
    MetricsSettings,
    ModelsSettings,
    PoolSettings,
    ServerSettings,
    StoreSettings,
    TaskSettings,
    WebhookSettings,
    WorkerSettings,
    _Section,
)

__all__ = [
    "DEFAULT_USER_AGENT",
    "FLOW_SITE_KEY",
    "MIB",
    "AccountSettings",
    "AdminSettings",
    "BatchSettings",
    "CaptchaSettings",
    "ConfigError",
    "ConsoleSettings",
    "FlowSettings",
    "LicenceSettings",
    "LicensingSettings",
    "LoggingSettings",
    "MediaSettings",
    "MetricsSettings",
    "ModelsSettings",
    "PoolSettings",
    "ServerSettings",
    "Settings",
    "StoreSettings",
    "TaskSettings",
    "WebhookSettings",
    "WorkerSettings",
    "account_limit_problems",
    "default_config_path",
    "environment_names",
    "load_settings",
    "parse_listen",
]


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
