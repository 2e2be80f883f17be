"""The vocabulary of wire descriptions: a :class:`Shape` (an object) is a tuple of :class:`Field`\\ s,
each with a :data:`Schema` (``Text``, ``Integer``, ``Array`` of another shape, ...).

A field is honoured, accepted without effect (``Use.IGNORED``: documented so a client knows), or
refused by name with a reason (``Use.REFUSED``: Google's dialect says why it cannot honour it). The
accessors (:meth:`Shape.enum`, :meth:`Shape.bounds`, ...) are what the parsers read, so a bound
changed here changes what is checked and what is published together.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeAlias, TypeVar


class Use(enum.StrEnum):
    """What the gateway does with a field it is sent."""

    HONOURED = "honoured"
    IGNORED = "ignored"  # accepted, no effect here (documented as such)
    REFUSED = "refused"  # known by name, refused with the reason in ``Field.why``


@dataclass(frozen=True, slots=True)
class Text:
    """A string (``enum``: the values taken; ``pattern``: ECMA regex, as JSON Schema reads it)."""

    enum: tuple[str, ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    format: str | None = None
    examples: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Integer:
    """A whole number, within ``minimum``..``maximum`` when given."""

    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True, slots=True)
class Number:
    """Any JSON number, within ``minimum``..``maximum`` when given."""

    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True, slots=True)
class Flag:
    """``true`` or ``false``."""


@dataclass(frozen=True, slots=True)
class Binary:
    """A file part of a multipart body (or a whole binary response), of these media types."""

    media_types: tuple[str, ...] = ("application/octet-stream",)


@dataclass(frozen=True, slots=True)
class AnyValue:
    """Any JSON value (a field accepted without effect, or one whose shape is not ours to fix)."""


@dataclass(frozen=True, slots=True)
class Array:
    """A JSON array of ``items``."""

    items: Schema
    min_items: int | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True)
class MapOf:
    """A JSON object with free keys, each holding ``values``."""

    values: Schema


@dataclass(frozen=True, slots=True)
class Either:
    """One of several schemas (a value the wire may send in more than one form)."""

    options: tuple[Schema, ...]


@dataclass(frozen=True, slots=True)
class Field:
    """One field of an object."""

    name: str
    schema: Schema
    description: str = ""
    required: bool = False
    nullable: bool = False
    use: Use = Use.HONOURED
    why: str = ""  # a refused field's reason, as its 400 says it


@dataclass(frozen=True)
class Shape:
    """A JSON object: its fields; ``open``: other keys may appear too (a response's free-form part);
    ``absent_if_null``: an optional field sent as ``null`` reads as absent (how the request parsers
    treat it, so the document allows it)."""

    name: str
    description: str
    fields: tuple[Field, ...]
    open: bool = False
    examples: tuple[Mapping[str, object], ...] = field(default=())
    absent_if_null: bool = False

    def __hash__(self) -> int:
        return hash(self.name)  # names are unique in a document; the examples (dicts) cannot hash

    @cached_property
    def by_name(self) -> dict[str, Field]:
        """The fields by name."""
        return {f.name: f for f in self.fields}

    @cached_property
    def names(self) -> frozenset[str]:
        """The names a request may send (honoured or ignored; refused ones are not among them)."""
        return frozenset(f.name for f in self.fields if f.use is not Use.REFUSED)

    @cached_property
    def ignored(self) -> frozenset[str]:
        """The names accepted without effect."""
        return frozenset(f.name for f in self.fields if f.use is Use.IGNORED)

    @cached_property
    def refused(self) -> dict[str, str]:
        """Refused names and why."""
        return {f.name: f.why for f in self.fields if f.use is Use.REFUSED}

    @cached_property
    def required(self) -> tuple[str, ...]:
        """The names that must be present."""
        return tuple(f.name for f in self.fields if f.required)

    def field(self, name: str) -> Field:
        """The field called ``name`` (KeyError for a name the shape does not have)."""
        return self.by_name[name]

    def enum(self, name: str) -> tuple[str, ...]:
        """The values a text field takes."""
        text = _find(self.field(name).schema, Text)
        if not text.enum:
            raise TypeError(f"{self.name}.{name} has no enum")
        return text.enum

    def bounds(self, name: str) -> tuple[int, int]:
        """The lowest and highest value of an integer field."""
        number = _find(self.field(name).schema, Integer)
        if number.minimum is None or number.maximum is None:
            raise TypeError(f"{self.name}.{name} is not bounded")
        return number.minimum, number.maximum

    def max_length(self, name: str) -> int:
        """The longest a text field may be."""
        text = _find(self.field(name).schema, Text)
        if text.max_length is None:
            raise TypeError(f"{self.name}.{name} has no maximum length")
        return text.max_length


Schema: TypeAlias = Text | Integer | Number | Flag | Binary | AnyValue | Array | MapOf | Either | Shape
S = TypeVar("S", Text, Integer)


def _find(schema: Schema, kind: type[S]) -> S:
    """``schema`` if it is a ``kind``, else the first option of an ``Either`` that is one."""
    if isinstance(schema, kind):
        return schema
    if isinstance(schema, Either):
        for option in schema.options:
            if isinstance(option, kind):
                return option
    raise TypeError(f"not a {kind.__name__}: {schema!r}")
