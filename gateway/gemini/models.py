"""``GET models`` (Gemini API) and ``GET publishers/google/models`` (Vertex AI).

The list holds Google's names for the models the pool can serve now (one page: the list is short;
``pageSize`` and ``pageToken`` are accepted). One model is found by Google's name or by ours, and
says which methods serve it here.
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.api.render import json_response
from gateway.catalog import ModelInfo
from gateway.domain import Kind
from gateway.gemini.names import NAMES, GoogleName
from gateway.gemini.render import INDENTED

METHODS = {
    Kind.IMAGE: ["generateContent", "streamGenerateContent", "predict"],
    Kind.VIDEO: ["predictLongRunning"],
}


def _described(request: web.Request, model: str) -> tuple[GoogleName | None, ModelInfo]:
    """Google's name (if it is one) and the catalogue entry behind ``model``; 404 for neither."""
    known = request.app[NAMES].get(model)
    catalog = request.app[keys.CATALOG]
    return known, catalog.get(known.base if known else catalog.resolve(model).model)


def _developer(name: str, known: GoogleName | None, info: ModelInfo) -> dict[str, object]:
    return {
        "name": f"models/{name}",
        "version": "flow",
        "displayName": known.display if known else info.id,
        "description": info.description,
        "supportedGenerationMethods": METHODS[info.kind],
    }


def _publisher(name: str, known: GoogleName | None, info: ModelInfo) -> dict[str, object]:
    return {
        "name": f"publishers/google/models/{name}",
        "versionId": "flow",
        "openSourceCategory": "PROPRIETARY",
        "displayName": known.display if known else info.id,
        "description": info.description,
        "supportedActions": METHODS[info.kind],
    }


def _listed(request: web.Request) -> list[tuple[GoogleName, ModelInfo]]:
    servable = request.app[keys.AVAILABILITY].servable()
    catalog = request.app[keys.CATALOG]
    return [(n, catalog.get(n.base)) for n in request.app[NAMES].servable(servable)]


async def list_models(request: web.Request) -> web.Response:
    """The Gemini API's ``models.list``."""
    models = [_developer(n.name, n, info) for n, info in _listed(request)]
    return json_response({"models": models}, option=INDENTED)


async def get_model(request: web.Request) -> web.Response:
    """The Gemini API's ``models.get``."""
    model = request.match_info["model"]
    return json_response(_developer(model, *_described(request, model)), option=INDENTED)


async def list_publisher_models(request: web.Request) -> web.Response:
    """Vertex AI's publisher models."""
    models = [_publisher(n.name, n, info) for n, info in _listed(request)]
    return json_response({"publisherModels": models}, option=INDENTED)


async def get_publisher_model(request: web.Request) -> web.Response:
    """One Vertex AI publisher model."""
    model = request.match_info["model"]
    return json_response(_publisher(model, *_described(request, model)), option=INDENTED)
