"""Structural patterns of Flow's positional JSON, and the skeleton of a value (for logs).

A pattern is a transcribed example in which every concrete value stands for its type: a string
matches any string, an integer any integer (never a boolean), ``null`` only ``null``, a list a list
of the same length whose slots match in turn. A few markers say what a transcription cannot:

- ``"$any"``: any value in that slot (the sources did not show it, or it varies);
- ``"$rest"`` as a list's last element: more slots may follow, unchecked;
- ``["$each", P]``: a list of one or more values, each matching ``P`` (records, rows);
- ``{"$opt": P}``: ``null`` or a value matching ``P``;
- ``{"$either": [P1, P2, ...]}``: a value matching one of the alternatives.

``sample(pattern)`` turns a pattern back into a concrete value (markers resolved to their first
reading) so that the codec can be fed exactly what the evidence shows. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

ANY, REST, EACH, OPT, EITHER = "$any", "$rest", "$each", "$opt", "$either"


def mismatch(value: object, pattern: object, path: str = "$") -> str | None:
    """Where ``value`` first departs from ``pattern`` (a JSON-path-like string), or None when it fits."""
    if pattern == ANY:
        return None
    if isinstance(pattern, dict):
        return _marker(value, pattern, path)
    if isinstance(pattern, list):
        return _list(value, pattern, path)
    if _kind(value) != _kind(pattern):
        return f"{path}: expected {_kind(pattern)}, got {_kind(value)}"
    return None


def matches(value: object, pattern: object) -> bool:
    """True when ``value`` has the structure ``pattern`` describes."""
    return mismatch(value, pattern) is None


def sample(pattern: object) -> object:
    """A concrete value of the pattern's shape: markers resolved, example values kept."""
    if pattern == ANY:
        return None
    if isinstance(pattern, dict):
        if OPT in pattern:
            return sample(pattern[OPT])
        return sample(pattern[EITHER][0])
    if isinstance(pattern, list):
        if pattern[:1] == [EACH]:
            return [sample(pattern[1])]
        return [sample(p) for p in pattern if p != REST]
    return pattern


def skeleton(value: object) -> object:
    """``value`` with every leaf replaced by its type name: safe to log (no ids, prompts or URLs)."""
    if isinstance(value, list):
        return [skeleton(v) for v in value]
    if isinstance(value, dict):
        return {"obj": len(value)}
    return None if value is None else _kind(value)


def _marker(value: object, pattern: dict[str, Any], path: str) -> str | None:
    if OPT in pattern:
        return None if value is None else mismatch(value, pattern[OPT], path)
    if EITHER in pattern:
        found = [mismatch(value, alternative, path) for alternative in pattern[EITHER]]
        return None if None in found else found[0]
    raise ValueError(f"unknown pattern marker {sorted(pattern)} at {path}")


def _list(value: object, pattern: list[Any], path: str) -> str | None:
    if not isinstance(value, list):
        return f"{path}: expected list, got {_kind(value)}"
    if pattern[:1] == [EACH]:
        if not value:
            return f"{path}: expected at least one element"
        return next((m for i, v in enumerate(value) if (m := mismatch(v, pattern[1], f"{path}[{i}]"))), None)
    open_ended = bool(pattern) and pattern[-1] == REST
    fixed = pattern[:-1] if open_ended else pattern
    if len(value) < len(fixed) or (not open_ended and len(value) > len(fixed)):
        return f"{path}: expected {len(fixed)}{'+' if open_ended else ''} elements, got {len(value)}"
    return next((m for i, p in enumerate(fixed) if (m := mismatch(value[i], p, f"{path}[{i}]"))), None)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    return "object"
