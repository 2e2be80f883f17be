"""``/admin/accounts``: list, add, import, change, disable, enable and remove Flow accounts.

Handlers translate HTTP to the account registry and back; the rules live in the registry and the
account book. Secrets are accepted here and never returned (listings show a hint).
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.admin.render import json_response, render_account
from gateway.admin.schemas import parse_account, parse_groups, parse_import, parse_kind, parse_lines
from gateway.errors import InvalidRequestError
from gateway.service.account_book import AccountInput

MAX_PAGE = 1000
MAX_IMPORT_BYTES = 8 * 1024 * 1024


async def _json_body(request: web.Request) -> object:
    try:
        return await request.json()
    except ValueError:
        raise InvalidRequestError("the body must be JSON", code="invalid_json") from None


def _page_size(request: web.Request) -> int:
    raw = request.query.get("limit", "100")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE:  # "²".isdigit()
        raise InvalidRequestError(f"limit must be from 1 to {MAX_PAGE}", param="limit")
    return int(raw)


async def list_accounts(request: web.Request) -> web.Response:
    """``GET /admin/accounts?state=&kind=&group=&limit=&after=`` (oldest first, cursor by id)."""
    registry, pool = request.app[keys.ACCOUNTS], request.app[keys.POOL]
    limit, after = _page_size(request), request.query.get("after")
    state, kind, group = (request.query.get(k) for k in ("state", "kind", "group"))
    if kind:
        parse_kind(kind)  # an unknown kind is a 400, not an empty page
    rows = []
    seen_cursor = after is None
    for definition in await registry.book.definitions():
        if not seen_cursor:
            seen_cursor = definition.id == after
            continue
        view = pool.table.view(definition.id)
        if (kind and definition.kind.value != kind) or (group and group not in definition.groups):
            continue
        if state and (view.state if view else "unknown") != state:
            continue
        rows.append(render_account(definition, view))
        if len(rows) > limit:
            break
    page = rows[:limit]
    return json_response(
        {
            "object": "list",
            "data": page,
            "has_more": len(rows) > limit,
            "last_id": page[-1]["id"] if page else None,
        }
    )


async def get_account(request: web.Request) -> web.Response:
    """``GET /admin/accounts/{id}``."""
    definition = await request.app[keys.ACCOUNTS].book.get(request.match_info["account_id"])
    return json_response(render_account(definition, request.app[keys.POOL].table.view(definition.id)))


async def add_account(request: web.Request) -> web.Response:
    """``POST /admin/accounts``: one account; 201 with its view (state ``refreshing`` until verified)."""
    registry = request.app[keys.ACCOUNTS]
    view = await registry.add(parse_account(await _json_body(request)))
    definition = await registry.book.get(view.id)
    return json_response(render_account(definition, view), status=201)


async def change_account(request: web.Request) -> web.Response:
    """``PATCH /admin/accounts/{id}``: the fields given change, the others stay."""
    registry = request.app[keys.ACCOUNTS]
    wanted = parse_account(await _json_body(request))
    view = await registry.change(request.match_info["account_id"], wanted)
    return json_response(render_account(await registry.book.get(view.id), view))


async def disable_account(request: web.Request) -> web.Response:
    """``POST /admin/accounts/{id}/disable``."""
    return await _set_enabled(request, enabled=False)


async def enable_account(request: web.Request) -> web.Response:
    """``POST /admin/accounts/{id}/enable``: also re-examines a ``needs_relogin`` or ``disabled`` verdict."""
    return await _set_enabled(request, enabled=True)


async def _set_enabled(request: web.Request, *, enabled: bool) -> web.Response:
    registry = request.app[keys.ACCOUNTS]
    view = await registry.set_enabled(request.match_info["account_id"], enabled=enabled)
    return json_response(render_account(await registry.book.get(view.id), view))


async def remove_account(request: web.Request) -> web.Response:
    """``DELETE /admin/accounts/{id}``."""
    definition = await request.app[keys.ACCOUNTS].remove(request.match_info["account_id"])
    return json_response({"id": definition.id, "object": "flow.account.deleted", "deleted": True})


async def import_accounts(request: web.Request) -> web.Response:
    """``POST /admin/accounts/import``: JSON ``{"accounts": [...], "defaults": {...}}``, or a text
    file of credentials (one per line) with ``?kind=rest|worker&groups=a,b``."""
    if request.content_length is not None and request.content_length > MAX_IMPORT_BYTES:
        raise InvalidRequestError("the import is larger than 8 MiB; split it", code="payload_too_large")
    if request.content_type == "application/json":
        wanted = parse_import(await _json_body(request))
    else:
        kind = parse_kind(request.query.get("kind", "rest"))
        groups = parse_groups(request.query.get("groups", ""), param="groups")
        wanted = parse_lines(await request.text(), kind=kind, defaults=AccountInput(groups=groups))
    if not wanted:
        raise InvalidRequestError("the import holds no account", param="accounts")
    result = await request.app[keys.ACCOUNTS].import_many(wanted)
    return json_response(
        {"object": "flow.account.import", "added": list(result.added), "skipped": list(result.skipped)}
    )


async def list_workers(request: web.Request) -> web.Response:
    """``GET /admin/workers``: connected browser workers, their accounts and refusal counts."""
    return json_response({"object": "list", "data": request.app[keys.WORKERS].connected()})


async def pool_summary(request: web.Request) -> web.Response:
    """``GET /admin/pool``: accounts by state, waiting requests, picks and outcomes."""
    pool = request.app[keys.POOL]
    states: dict[str, int] = {}
    for view in pool.table.snapshot():
        states[view.state] = states.get(view.state, 0) + 1
    return json_response(
        {
            "accounts": states,
            "waiting": pool.waiting,
            "waits": pool.waits,
            "picks": dict(pool.picks),
            "outcomes": dict(pool.table.outcomes),
            "cooldowns": pool.table.cooldowns,
        }
    )
