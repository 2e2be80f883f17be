"""labs.google: the NextAuth session (session cookie → access token), tRPC projects, media redirects.

Only the cookie named exactly ``__Secure-next-auth.session-token`` signs a caller in. tRPC
procedures answer errors in tRPC's own envelope (``{"error": {"json": {message, code, data}}}``),
the shape a Next.js tRPC server sends; the media redirect answers Google-style errors.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from aiohttp import web

from gateway.simulator.call import Call, Route
from gateway.simulator.errors import GoogleError, invalid, json_reply, not_found
from gateway.simulator.timeline import SUCCESSFUL

TRPC = "/fx/api/trpc"
URL_TYPES = ("MEDIA_URL_TYPE_FULL_MEDIA", "MEDIA_URL_TYPE_THUMBNAIL")
TRPC_CODES = {400: ("BAD_REQUEST", -32600), 401: ("UNAUTHORIZED", -32001), 404: ("NOT_FOUND", -32004)}


class TrpcError(GoogleError):
    """A tRPC procedure's error: ``{"error": {"json": {"message", "code", "data": {...}}}}``."""

    def __init__(self, http: int, message: str, *, path: str) -> None:
        super().__init__(http, TRPC_CODES[http][0], message)
        self.path = path

    def response(self) -> web.Response:
        """The tRPC error envelope."""
        name, code = TRPC_CODES[self.http]
        data = {"code": name, "httpStatus": self.http, "path": self.path}
        doc = {"error": {"json": {"message": self.message, "code": code, "data": data}}}
        return web.Response(body=orjson.dumps(doc), status=self.http, content_type="application/json")


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
        raise TrpcError(401, "UNAUTHORIZED", path=call.request.path.rsplit("/", 1)[-1])


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
        raise TrpcError(400, "projectTitle and toolName PINHOLE are required", path="project.createProject")
    project_id = call.world.new_project(call.owner)
    return json_reply({"result": {"data": {"json": {"result": {"projectId": project_id}, "status": 200}}}})


async def delete_project(call: Call) -> web.StreamResponse:
    """tRPC ``project.deleteProject``."""
    _signed_in(call)
    inner = (await call.body()).get("json")
    project_id = inner.get("projectToDeleteId") if isinstance(inner, dict) else None
    if project_id not in call.owner.projects:
        raise TrpcError(404, "Project not found", path="project.deleteProject")
    call.owner.projects.discard(str(project_id))
    return json_reply({"result": {"data": {"json": {"status": 200}}}})


async def warm_up(call: Call) -> web.StreamResponse:
    """The web client's warm-up calls: 200 ``{}``."""
    del call
    return json_reply({})


async def media_redirect(call: Call) -> web.StreamResponse:
    """``media.getMediaUrlRedirect``: 302 to the signed URL of the account's media.

    ``MEDIA_URL_TYPE_FULL_MEDIA`` is the only type flow2api uses; ``MEDIA_URL_TYPE_THUMBNAIL`` (a
    video's poster JPEG) is the simulator's guess at a second one (open question 9).
    """
    _signed_in(call)
    query = call.request.query
    url_type = query.get("mediaUrlType")
    if url_type not in URL_TYPES:
        raise invalid(f"Invalid value at 'media_url_type' ({url_type!r})")
    media = call.world.media.get(query.get("name", ""))
    if media is None or media.owner != call.owner.spec.session_token or media.kind not in ("video", "image"):
        raise not_found()
    if media.kind == "video" and call.video_status(media) != SUCCESSFUL:
        raise not_found("Media is not ready.")
    folder = "video" if media.kind == "video" and url_type == "MEDIA_URL_TYPE_FULL_MEDIA" else "image"
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
