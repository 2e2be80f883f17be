"""Admin JSON: account views with their secrets masked (a hint, never the value)."""

from __future__ import annotations

from typing import Any

import orjson
import yarl
from aiohttp import web

from gateway.domain import AccountDefinition
from gateway.pool.records import AccountView


def json_response(doc: Any, *, status: int = 200) -> web.Response:
    """An ``application/json`` response (orjson)."""
    return web.Response(body=orjson.dumps(doc), status=status, content_type="application/json")


def secret_hint(value: str) -> str:
    """Enough of a credential to tell two apart, never enough to use: ``eyJh…x9Qw``."""
    if not value:
        return ""
    return f"{value[:4]}…{value[-4:]}" if len(value) >= 24 else "***"


def masked_proxy(value: str) -> str:
    """A proxy URL with its password replaced."""
    if not value:
        return ""
    url = yarl.URL(value)
    return str(url.with_password("***")) if url.password else value


def render_account(definition: AccountDefinition, view: AccountView | None) -> dict[str, object]:
    """One account for the admin API: what was declared, and what the pool knows now."""
    doc: dict[str, object] = {
        "id": definition.id,
        "object": "flow.account",
        "kind": definition.kind.value,
        "label": definition.label,
        "session_token": secret_hint(definition.secret.reveal()),
        "worker_key": definition.worker_key,
        "groups": list(definition.groups),
        "weight": definition.weight,
        "proxy": masked_proxy(definition.proxy),
        "limits": {"image": definition.image_concurrency, "video": definition.video_concurrency},
        "rpm": definition.rpm,
        "daily": {"images": definition.daily_images, "videos": definition.daily_videos},
        "declared_tier": definition.tier or None,
        "enabled": definition.enabled,
        "source": definition.source,
        "created_at": definition.created_at,
        "updated_at": definition.updated_at,
    }
    if view is None:
        doc["state"] = "unknown"
        return doc
    doc.update(
        state=view.state,
        reason=view.reason,
        since=view.since,
        cooldown_until=view.cooldown_until or None,
        tier=view.tier,
        credits=view.credits,
        email=view.email,
        inflight=view.inflight,
        usage=view.usage,
        refused=view.refused,
        models=list(view.models) if view.models is not None else None,
        catalogue_problems=list(view.catalogue_problems),
    )
    return doc
