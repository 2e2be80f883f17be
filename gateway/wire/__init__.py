"""Declarative descriptions of the objects on the wire (request bodies, response objects).

One source of truth: the request parsers read from a :class:`~gateway.wire.shapes.Shape` the field
names they accept, the required ones, enums and bounds, and ``gateway.openapi`` renders the same
shapes as JSON Schema. Nothing here validates a request or imports the rest of the gateway: the
parsers keep their own wording and ``param`` in errors (clients and tests rely on them).
"""

from gateway.wire.shapes import (
    AnyValue,
    Array,
    Binary,
    Either,
    Field,
    Flag,
    Integer,
    MapOf,
    Number,
    Schema,
    Shape,
    Text,
    Use,
)

__all__ = [
    "AnyValue",
    "Array",
    "Binary",
    "Either",
    "Field",
    "Flag",
    "Integer",
    "MapOf",
    "Number",
    "Schema",
    "Shape",
    "Text",
    "Use",
]
