"""labs.google: the NextAuth session (session cookie → access token), tRPC projects, media redirects."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from gateway.simulator.call import Call, Route
from gateway.simulator.errors import GoogleError, invalid, json_reply, not_found
from gateway.simulator.timeline import SUCCESSFUL, video_status

TRPC = "/fx/api/trpc"


async def session(call: Call) -> web.StreamResponse:
    """NextAuth ``/auth/session``: ``{}`` for a missing, unknown or revoked session (as NextAuth does)."""
    if call.account is None:
        return json_reply({})
    if (
        call.account.migrated
    ):  # since ~2026-09-11 labs answers 308 to flow.google.com (flow-migration.md §1.1)
        return web.Response(status=308, headers={"Location": "https://flow.google.com/"})
    token, expires = call.world.access_token_for(call.account)
    email = call.account.spec.email
    return json_reply(
        {
            "user": {
                "name": email.split("@")[0],
                "email": email,
                "image": "https://lh3.googleusercontent.com/a/sim",
            },
            "expires": datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "access_token": token,
        }
    )


def _signed_in(call: Call) -> None:
    if call.account is None:
        raise _unauthorized()


def _unauthorized() -> GoogleError:
    return GoogleError(401, "UNAUTHENTICATED", "UNAUTHORIZED")


async def create_project(call: Call) -> web.StreamResponse:
    """tRPC ``project.createProject``."""
    _signed_in(call)
    body = await call.body()
    inner = body.get("json")
    if (
        not isinstance(inner, dict)
        or inner.get("toolName") != "PINHOLE"
        or not isinstance(inner.get("projectTitle"), str)
    ):
        raise invalid("projectTitle and toolName PINHOLE are required")
    project_id = call.world.new_project(call.owner)
    return json_reply({"result": {"data": {"json": {"result": {"projectId": project_id}, "status": 200}}}})


async def delete_project(call: Call) -> web.StreamResponse:
    """tRPC ``project.deleteProject``."""
    _signed_in(call)
    body = await call.body()
    project_id = (body.get("json") or {}).get("projectToDeleteId")
    call.owner.projects.discard(call.world.require_project(call.owner, project_id))
    return json_reply({"result": {"data": {"json": {"status": 200}}}})


async def warm_up(call: Call) -> web.StreamResponse:
    """The web client's warm-up calls: 200 ``{}``."""
    del call
    return json_reply({})


async def media_redirect(call: Call) -> web.StreamResponse:
    """``media.getMediaUrlRedirect``: 302 to the signed URL of the account's media."""
    _signed_in(call)
    query = call.request.query
    media = call.world.media.get(query.get("name", ""))
    if query.get("mediaUrlType") != "MEDIA_URL_TYPE_FULL_MEDIA":
        raise invalid("mediaUrlType must be MEDIA_URL_TYPE_FULL_MEDIA")
    if media is None or media.owner != call.owner.spec.session_token or media.kind not in ("video", "image"):
        raise not_found()
    if media.kind == "video" and video_status(media, call.world.config) != SUCCESSFUL:
        raise not_found("Media is not ready.")
    folder = "video" if media.kind == "video" else "image"
    path = f"/{folder}/{media.name}"
    return web.Response(
        status=302, headers={"Location": f"{call.origin()}{path}?{call.world.signed_query(path)}"}
    )


ROUTES = (
    Route("GET", "/fx/api/auth/session", "auth.session", "cookie", session),
    Route("POST", f"{TRPC}/project.createProject", "project.create", "cookie", create_project),
    Route("POST", f"{TRPC}/project.deleteProject", "project.delete", "cookie", delete_project),
    Route("GET", f"{TRPC}/general.fetchUserPreferences", "warmup", "none", warm_up),
    Route("GET", f"{TRPC}/videoFx.getFlowAppConfig", "warmup", "none", warm_up),
    Route("GET", f"{TRPC}/videoFx.getUserSettings", "warmup", "none", warm_up),
    Route("POST", f"{TRPC}/general.submitBatchLog", "warmup", "none", warm_up),
    Route("GET", f"{TRPC}/media.getMediaUrlRedirect", "media.redirect", "cookie", media_redirect),
)
