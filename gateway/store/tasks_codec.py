"""Task records as JSON documents, for backends that store text (SQLite now, Redis later)."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from gateway.domain import Kind, TaskRecord, TaskStage, TaskStatus, UpstreamMedia

_MEDIA_FIELDS = ("job", "source_job")


def task_to_json(record: TaskRecord) -> bytes:
    """The record as one JSON document (orjson serialises the dataclasses it holds)."""
    return orjson.dumps(record)


def task_from_json(raw: bytes | str) -> TaskRecord:
    """The inverse of :func:`task_to_json`; unknown keys (from a newer version) are ignored."""
    doc: dict[str, Any] = orjson.loads(raw)
    names = {f.name for f in dataclasses.fields(TaskRecord)}
    values = {k: v for k, v in doc.items() if k in names}
    for name in _MEDIA_FIELDS:
        media = values.get(name)
        values[name] = (
            UpstreamMedia(media["name"], media["project_id"], media.get("workflow", "")) if media else None
        )
    values["kind"] = Kind(values["kind"])
    values["status"] = TaskStatus(values["status"])
    values["stage"] = TaskStage(values["stage"])
    values["inputs"] = tuple(values.get("inputs", ()))
    values["results"] = tuple(values.get("results", ()))
    return TaskRecord(**values)
