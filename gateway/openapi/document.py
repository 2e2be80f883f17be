"""The OpenAPI 3.1 document, built from the live router: every route's path and method, paired with
its handler's :class:`~gateway.openapi.spec.Operation`, whose bodies are the same shapes the parsers
read (``gateway.wire``). Errors are each path's dialect: Google's envelope on Google's paths,
OpenAI's everywhere else (the error middleware decides the same way).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.gemini.dialect import is_google_path
from gateway.openapi import admin, console, google, public
from gateway.openapi.google_objects import GOOGLE_ERROR
from gateway.openapi.objects import OPENAI_ERROR
from gateway.openapi.spec import FORM, JSON, Auth, Operation, Param, Reply
from gateway.wire import Schema, Shape
from gateway.wire.json_schema import Json, object_schema, value_schema

TITLE = "Flow gateway"
VERSION = "0.1.0"
DESCRIPTION = (
    "OpenAI's and Google's APIs for images and videos, served through a pool of Google Flow accounts. "
    "Errors come in the dialect of the path: Google's envelope under ``/gemini``, ``/v1beta`` and "
    "``/v1beta1``, OpenAI's everywhere else."
)
_PATH_PARAM = re.compile(r"\{([^}:]+)\}")
PATH_PARAMS = {
    "task_id": "A task id (``imgtask_...``, ``video_...``).",
    "video_id": "A video id (``video_...``).",
    "model_id": "A model, variant or alias.",
    "media_id": "A stored result's id.",
    "account_id": "An account id.",
    "licence_id": "A licence id.",
    "delivery_id": "A webhook delivery id.",
    "model": "A model, by Google's name (``veo-3.1-generate-preview``) or ours.",
    "operation": "An operation id (a video task id).",
    "file": "A file id (``video<hex>``); the SDK may send back a whole URI ending in ``files/<id>``.",
    "project": "Any project (ignored: the licence decides).",
    "location": "Any location (ignored).",
    "enrolment_id": "A worker enrolment id.",
    "version": "The console bundle's version.",
    "name": "A file of the console bundle.",
}
SECURITY_SCHEMES: Json = {
    "LicenceBearer": {"type": "http", "scheme": "bearer", "description": "A licence key."},
    "LicenceApiKey": {"type": "apiKey", "in": "header", "name": "x-api-key", "description": "A licence key."},
    "GoogleApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "x-goog-api-key",
        "description": "A licence key.",
    },
    "GoogleKeyQuery": {
        "type": "apiKey",
        "in": "query",
        "name": "key",
        "description": "A licence key, on Google's paths only (as Google's docs pass it).",
    },
    "AdminBearer": {"type": "http", "scheme": "bearer", "description": "The admin key."},
    "AdminKey": {"type": "apiKey", "in": "header", "name": "x-admin-key", "description": "The admin key."},
    "WorkerSecret": {
        "type": "http",
        "scheme": "bearer",
        "description": "The worker secret ([workers] secret).",
    },
}
# An example model per Google method (documentation, and what the fuzzer tries first).
_GOOGLE_MODELS = {
    ":generateContent": "gemini-2.5-flash-image",
    ":streamGenerateContent": "gemini-2.5-flash-image",
    ":predict": "imagen-4.0-generate-001",
    ":predictLongRunning": "veo-3.1-fast-generate-preview",
}
_LICENCE: list[Json] = [{"LicenceBearer": []}, {"LicenceApiKey": []}, {"GoogleApiKey": []}]


def all_operations() -> dict[Handler, Operation]:
    """Every handler's operation (the OpenAI surface, the admin API, Google's dialect, the console)."""
    return {**public.OPERATIONS, **admin.OPERATIONS, **google.OPERATIONS, **console.OPERATIONS}


@dataclass
class Components:
    """The shapes referred to so far, rendered once each (``Form``: a body's multipart form)."""

    schemas: dict[str, Json] = field(default_factory=dict)
    shapes: dict[str, Shape] = field(default_factory=dict)

    def ref(self, shape: Shape) -> Json:
        """A reference to ``shape``'s component (rendered at the first reference)."""
        known = self.shapes.get(shape.name)
        if known is None:
            self.shapes[shape.name] = shape
            self.schemas[shape.name] = {}  # reserved first: a shape may refer to itself
            self.schemas[shape.name] = object_schema(shape, self.ref)
        elif known is not shape:
            raise ValueError(f"two shapes are called {shape.name}")
        return {"$ref": f"#/components/schemas/{shape.name}"}

    def form(self, shape: Shape) -> Json:
        """A reference to ``shape``'s multipart form."""
        name = f"{shape.name}Form"
        if name not in self.schemas:
            self.schemas[name] = object_schema(shape, self.ref, form=True)
        return {"$ref": f"#/components/schemas/{name}"}

    def schema(self, value: Shape | Schema) -> Json:
        """Any schema (a shape by reference)."""
        return self.ref(value) if isinstance(value, Shape) else value_schema(value, self.ref)


def build(
    routes: Iterable[web.AbstractRoute],
    *,
    operations: Mapping[Handler, Operation],
    by_path: Mapping[str, Operation],
) -> tuple[Json, list[str]]:
    """The document for ``routes``, and the routes that have no operation (``METHOD path``)."""
    components = Components()
    paths: dict[str, dict[str, Json]] = {}
    missing: list[str] = []
    for route in routes:
        path = route.resource.canonical if route.resource is not None else ""
        op = operations.get(route.handler) or by_path.get(path)
        if op is None:
            missing.append(f"{route.method} {path}")
            op = Operation("Not described", "Undescribed", ())
        method = route.method.lower()
        paths.setdefault(path, {})[method] = _operation(op, path, method, components)
    responses = _error_responses(components)  # before the schemas are listed: they add two
    document: Json = {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(components.schemas.items())),
            "responses": responses,
            "securitySchemes": SECURITY_SCHEMES,
        },
    }
    return document, missing


