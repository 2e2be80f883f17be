"""Wire → domain for licences: admin API bodies (and the CLI's flags, turned into the same shape).

Every field is type-checked here and named in the error (``param``); the rules that hold for every
path (ranges, patterns, a default group among the groups) live in ``service/licence_rules.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.admin.bodies import LICENCE, ROTATION
from gateway.errors import InvalidRequestError
from gateway.service.licence_book import Rotation
from gateway.service.licence_rules import LicenceInput
from gateway.wire import Array, Field, Flag, Integer, Number, Text

MAX_TEXT = 4096  # the rules cap each field lower; this only bounds what is read


def parse_licence(doc: Any) -> LicenceInput:
    """A licence object (``POST /admin/licences``, ``PATCH /admin/licences/{id}``)."""
    if not isinstance(doc, dict):
        raise InvalidRequestError("a licence must be a JSON object")
    values: dict[str, Any] = {}
    for name, value in doc.items():
        parser = _PARSERS.get(name)
        if parser is None:
            raise InvalidRequestError(
                f"Unknown parameter: '{name}'.", param=str(name), code="unknown_parameter"
            )
        if value is not None:
            values[name] = parser(value, name)
    return LicenceInput(**values)


def parse_rotation(doc: Any) -> Rotation:
    """``{"grace_seconds"?: number, "webhook_secret"?: bool}`` (an empty body is the defaults)."""
    if doc is None:
        return Rotation()
    if not isinstance(doc, dict):
        raise InvalidRequestError("the body must be a JSON object")
    unknown = sorted(set(doc) - ROTATION.names)
    if unknown:
        raise InvalidRequestError(
            f"Unknown parameter: '{unknown[0]}'.", param=unknown[0], code="unknown_parameter"
        )
    grace = doc.get("grace_seconds")
    secret = doc.get("webhook_secret", False)
    return Rotation(
        grace_seconds=None if grace is None else _number(grace, "grace_seconds"),
        webhook_secret=_bool(secret, "webhook_secret"),
    )


def parse_flag(value: str | None, *, param: str) -> bool | None:
    """A query filter ``true``/``false`` (absent: None)."""
    if value is None:
        return None
    if value not in ("true", "false"):
        raise InvalidRequestError(f"{param} must be true or false", param=param)
    return value == "true"


def _text(value: Any, param: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise InvalidRequestError(f"{param} must be a string", param=param)
    return value


def _strings(value: Any, param: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InvalidRequestError(f"{param} must be a list of non-empty strings", param=param)
    return tuple(value)


def _int(value: Any, param: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(f"{param} must be an integer", param=param)
    return value


def _number(value: Any, param: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequestError(f"{param} must be a number", param=param)
    return float(value)


def _bool(value: Any, param: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequestError(f"{param} must be true or false", param=param)
    return value


def _parser(field: Field) -> Callable[[Any, str], Any]:
    """The type check of one licence field, chosen by its schema in ``LICENCE`` (the ranges are
    the licence rules')."""
    kinds: tuple[tuple[type, Callable[[Any, str], Any]], ...] = (
        (Text, _text),
        (Integer, _int),
        (Number, _number),
        (Flag, _bool),
        (Array, _strings),
    )
    for kind, parser in kinds:
        if isinstance(field.schema, kind):
            return parser
    raise TypeError(f"no parser for licence field {field.name}")


_PARSERS: dict[str, Callable[[Any, str], Any]] = {f.name: _parser(f) for f in LICENCE.fields}
