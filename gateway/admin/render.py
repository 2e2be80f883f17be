"""Admin JSON: account views with their secrets masked (a hint, never the value)."""

from __future__ import annotations

from typing import Any

import orjson
import yarl
from aiohttp import web

from gateway.domain import AccountDefinition, AuditEntry, LicenceDefinition
from gateway.licensing import licence_status
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


def render_licence(licence: LicenceDefinition, *, now: float) -> dict[str, object]:
    """One licence for the admin API and the CLI: its limits and state, never its key's hash or its
    webhook secret (the key appears as a hint; rotation shows only when the old key stops)."""
    return {
        "id": licence.id,
        "object": "flow.licence",
        "name": licence.name,
        "owner": licence.owner,
        "notes": licence.notes,
        "key_hint": licence.key_hint,
        "status": licence_status(licence, now),
        "enabled": licence.enabled,
        "expires_at": licence.expires_at or None,
        "revoked_at": licence.revoked_at or None,
        "previous_key_until": licence.previous_key_until if licence.previous_key_until > now else None,
        "models": list(licence.models),
        "groups": list(licence.groups),
        "default_group": licence.default_group,
        "rpm": licence.rpm,
        "max_concurrency": licence.max_concurrency,
        "daily_images": licence.daily_images,
        "daily_videos": licence.daily_videos,
        "daily_credits": licence.daily_credits,
        "monthly_credits": licence.monthly_credits,
        "progress": licence.progress,
        "webhook_url": licence.webhook_url,
        "priority": licence.priority,
        "source": licence.source,
        "created_at": licence.created_at,
        "updated_at": licence.updated_at,
    }


def render_audit_entry(entry: AuditEntry) -> dict[str, object]:
    """One audit entry (already free of secrets: the audit trail wrote it so)."""
    return {
        "object": "flow.audit_entry",
        "seq": entry.seq,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "before": entry.before,
        "after": entry.after,
    }
