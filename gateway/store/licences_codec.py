"""Licences and audit entries as JSON documents, for backends that store text (SQLite now, Redis later)."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from gateway.domain import AuditEntry, LicenceDefinition

_LICENCE_FIELDS = frozenset(f.name for f in dataclasses.fields(LicenceDefinition))
_AUDIT_FIELDS = frozenset(f.name for f in dataclasses.fields(AuditEntry))
_TUPLES = ("models", "groups")


def licence_to_json(licence: LicenceDefinition) -> bytes:
    """The licence as one JSON document (it holds the key's hash and the webhook secret: the store
    is private, as it is for account credentials)."""
    return orjson.dumps(licence)


def licence_from_json(raw: bytes | str) -> LicenceDefinition:
    """The inverse of :func:`licence_to_json`; unknown keys (from a newer version) are ignored."""
    doc: dict[str, Any] = orjson.loads(raw)
    values = {k: v for k, v in doc.items() if k in _LICENCE_FIELDS}
    for name in _TUPLES:
        values[name] = tuple(values.get(name, ()))
    return LicenceDefinition(**values)


def audit_to_json(entry: AuditEntry) -> bytes:
    """An audit entry as one JSON document (its ``seq`` is the row's key, not part of the document)."""
    return orjson.dumps(dataclasses.replace(entry, seq=0))


def audit_from_json(raw: bytes | str, *, seq: int) -> AuditEntry:
    """The inverse of :func:`audit_to_json`, with the sequence number the store assigned."""
    doc: dict[str, Any] = orjson.loads(raw)
    values = {k: v for k, v in doc.items() if k in _AUDIT_FIELDS}
    values["seq"] = seq
    return AuditEntry(**values)
