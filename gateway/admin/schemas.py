"""Wire → domain for the admin API: account bodies and import files, validated field by field.

Every field is type-checked here and named in the error (``param``); rules that hold for every
path (CLI included), such as "a REST account needs a session token", live in the account book.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yarl

from gateway.admin.bodies import ACCOUNT, ACCOUNT_IMPORT, GROUP, MAX_SECRET
from gateway.domain import AccountKind
from gateway.errors import InvalidRequestError
from gateway.service.account_book import AccountInput
from gateway.wire import Field, Flag, Integer, Number, Text

_GROUP = re.compile(GROUP.pattern or "")
PROXY_SCHEMES = frozenset({"http", "https", "socks5", "socks5h"})


def parse_account(doc: Any, *, where: str = "") -> AccountInput:
    """An account object (POST /admin/accounts, PATCH, one entry of an import)."""
    if not isinstance(doc, dict):
        raise InvalidRequestError("an account must be a JSON object", param=where or None)
    values: dict[str, Any] = {}
    for name, value in doc.items():
        parser = _PARSERS.get(name)
        if parser is None:
            raise InvalidRequestError(
                f"Unknown parameter: '{name}'.", param=where + name, code="unknown_parameter"
            )
        if value is not None:
            values[name] = parser(value, where + name)
    if "proxy" in values:
        check_proxy(values["proxy"], param=where + "proxy")
    return AccountInput(**values)


def parse_import(doc: Any) -> list[AccountInput]:
    """``{"accounts": [...], "defaults": {...}}``: each entry on top of the defaults."""
    if not isinstance(doc, dict) or not isinstance(doc.get("accounts"), list):
        raise InvalidRequestError('the body must be {"accounts": [...]}', param="accounts")
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise InvalidRequestError("defaults must be an object", param="defaults")
    unknown = set(doc) - ACCOUNT_IMPORT.names
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidRequestError(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
    parse_account(defaults, where="defaults.")
    return [
        parse_account({**defaults, **entry} if isinstance(entry, dict) else entry, where=f"accounts[{i}].")
        for i, entry in enumerate(doc["accounts"])
    ]


def parse_lines(text: str, *, kind: AccountKind, defaults: AccountInput) -> list[AccountInput]:
    """A file of session tokens (``kind=worker``: worker account keys), one per line; ``#`` comments."""
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if len(line) > MAX_SECRET or any(c.isspace() for c in line):
            raise InvalidRequestError(f"line {number} is not a single credential", param=f"line {number}")
        credential = {"session_token": line} if kind is AccountKind.REST else {"worker_key": line}
        out.append(_with_defaults(defaults, kind=kind, **credential))
    return out


def _with_defaults(defaults: AccountInput, **fields: Any) -> AccountInput:
    values = {name: getattr(defaults, name) for name in defaults.__slots__}
    values.update(fields)
    return AccountInput(**values)


def parse_groups(value: Any, *, param: str) -> tuple[str, ...]:
    """Groups as a list of names or a comma-separated string."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(g, str) for g in items):
        raise InvalidRequestError("groups must be a list of names", param=param)
    groups = tuple(g.strip().lower() for g in items if g.strip())
    for group in groups:
        if not _GROUP.match(group):
            raise InvalidRequestError(f"invalid group {group!r} (a-z, 0-9, _ and -, up to 32)", param=param)
    return groups


def check_proxy(value: str, *, param: str) -> None:
    """A proxy URL the client session accepts (or empty for none)."""
    if not value:
        return
    url = yarl.URL(value)
    if url.scheme not in PROXY_SCHEMES or not url.host:
        raise InvalidRequestError(
            "proxy must be a URL such as http://user:pass@host:port (http, https, socks5)", param=param
        )


def parse_kind(value: Any, *, param: str = "kind") -> AccountKind:
    """``rest`` or ``worker``."""
    return _kind(value, param)


def _kind(value: Any, param: str) -> AccountKind:
    try:
        return AccountKind(value)
    except ValueError:
        raise InvalidRequestError("kind must be 'rest' or 'worker'", param=param) from None


def _string(value: Any, param: str, *, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidRequestError(f"{param} must be a string of at most {limit} characters", param=param)
    return value.strip()


def _int(value: Any, param: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(f"{param} must be an integer", param=param)
    return value


def _weight(value: Any, param: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequestError(f"{param} must be a number", param=param)
    return float(value)


def _bool(value: Any, param: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequestError(f"{param} must be true or false", param=param)
    return value


def _groups(value: Any, param: str) -> tuple[str, ...]:
    return parse_groups(value, param=param)


def _parser(field: Field) -> Callable[[Any, str], Any]:
    """The type check of one account field, chosen by its schema in ``ACCOUNT``."""
    special: dict[str, Callable[[Any, str], Any]] = {"kind": _kind, "groups": _groups}
    if field.name in special:
        return special[field.name]
    schema = field.schema
    if isinstance(schema, Text):
        limit = schema.max_length or MAX_SECRET
        return lambda value, param: _string(value, param, limit=limit)
    if isinstance(schema, Integer):
        return _int
    if isinstance(schema, Number):
        return _weight
    if isinstance(schema, Flag):
        return _bool
    raise TypeError(f"no parser for account field {field.name}")


_PARSERS: dict[str, Callable[[Any, str], Any]] = {f.name: _parser(f) for f in ACCOUNT.fields}
