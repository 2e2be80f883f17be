"""Shapes as JSON Schema (2020-12, the dialect of OpenAPI 3.1): a JSON body as the parsers read it,
or a form body (multipart), where every value travels as text and images as file parts.

Objects become references (``ref``: the caller decides where components live); refused fields are
left out of ``properties`` (so a closed object refuses them) and named with their reason in the
description; fields accepted without effect say so.
"""

from __future__ import annotations

from collections.abc import Callable

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

Json = dict[str, object]
Ref = Callable[[Shape], Json]
IGNORED_NOTE = "Accepted without effect here."
# Form values are text: an integer or a flag is sent as its digits or words.
FORM_INTEGER = r"^-?[0-9]+$"
FORM_FLAGS = ("true", "false", "1", "0")


def object_schema(shape: Shape, ref: Ref, *, form: bool = False) -> Json:
    """The JSON Schema of ``shape`` itself (what a component holds)."""
    properties = {
        f.name: field_schema(f, ref, form=form, nullable=shape.absent_if_null and not f.required)
        for f in shape.fields
        if f.use is not Use.REFUSED
    }
    doc: Json = {"type": "object", "description": _described(shape), "properties": properties}
    if shape.required:
        doc["required"] = list(shape.required)
    # A form's part names vary (``image[0]``, ``video[id]``): its parser refuses unknown ones itself.
    doc["additionalProperties"] = shape.open or form
    if shape.examples:
        doc["examples"] = [dict(e) for e in shape.examples]
    return doc


def field_schema(field: Field, ref: Ref, *, form: bool = False, nullable: bool = False) -> Json:
    """One property: its value's schema, nullable when the field (or its shape) says so, described."""
    inner = form_value(field.schema, ref) if form else value_schema(field.schema, ref)
    null = (field.nullable or nullable) and not form and inner != {}  # a form has no null; {} takes it
    doc: Json = {"anyOf": [inner, {"type": "null"}]} if null else dict(inner)
    note = " ".join(t for t in (IGNORED_NOTE if field.use is Use.IGNORED else "", field.description) if t)
    if note:
        doc["description"] = note
    return doc


def value_schema(schema: Schema, ref: Ref) -> Json:
    """A value's schema as JSON carries it."""
    if isinstance(schema, Shape):
        return ref(schema)
    if isinstance(schema, Text):
        return _text(schema)
    if isinstance(schema, Integer | Number):
        doc: Json = {"type": "integer" if isinstance(schema, Integer) else "number"}
        return _put(doc, minimum=schema.minimum, maximum=schema.maximum)
    if isinstance(schema, Flag):
        return {"type": "boolean"}
    if isinstance(schema, Binary):
        return {"type": "string", "contentMediaType": schema.media_types[0]}
    if isinstance(schema, AnyValue):
        return {}
    if isinstance(schema, Array):
        doc = {"type": "array", "items": value_schema(schema.items, ref)}
        return _put(doc, minItems=schema.min_items, maxItems=schema.max_items)
    if isinstance(schema, MapOf):
        return {"type": "object", "additionalProperties": value_schema(schema.values, ref)}
    return {"anyOf": [value_schema(o, ref) for o in schema.options]}


def form_value(schema: Schema, ref: Ref) -> Json:
    """A value's schema in a form: text (numbers and flags as words), files as binary parts."""
    if isinstance(schema, Integer | Number):
        return {"type": "string", "pattern": FORM_INTEGER if isinstance(schema, Integer) else r"^-?[0-9.]+$"}
    if isinstance(schema, Flag):
        return {"type": "string", "enum": list(FORM_FLAGS)}
    if isinstance(schema, Binary):
        return {"type": "string", "format": "binary", "contentMediaType": schema.media_types[0]}
    if isinstance(schema, Array):
        return {"type": "array", "items": form_value(schema.items, ref)}
    if isinstance(schema, Either):
        options: list[Json] = []
        for option in schema.options:
            rendered = form_value(option, ref)
            if rendered not in options:
                options.append(rendered)
        return options[0] if len(options) == 1 else {"anyOf": options}
    if isinstance(schema, Shape | MapOf | AnyValue):
        return {"type": "string"}  # a nested object travels as ``name[key]`` parts, each text
    return _text(schema)


def _text(schema: Text) -> Json:
    doc: Json = {"type": "string"}
    if schema.enum:
        doc["enum"] = [str(v) for v in schema.enum]  # StrEnum members as their plain values
    if schema.examples:
        doc["examples"] = list(schema.examples)
    return _put(
        doc,
        minLength=schema.min_length,
        maxLength=schema.max_length,
        pattern=schema.pattern,
        format=schema.format,
    )


def _put(doc: Json, **optional: object) -> Json:
    doc.update({k: v for k, v in optional.items() if v is not None})
    return doc


def _described(shape: Shape) -> str:
    refused = "; ".join(f"{name} ({why})" for name, why in shape.refused.items())
    return f"{shape.description} Refused by name: {refused}." if refused else shape.description
