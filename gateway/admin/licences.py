"""``/admin/licences`` and ``/admin/audit``: manage client licences, read the audit trail.

Handlers translate HTTP to the licence book and back; the rules (and the audit entries) live in
the book. A key and a webhook secret appear once, in the answer that made them; listings show a
hint of the key and never its hash or the secret.
"""

from __future__ import annotations

import time

from aiohttp import web

from gateway import keys
from gateway.admin.licence_schemas import parse_flag, parse_licence, parse_rotation
from gateway.admin.render import json_response, render_audit_entry, render_licence
from gateway.errors import InvalidRequestError
from gateway.service.licence_book import IssuedLicence

MAX_PAGE = 1000
ID = "licence_id"


async def _json_body(request: web.Request) -> object:
    """The JSON body; None when there is none (a rotation takes its defaults)."""
    if not request.body_exists:
        return None
    try:
        return await request.json()
    except ValueError:
        raise InvalidRequestError("the body must be JSON", code="invalid_json") from None


def _int_query(request: web.Request, name: str, default: int, *, low: int, high: int) -> int:
    raw = request.query.get(name, str(default))
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:  # "²".isdigit()
        raise InvalidRequestError(f"{name} must be an integer from {low} to {high}", param=name)
    return int(raw)


def _issued(issued: IssuedLicence) -> dict[str, object]:
    doc = render_licence(issued.licence, now=time.time())
    doc["key"] = issued.key
    if issued.webhook_secret:
        doc["webhook_secret"] = issued.webhook_secret
    return doc


async def list_licences(request: web.Request) -> web.Response:
    """``GET /admin/licences?enabled=&revoked=&limit=&after=`` (oldest first, cursor by id)."""
    limit = _int_query(request, "limit", 100, low=1, high=MAX_PAGE)
    enabled = parse_flag(request.query.get("enabled"), param="enabled")
    revoked = parse_flag(request.query.get("revoked"), param="revoked")
    after = request.query.get("after")
    now, rows = time.time(), []
    seen_cursor = after is None
    for licence in await request.app[keys.LICENCE_BOOK].licences():
        if not seen_cursor:
            seen_cursor = licence.id == after
            continue
        if enabled is not None and licence.enabled != enabled:
            continue
        if revoked is not None and bool(licence.revoked_at) != revoked:
            continue
        rows.append(render_licence(licence, now=now))
        if len(rows) > limit:
            break
    page = rows[:limit]
    doc = {
        "object": "list",
        "data": page,
        "has_more": len(rows) > limit,
        "last_id": page[-1]["id"] if page else None,
    }
    return json_response(doc)


async def create_licence(request: web.Request) -> web.Response:
    """``POST /admin/licences``: 201 with the licence, its ``key`` and ``webhook_secret`` (shown once)."""
    issued = await request.app[keys.LICENCE_BOOK].create(parse_licence(await _json_body(request)))
    return json_response(_issued(issued), status=201)


async def get_licence(request: web.Request) -> web.Response:
    """``GET /admin/licences/{id}``."""
    licence = await request.app[keys.LICENCE_BOOK].get(request.match_info[ID])
    return json_response(render_licence(licence, now=time.time()))


async def update_licence(request: web.Request) -> web.Response:
    """``PATCH /admin/licences/{id}``: the fields given change, the others stay."""
    wanted = parse_licence(await _json_body(request))
    licence = await request.app[keys.LICENCE_BOOK].update(request.match_info[ID], wanted)
    return json_response(render_licence(licence, now=time.time()))


async def revoke_licence(request: web.Request) -> web.Response:
    """``DELETE /admin/licences/{id}``: revokes (the row stays, for its usage history)."""
    licence = await request.app[keys.LICENCE_BOOK].revoke(request.match_info[ID])
    return json_response(render_licence(licence, now=time.time()))


async def rotate_licence(request: web.Request) -> web.Response:
    """``POST /admin/licences/{id}/rotate`` ``{"grace_seconds"?, "webhook_secret"?: true}``: a new key."""
    rotation = parse_rotation(await _json_body(request))
    issued = await request.app[keys.LICENCE_BOOK].rotate(request.match_info[ID], rotation)
    return json_response(_issued(issued))


async def enable_licence(request: web.Request) -> web.Response:
    """``POST /admin/licences/{id}/enable``."""
    licence = await request.app[keys.LICENCE_BOOK].set_enabled(request.match_info[ID], enabled=True)
    return json_response(render_licence(licence, now=time.time()))


async def disable_licence(request: web.Request) -> web.Response:
    """``POST /admin/licences/{id}/disable``: its key answers 403 ``licence_disabled`` at once."""
    licence = await request.app[keys.LICENCE_BOOK].set_enabled(request.match_info[ID], enabled=False)
    return json_response(render_licence(licence, now=time.time()))


async def list_audit(request: web.Request) -> web.Response:
    """``GET /admin/audit?after=&limit=&target=``: entries oldest first; page on with ``after`` = the
    last ``seq`` seen."""
    after = _int_query(request, "after", 0, low=0, high=2**62)
    limit = _int_query(request, "limit", 100, low=1, high=MAX_PAGE)
    entries = await request.app[keys.AUDIT].entries(
        after=after, limit=limit + 1, target=request.query.get("target", "")
    )
    page = entries[:limit]
    return json_response(
        {
            "object": "list",
            "data": [render_audit_entry(e) for e in page],
            "has_more": len(entries) > limit,
            "last_seq": page[-1].seq if page else after,
        }
    )
