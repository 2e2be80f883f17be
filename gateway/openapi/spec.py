"""What the OpenAPI document says of one handler: its body, parameters, answers and who may call it.

An :class:`Operation` is keyed by its handler in the tables (``public``, ``admin``, ``google``); the
document pairs each live route with its handler's operation, so a route added without one is
noticed (the contract test fails on it).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gateway.wire import Schema, Shape, Text

JSON = "application/json"
SSE = "text/event-stream"
CSV = "text/csv"
FORM = "multipart/form-data"
MEDIA_TYPES = ("video/mp4", "image/png", "image/jpeg", "image/webp")


class Auth(enum.StrEnum):
    """Who may call an operation."""

    LICENCE = "licence"  # a licence key: Bearer, x-api-key or x-goog-api-key (and ?key= on Google's paths)
    ADMIN = "admin"  # the admin key: Bearer or x-admin-key (or a console session)
    CONSOLE = "console"  # a console session (its cookie)
    SIGNED = "signed"  # a signed URL (expires + signature), or a licence
    WORKER = "worker"  # the worker secret (Bearer)
    NONE = "none"  # probes, metrics, this document


@dataclass(frozen=True, slots=True)
class Param:
    """A query or header parameter (path parameters come from the route itself)."""

    name: str
    schema: Schema
    description: str = ""
    location: str = "query"
    required: bool = False


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer: a status and its bodies by media type (``None``: described in words only)."""

    status: int
    description: str
    content: tuple[tuple[str, Shape | Schema | None], ...] = ()


@dataclass(frozen=True, slots=True)
class Operation:
    """One handler's contract."""

    summary: str
    tag: str
    replies: tuple[Reply, ...]
    body: Shape | None = None
    body_required: bool = False
    forms: bool = False  # the body may also come as multipart/form-data (the SDKs' choice)
    text_body: str = ""  # a plain-text body is taken too; what it holds
    params: tuple[Param, ...] = ()
    auth: Auth = Auth.LICENCE
    description: str = ""


def ok(shape: Shape, description: str = "OK.", *, status: int = 200) -> Reply:
    """A JSON answer of ``shape``."""
    return Reply(status, description, ((JSON, shape),))


def query(name: str, schema: Schema, description: str = "", *, required: bool = False) -> Param:
    """A query parameter."""
    return Param(name, schema, description, "query", required)


def header(name: str, description: str) -> Param:
    """An optional request header of text."""
    return Param(name, Text(), description, "header")


def files(description: str) -> Reply:
    """A stored file, ``Range`` honoured."""
    return Reply(200, description, tuple((m, None) for m in MEDIA_TYPES))


PARTIAL = Reply(206, "The byte range asked for (``Range``).", tuple((m, None) for m in MEDIA_TYPES))
