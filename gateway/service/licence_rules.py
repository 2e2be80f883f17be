"""What a licence's fields may hold: the one set of rules for the admin API, the CLI and the config file.

:class:`LicenceInput` is what a caller asks (``None``: leave the field as it is); :func:`merged`
applies it to a definition and checks every field, raising ``InvalidRequestError`` naming the
offending one. Types are checked by the callers' parsers (``admin/licence_schemas.py``); the rules
here are those that hold whatever the path: ranges, patterns, a default group among the groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace

import yarl

from gateway.config import LicenceSettings
from gateway.domain import LicenceDefinition, ProgressMode
from gateway.errors import InvalidRequestError

MAX_NAME = 100
MAX_OWNER = 200
MAX_NOTES = 2000
MAX_PATTERNS = 100
MAX_URL = 2048
MAX_LIMIT = 1_000_000_000  # far above any real limit; keeps numbers sane for SQLite and JSON
MAX_EXPIRY = 32_503_680_000.0  # year 3000: a larger "unix time" is a mistake (milliseconds?)
PRIORITY_RANGE = (-10, 10)
# fnmatch patterns over public model names and their variants (``veo_3_1*``, ``nano_banana_pro-4K*``):
# the characters of model names (letters, digits, ``_ - . / :``) and fnmatch's ``* ? [ ] !``.
MODEL_PATTERN = r"^[A-Za-z0-9_.:/*?\[\]!-]{1,200}$"  # published as the models' JSON Schema pattern
_PATTERN = re.compile(MODEL_PATTERN)
_GROUP = re.compile(r"^[a-z0-9_-]{1,32}$")
LIMITS = (
    "rpm",
    "max_concurrency",
    "daily_images",
    "daily_videos",
    "daily_credits",
    "monthly_credits",
)
_TEXTS = {"name": MAX_NAME, "owner": MAX_OWNER, "notes": MAX_NOTES}


@dataclass(frozen=True, slots=True)
class LicenceInput:
    """What a caller asks of a licence; ``None`` leaves a field as it is (or at its default)."""

    name: str | None = None
    owner: str | None = None
    notes: str | None = None
    expires_at: float | None = None
    models: tuple[str, ...] | None = None
    groups: tuple[str, ...] | None = None
    default_group: str | None = None
    rpm: int | None = None
    max_concurrency: int | None = None
    daily_images: int | None = None
    daily_videos: int | None = None
    daily_credits: int | None = None
    monthly_credits: int | None = None
    progress: str | None = None
    webhook_url: str | None = None
    priority: int | None = None
    enabled: bool | None = None


EDITABLE = tuple(f.name for f in fields(LicenceInput))


def input_from_settings(entry: LicenceSettings) -> LicenceInput:
    """A config file ``[[licences]]`` entry as an input (every field: the file wins)."""
    return LicenceInput(**{name: getattr(entry, name) for name in EDITABLE})


def merged(current: LicenceDefinition, wanted: LicenceInput) -> LicenceDefinition:
    """``current`` with every field ``wanted`` sets, normalised and checked."""
    changes: dict[str, object] = {}
    for name in EDITABLE:
        value = getattr(wanted, name)
        if value is not None:
            changes[name] = _normalised(name, value)
    result = replace(current, **changes)  # type: ignore[arg-type]
    check(result)
    return result


def _normalised(name: str, value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
    if name == "groups" and isinstance(value, tuple):
        return tuple(dict.fromkeys(g.strip().lower() for g in value if g.strip()))
    if name == "default_group" and isinstance(value, str):
        return value.lower()
    if name == "models" and isinstance(value, tuple):
        return tuple(dict.fromkeys(p.strip() for p in value))
    if name == "expires_at" and isinstance(value, int | float):
        return float(value)
    return value


def check(licence: LicenceDefinition) -> None:
    """Every rule a stored licence obeys; the first broken one is a 400 naming its field."""
    _check_texts(licence)
    _check_models(licence.models)
    _check_groups(licence)
    for name in LIMITS:
        if not 0 <= getattr(licence, name) <= MAX_LIMIT:
            raise InvalidRequestError(
                f"{name} must be an integer from 0 (no limit) to {MAX_LIMIT}", param=name
            )
    if not 0 <= licence.expires_at <= MAX_EXPIRY:
        raise InvalidRequestError("expires_at must be a unix time in seconds (0: never)", param="expires_at")
    if licence.progress not in ("", *ProgressMode):
        modes = ", ".join(ProgressMode)
        raise InvalidRequestError(f"progress must be one of {modes} (or empty)", param="progress")
    low, high = PRIORITY_RANGE
    if not low <= licence.priority <= high:
        raise InvalidRequestError(f"priority must be an integer from {low} to {high}", param="priority")
    check_webhook_url(licence.webhook_url)


def _check_texts(licence: LicenceDefinition) -> None:
    if not licence.name:
        raise InvalidRequestError("a licence needs a name", param="name")
    for name, limit in _TEXTS.items():
        if len(getattr(licence, name)) > limit:
            raise InvalidRequestError(f"{name} must be at most {limit} characters", param=name)


def _check_models(patterns: tuple[str, ...]) -> None:
    if len(patterns) > MAX_PATTERNS:
        raise InvalidRequestError(f"models holds at most {MAX_PATTERNS} patterns", param="models")
    for pattern in patterns:
        if not _PATTERN.match(pattern):
            raise InvalidRequestError(
                f"invalid model pattern {pattern!r}: model names and variants with * ? [ ] "
                "(such as veo_3_1* or nano_banana_pro-4K*)",
                param="models",
            )


def _check_groups(licence: LicenceDefinition) -> None:
    for group in licence.groups:
        if not _GROUP.match(group):
            raise InvalidRequestError(
                f"invalid group {group!r} (a-z, 0-9, _ and -, up to 32)", param="groups"
            )
    if licence.default_group and not _GROUP.match(licence.default_group):
        raise InvalidRequestError("default_group must be a group name", param="default_group")
    if licence.groups and licence.default_group and licence.default_group not in licence.groups:
        raise InvalidRequestError("default_group must be one of the licence's groups", param="default_group")


def check_webhook_url(url: str) -> None:
    """An absolute http(s) URL (or empty); where it may point is the webhook sender's check."""
    if not url:
        return
    try:
        parsed = yarl.URL(url) if len(url) <= MAX_URL else None
    except ValueError:  # not a URL at all (an unclosed IPv6 bracket, a bad port)
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidRequestError(
            f"webhook_url must be an absolute http(s) URL of at most {MAX_URL} characters",
            param="webhook_url",
        )
