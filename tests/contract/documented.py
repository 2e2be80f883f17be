"""Checking real answers against the OpenAPI document: each response a test app sends is recorded
(its route, method, status and body), then validated against the schema the document gives for it.

The recorder sits in the app (``on_response_prepare``), so it sees the route template aiohttp
matched, never a guess from the URL; bodies the document describes only in words (files, SSE,
CSV) are recorded without being validated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOC = "urn:openapi"


@dataclass
class Answer:
    """One response as sent."""

    path: str
    method: str
    status: int
    media: str
    body: bytes


@dataclass
class Recorder:
    """Every response of an app, in order."""

    answers: list[Answer] = field(default_factory=list)

    def install(self, app: web.Application) -> None:
        """Record ``app``'s responses (call before it starts)."""
        app.on_response_prepare.append(self._record)

    async def _record(self, request: web.Request, response: web.StreamResponse) -> None:
        route = request.match_info.route
        path = route.resource.canonical if route.resource is not None else request.path
        body = b""
        if isinstance(response, web.Response) and response.body is not None:
            raw = response.body
            body = raw if isinstance(raw, bytes) else raw.decode().encode()  # a streamed JSON payload
        self.answers.append(Answer(path, request.method, response.status, response.content_type, body))


class Contract:
    """The document's response schemas, and validation against them."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(DOC, resource)

    def schema_for(self, answer: Answer) -> tuple[str, dict[str, Any]] | None:
        """The JSON pointer and schema the document gives this answer's body (None: none)."""
        operation = self.document["paths"][answer.path][answer.method.lower()]
        responses = operation["responses"]
        status = str(answer.status) if str(answer.status) in responses else f"{answer.status // 100}XX"
        reply = responses.get(status)
        assert reply is not None, f"{answer.method} {answer.path} answered {answer.status}, undocumented"
        pointer = f"/paths/{_escape(answer.path)}/{answer.method.lower()}/responses/{status}"
        if "$ref" in reply:
            pointer = reply["$ref"].removeprefix("#")
            reply = self.document["components"]["responses"][reply["$ref"].rsplit("/", 1)[1]]
        content = reply.get("content", {})
        where = f"{answer.method} {answer.path} {answer.status}"
        assert answer.media in content or not answer.body, (
            f"{where}: {answer.media} is not in {list(content)}"
        )
        schema: dict[str, Any] | None = content.get(answer.media, {}).get("schema")
        if schema is None:
            return None
        return f"{pointer}/content/{_escape(answer.media)}/schema", schema

    def check(self, answer: Answer) -> str:
        """The name of the schema ``answer`` was validated against ("" when none applies)."""
        found = self.schema_for(answer)
        if found is None or answer.media != "application/json" or not answer.body:
            return ""
        pointer, schema = found
        name = schema.get("$ref", "").rsplit("/", 1)[-1] or pointer
        validator = Draft202012Validator({"$ref": f"{DOC}#{pointer}"}, registry=self.registry)
        errors = sorted(validator.iter_errors(orjson.loads(answer.body)), key=lambda e: list(e.path))
        assert not errors, f"{answer.method} {answer.path} {answer.status} strays from {name}: " + "; ".join(
            f"{list(e.path)}: {e.message[:200]}" for e in errors[:5]
        )
        return name


def _escape(segment: str) -> str:
    """A JSON pointer segment (RFC 6901)."""
    return segment.replace("~", "~0").replace("/", "~1")
