"""Account definitions, account states and media records as JSON documents (the Redis backend keeps
each as one hash field; SQLite spreads them over columns). Keys from a newer version are ignored."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from gateway.domain import AccountDefinition, AccountKind, AccountRecord, MediaRecord, Secret, UpstreamMedia

_DEFINITION_FIELDS = frozenset(f.name for f in dataclasses.fields(AccountDefinition))
_RECORD_FIELDS = frozenset(f.name for f in dataclasses.fields(AccountRecord))
_MEDIA_FIELDS = frozenset(f.name for f in dataclasses.fields(MediaRecord))


def definition_to_json(definition: AccountDefinition) -> bytes:
    """The definition with its secret revealed (the store holds credentials, as SQLite's file does)."""
    doc = {f: getattr(definition, f) for f in _DEFINITION_FIELDS}
    doc["secret"] = definition.secret.reveal()
    return orjson.dumps(doc)


def definition_from_json(raw: bytes) -> AccountDefinition:
    """The inverse of :func:`definition_to_json`."""
    values = _known(raw, _DEFINITION_FIELDS)
    values["secret"] = Secret(str(values.get("secret", "")))
    values["kind"] = AccountKind(values["kind"])
    values["groups"] = tuple(values.get("groups", ()))
    return AccountDefinition(**values)


def record_to_json(record: AccountRecord) -> bytes:
    """An account's runtime state."""
    return orjson.dumps(record)


def record_from_json(raw: bytes) -> AccountRecord:
    """The inverse of :func:`record_to_json`."""
    values = _known(raw, _RECORD_FIELDS)
    values["refused"] = tuple((str(f), float(t)) for f, t in values.get("refused", ()))
    return AccountRecord(**values)


def media_to_json(record: MediaRecord) -> bytes:
    """A stored result's record."""
    return orjson.dumps(record)


def media_from_json(raw: bytes) -> MediaRecord:
    """The inverse of :func:`media_to_json`."""
    values = _known(raw, _MEDIA_FIELDS)
    upstream = values.get("upstream")
    values["upstream"] = (
        UpstreamMedia(upstream["name"], upstream["project_id"], upstream.get("workflow", ""))
        if upstream
        else None
    )
    return MediaRecord(**values)


def _known(raw: bytes, names: frozenset[str]) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(raw)
    return {k: v for k, v in doc.items() if k in names}
