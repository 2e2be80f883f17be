"""``GET /v1/models`` and ``GET /v1/models/{id}``: the catalogue with capability metadata.

The list holds what the pool can serve right now (``?all=true``: the whole catalogue); each model
says whether it is ``available``.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from gateway import keys
from gateway.api.render import json_response
from gateway.catalog import ModelInfo

CREATED = 1_760_000_000  # a fixed timestamp: the catalogue is data, it has no creation date of its own
# Rendered lists by (all?, the servable set): the set changes only when accounts do, and rendering
# the catalogue was a tenth of this route's cost. Registered with the routes (add_routes).
LISTINGS = web.AppKey("gateway.api.model_listings", dict[tuple[bool, frozenset[str]], bytes])
MAX_LISTINGS = 16


def render_model(info: ModelInfo, *, available: bool) -> dict[str, object]:
    """One OpenAI ``Model`` plus our capability fields."""
    return {
        "id": info.id,
        "object": "model",
        "created": CREATED,
        "owned_by": "google-flow",
        "kind": info.kind.value,
        "description": info.description,
        "tier": info.tier.label,
        "credits": info.credits,
        "available": available,
        "parameters": {p.name: {"values": list(p.values), "default": p.default} for p in info.parameters},
    }


async def list_models(request: web.Request) -> web.Response:
    """The models the pool can serve now (every model with ``?all=true``)."""
    servable = request.app[keys.AVAILABILITY].servable()
    everything = request.query.get("all", "").lower() in ("1", "true")
    listings = request.app[LISTINGS]
    body = listings.get((everything, servable))
    if body is None:
        data = [
            render_model(m, available=m.id in servable)
            for m in request.app[keys.CATALOG].models()
            if everything or m.id in servable
        ]
        if len(listings) >= MAX_LISTINGS:
            listings.clear()
        body = listings[everything, servable] = orjson.dumps({"object": "list", "data": data})
    return web.Response(body=body, content_type="application/json")


async def get_model(request: web.Request) -> web.Response:
    """One model, or 404 ``model_not_found``."""
    info = request.app[keys.CATALOG].get(request.match_info["model_id"])
    return json_response(render_model(info, available=info.id in request.app[keys.AVAILABILITY].servable()))