def _operation(op: Operation, path: str, method: str, components: Components) -> Json:
    head = method == "head"
    doc: Json = {
        "operationId": _operation_id(method, path),
        "summary": op.summary,
        "tags": [op.tag],
        "security": _security(op.auth, path),
        "responses": _responses(op.replies, path, components, head=head),
    }
    if op.description:
        doc["description"] = op.description
    parameters = [_path_param(name, path) for name in _PATH_PARAM.findall(path)]
    parameters += [_param(p, components) for p in op.params]
    if parameters:
        doc["parameters"] = parameters
    if op.body is not None and not head:
        doc["requestBody"] = _request_body(op, op.body, components)
    return doc


def _operation_id(method: str, path: str) -> str:
    """``get_v1_videos_video_id``; a path ending in ``/`` (the console's page) says ``_index``."""
    name = method + re.sub(r"[^A-Za-z0-9]+", "_", path).rstrip("_")
    return name + "_index" if path.endswith("/") and len(path) > 1 else name


def _request_body(op: Operation, body: Shape, components: Components) -> Json:
    content: Json = {JSON: {"schema": components.ref(body)}}
    if op.forms:
        content[FORM] = {"schema": components.form(body)}
    if op.text_body:
        content["text/plain"] = {"schema": {"type": "string", "description": op.text_body}}
    return {"required": op.body_required, "content": content}


def _responses(replies: tuple[Reply, ...], path: str, components: Components, *, head: bool) -> Json:
    out: Json = {}
    for reply in replies:
        doc: Json = {"description": reply.description}
        if reply.content and not head:
            doc["content"] = {media: _media(value, components) for media, value in reply.content}
        out[str(reply.status)] = doc
    error = "GoogleError" if is_google_path(path) else "OpenAIError"
    for status in ("4XX", "5XX"):
        out[status] = {"description": "An error."} if head else {"$ref": f"#/components/responses/{error}"}
    return out


def _media(value: Shape | Schema | None, components: Components) -> Json:
    if value is None:
        return {}
    return {"schema": components.schema(value)}


def _error_responses(components: Components) -> Json:
    return {
        "OpenAIError": {
            "description": "An error in OpenAI's shape (``error.message``, ``type``, ``param``, ``code``).",
            "content": {JSON: {"schema": components.ref(OPENAI_ERROR)}},
        },
        "GoogleError": {
            "description": "An error in Google's shape (``error.code``, ``message``, ``status``, "
            "``details``).",
            "content": {JSON: {"schema": components.ref(GOOGLE_ERROR)}},
        },
    }


def _path_param(name: str, path: str) -> Json:
    schema: Json = {"type": "string", "minLength": 1}
    if name == "model_id":
        schema["examples"] = ["veo_3_1", "dall-e-3"]
    if name == "model":  # the model of Google's method paths, by what each method serves
        schema["examples"] = [_GOOGLE_MODELS[m] for m in _GOOGLE_MODELS if path.endswith(m)][:1] or [
            "gemini-2.5-flash-image"
        ]
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": PATH_PARAMS.get(name, ""),
        "schema": schema,
    }


def _param(param: Param, components: Components) -> Json:
    doc: Json = {"name": param.name, "in": param.location, "required": param.required}
    if param.description:
        doc["description"] = param.description
    doc["schema"] = components.schema(param.schema)
    return doc


def _security(auth: Auth, path: str) -> list[Json]:
    if auth is Auth.ADMIN:
        return [{"AdminBearer": []}, {"AdminKey": []}, {"ConsoleSession": []}]
    if auth is Auth.CONSOLE:
        return [{"ConsoleSession": []}]
    if auth is Auth.WORKER:
        return [{"WorkerSecret": []}]
    if auth is Auth.NONE:
        return []
    licence: list[Json] = [*_LICENCE, {"GoogleKeyQuery": []}] if is_google_path(path) else list(_LICENCE)
    anonymous: Json = {}  # a signed URL needs no licence
    return [anonymous, *licence] if auth is Auth.SIGNED else licence
