"""``GET /v1/models`` and ``GET /v1/models/{id}``: the catalogue with capability metadata.

The list holds what the pool can serve right now (``?all=true``: the whole catalogue): the base
models, then the catalogue's ready-made variants (``veo_3_1-landscape-fast``), each with the tier and
credits it needs; each says whether it is ``available``. ``GET /v1/models/{id}`` also answers for any
name that resolves (a variant, or an alias such as ``gpt-image-1``, with ``alias_of``).
"""

from __future__ import annotations

import orjson
from aiohttp import web

from gateway import keys
from gateway.api.render import json_response
from gateway.catalog import Catalog, ModelInfo
from gateway.domain import GenerationSpec
from gateway.errors import GatewayError, ModelNotFoundError

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


def render_variant(name: str, spec: GenerationSpec, info: ModelInfo, *, available: bool) -> dict[str, object]:
    """A ready-made variant (or an alias): what it resolves to, and the tier and credits it needs."""
    return {
        "id": name,
        "object": "model",
        "created": CREATED,
        "owned_by": "google-flow",
        "kind": info.kind.value,
        "description": info.description,
        "tier": spec.tier.label,
        "credits": spec.credits,
        "available": available,
        "variant_of": info.id,
        "resolves_to": spec.name,
    }


def _listing(catalog: Catalog, servable: frozenset[str], *, everything: bool) -> list[dict[str, object]]:
    data = [
        render_model(m, available=m.id in servable)
        for m in catalog.models()
        if everything or m.id in servable
    ]
    data.extend(
        render_variant(spec.name, spec, catalog.get(spec.model), available=spec.name in servable)
        for spec in catalog.variants()
        if everything or spec.name in servable
    )
    return data


async def list_models(request: web.Request) -> web.Response:
    """The models and listed variants the pool can serve now (all of them with ``?all=true``)."""
    servable = request.app[keys.AVAILABILITY].servable()
    everything = request.query.get("all", "").lower() in ("1", "true")
    listings = request.app[LISTINGS]
    body = listings.get((everything, servable))
    if body is None:
        data = _listing(request.app[keys.CATALOG], servable, everything=everything)
        if len(listings) >= MAX_LISTINGS:
            listings.clear()
        body = listings[everything, servable] = orjson.dumps({"object": "list", "data": data})
    return web.Response(body=body, content_type="application/json")


async def get_model(request: web.Request) -> web.Response:
    """One model, variant or alias, or 404 ``model_not_found``."""
    name, catalog = request.match_info["model_id"], request.app[keys.CATALOG]
    availability = request.app[keys.AVAILABILITY]
    if name in (m.id for m in catalog.models()):
        info = catalog.get(name)
        return json_response(render_model(info, available=info.id in availability.servable()))
    try:
        spec = catalog.resolve(name)
    except GatewayError:
        raise ModelNotFoundError(f"The model `{name}` does not exist.", param="model") from None
    doc = render_variant(name, spec, catalog.get(spec.model), available=availability.serves(spec))
    alias = catalog.unalias(name)
    if alias != name:
        doc["alias_of"] = alias
    return json_response(doc)
