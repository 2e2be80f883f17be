"""Secret redaction for log events: sensitive keys masked, secret-looking substrings scrubbed.

Runs on every log line, so it works by field: values of sensitive keys are masked; fields the
gateway itself fills with values that cannot hold a secret (names, ids, numbers, its own timestamp)
pass untouched; only the rest (free text, a URL path, a user agent, an exception) goes through one
precompiled regex, and only when longer than a token could hide in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

MASK = "***"
SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-goog-api-key",
        "session_token",
        "access_token",
        "token",
        "client_key",
        "clientkey",
        "key",
        "secret",
        "password",
        "at",
        "recaptcha_token",
        "signature",
        "api_key",
        "licence_key",
        "grecaptcharesponse",
    }
)
_SECRET_PATTERNS = re.compile(
    r"(?P<prefix>Bearer\s+|__Secure-next-auth\.session-token=|(?:__Secure-[13]P)?(?:SID|SAPISID|APISID|HSID|SSID|"
    r"PSID\w*|OSID)=|\"token\"\s*:\s*\")[^\s;,\"']+"
    r"|ya29\.[A-Za-z0-9_\-.]+"
    r"|sk-flow-[A-Za-z0-9_\-]+"
    r"|0cAFcW[A-Za-z0-9_\-]+",
    re.IGNORECASE,
)
_MIN_LEN = 8
# Fields whose values the gateway builds from its own names and ids: never a credential.
SAFE_KEYS = frozenset(
    {
        "level",
        "logger",
        "timestamp",
        "request_id",
        "remote",
        "licence_id",
        "task_id",
        "task",
        "account",
        "worker",
        "route",
        "method",
        "model",
        "mode",
        "code",
        "endpoint",
        "rpc",
        "stage",
        "state",
    }
)
OUR_SAFE_KEYS = SAFE_KEYS | {"event"}  # our own events are names (``upstream_call``), not messages


def scrub(text: str) -> str:
    """``text`` with every secret-looking substring masked."""
    if len(text) < _MIN_LEN:
        return text
    return _SECRET_PATTERNS.sub(_replace, text)


def _replace(match: re.Match[str]) -> str:
    prefix = match.group("prefix")
    return f"{prefix}{MASK}" if prefix else MASK


def redact(value: Any, key: str | None = None) -> Any:
    """A copy of ``value`` with sensitive keys masked and strings scrubbed, recursively."""
    if key is not None and key.lower() in SENSITIVE_KEYS and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def redact_processor(_: object, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor applying :func:`redact` to every field of the event but the safe ones
    (and numbers, which hold nothing to scrub)."""
    safe = SAFE_KEYS if "_record" in event_dict else OUR_SAFE_KEYS  # a stdlib record's event is free text
    for field, value in event_dict.items():
        if field in safe or value is None or isinstance(value, int | float):
            continue
        event_dict[field] = redact(value, field)
    return event_dict
