"""``POST /v1/videos/extensions`` and ``POST /v1/videos/edits``: a new video from a completed one.

As the OpenAI SDKs send them (multipart with ``video[id]``; JSON ``{"video": {"id"}}`` too). The source
must be a completed video of the caller's licence; Flow continues or edits only clips it made, so an
uploaded video file is refused with a message saying what to send instead.
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.api.admission import gate_of
from gateway.api.forms import Form, limits_of, read_form
from gateway.api.images import header_groups
from gateway.api.render import json_response
from gateway.api.video_schemas import (
    UPLOAD_REFUSED,
    FollowUpParams,
    parse_edit_request,
    parse_extension_request,
)
from gateway.api.videos import POLL_HEADER, render_video
from gateway.api.webhooks import webhook_url_of
from gateway.domain import TaskRecord
from gateway.errors import InvalidRequestError
from gateway.service.video_followups import FollowUp


async def extend_video(request: web.Request) -> web.Response:
    """``POST /v1/videos/extensions``: a continuation of a completed (Veo) video."""
    params = parse_extension_request(form := await _read(request))
    record = await request.app[keys.VIDEO_FOLLOWUPS].extend(await _ask(request, params, form))
    return _queued(request, record)


async def edit_video(request: web.Request) -> web.Response:
    """``POST /v1/videos/edits``: a completed video reworked by a prompt (Omni Flash's edit)."""
    params = parse_edit_request(form := await _read(request))
    record = await request.app[keys.VIDEO_FOLLOWUPS].edit(await _ask(request, params, form))
    return _queued(request, record)


async def _read(request: web.Request) -> Form:
    try:
        return await read_form(request, limits_of(request))
    except InvalidRequestError as exc:
        # A file part named ``video`` is an upload (the form reader takes only images, and says so
        # naming the part): say what this route wants instead.
        if exc.param == "video":
            raise InvalidRequestError(
                UPLOAD_REFUSED, param="video", code="unsupported_video_upload"
            ) from None
        raise


async def _ask(request: web.Request, params: FollowUpParams, form: Form) -> FollowUp:
    return FollowUp(
        params.video_id,
        request[keys.LICENCE].id,
        params.prompt,
        model=params.model,
        seconds=params.seconds,
        groups=header_groups(request),
        gate=gate_of(request),
        webhook_url=await webhook_url_of(request, form),
    )


def _queued(request: web.Request, record: TaskRecord) -> web.Response:
    """The new video, queued: with the poll hint, as ``POST /v1/videos`` answers."""
    headers = {POLL_HEADER: str(request.app[keys.SETTINGS].tasks.poll_after_ms)}
    return json_response(render_video(request, record), headers=headers)
