"""Wire shapes of the legacy REST upstream (labs.google tRPC + aisandbox-pa), flow-protocol.md §1-§6.

Pure functions: build request bodies from domain values, parse response documents into domain
values. No I/O, no retries, no knowledge of accounts or leases. A reply missing what we need
raises :class:`UpstreamProtocolError`.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.domain import Aspect, GeneratedImage, ImageData, ImageResolution, Secret, Tier, UpstreamMedia
from gateway.upstream.flow.errors import UpstreamProtocolError
from gateway.upstream.flow.transport import AccountInfo, ImageGenerationRequest

TOOL = "PINHOLE"
APPLICATION_TYPE = "RECAPTCHA_APPLICATION_TYPE_WEB"
IMAGE_ASPECTS = {
    Aspect.LANDSCAPE: "IMAGE_ASPECT_RATIO_LANDSCAPE",
    Aspect.PORTRAIT: "IMAGE_ASPECT_RATIO_PORTRAIT",
    Aspect.SQUARE: "IMAGE_ASPECT_RATIO_SQUARE",
    Aspect.LANDSCAPE_4_3: "IMAGE_ASPECT_RATIO_LANDSCAPE_FOUR_THREE",
    Aspect.PORTRAIT_3_4: "IMAGE_ASPECT_RATIO_PORTRAIT_THREE_FOUR",
}
UPSAMPLE_TARGETS = {
    ImageResolution.R2K: "UPSAMPLE_IMAGE_RESOLUTION_2K",
    ImageResolution.R4K: "UPSAMPLE_IMAGE_RESOLUTION_4K",
}

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A Bearer for aisandbox-pa, with its expiry (unix seconds) and the account's e-mail."""

    token: Secret
    expires_at: float
    email: str


def new_session_id(now_ms: int) -> str:
    """Flow's ``sessionId``: a semicolon and the unix time in milliseconds."""
    return f";{now_ms}"


def client_context(
    *, session_id: str, project_id: str, token: str | None = None, tier: Tier | None = None
) -> JSON:
    """The ``clientContext`` block; with ``token`` for generation-class calls, ``tier`` for upsample/video."""
    ctx: JSON = {}
    if token is not None:
        ctx["recaptchaContext"] = {"token": token, "applicationType": APPLICATION_TYPE}
    ctx.update({"sessionId": session_id, "projectId": project_id, "tool": TOOL})
    if tier is not None:
        ctx["userPaygateTier"] = tier.value
    return ctx


def build_generate_images(request: ImageGenerationRequest, ctx: JSON) -> JSON:
    """Body of ``flowMedia:batchGenerateImages`` (one request: one image)."""
    item: JSON = {
        "clientContext": ctx,
        "seed": request.seed,
        "imageModelName": request.upstream_model,
        "imageAspectRatio": IMAGE_ASPECTS[request.aspect],
        "structuredPrompt": {"parts": [{"text": request.prompt}]},
        "imageInputs": [
            {"name": media.name, "imageInputType": "IMAGE_INPUT_TYPE_REFERENCE"} for media in request.inputs
        ],
    }
    return {
        "clientContext": ctx,
        "mediaGenerationContext": {"batchId": str(uuid.uuid4())},
        "useNewMedia": True,
        "requests": [item],
    }


def parse_generated_images(doc: object, project_id: str) -> list[GeneratedImage]:
    """``media[].name`` and ``media[].image.generatedImage.fifeUrl`` of a generation reply."""
    media = _get(doc, "media")
    if not isinstance(media, list) or not media:
        raise UpstreamProtocolError("images.generate: reply has no media", endpoint="images.generate")
    images = []
    for item in media:
        name = _get(item, "name")
        url = _get(item, "image", "generatedImage", "fifeUrl")
        if not isinstance(name, str) or not isinstance(url, str):
            raise UpstreamProtocolError(
                "images.generate: media without name or fifeUrl", endpoint="images.generate"
            )
        pid = _get(item, "projectId")
        images.append(
            GeneratedImage(UpstreamMedia(name, pid if isinstance(pid, str) else project_id), url=url)
        )
    return images


def build_upload(image: ImageData, *, session_id: str, project_id: str, now_ms: int) -> JSON:
    """Body of ``/v1/flow/uploadImage``."""
    ext = "png" if "png" in image.mime else "jpg"
    return {
        "clientContext": {"sessionId": session_id, "tool": TOOL, "projectId": project_id},
        "fileName": f"gateway_upload_{now_ms}.{ext}",
        "imageBytes": base64.b64encode(image.data).decode("ascii"),
        "isHidden": False,
        "isUserUploaded": True,
        "mimeType": image.mime,
    }


def parse_upload(doc: object, project_id: str) -> UpstreamMedia:
    """The media name of an upload reply (object or list form, or the legacy mediaGenerationId)."""
    media = _get(doc, "media")
    if isinstance(media, list):
        media = media[0] if media else None
    name = _get(media, "name")
    if not isinstance(name, str):
        name = _get(doc, "mediaGenerationId", "mediaGenerationId")
    if not isinstance(name, str) or not name:
        raise UpstreamProtocolError("upload: reply has no media name", endpoint="upload")
    pid = _get(media, "projectId")
    return UpstreamMedia(name, pid if isinstance(pid, str) else project_id)


def build_upsample(media: UpstreamMedia, resolution: ImageResolution, ctx: JSON) -> JSON:
    """Body of ``/v1/flow/upsampleImage``."""
    return {"mediaId": media.name, "targetResolution": UPSAMPLE_TARGETS[resolution], "clientContext": ctx}


def parse_upsample(doc: object) -> bytes:
    """The decoded ``encodedImage`` of an upsample reply."""
    encoded = _get(doc, "encodedImage")
    if not isinstance(encoded, str) or not encoded:
        raise UpstreamProtocolError("images.upsample: reply has no encodedImage", endpoint="images.upsample")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise UpstreamProtocolError(
            "images.upsample: encodedImage is not base64", endpoint="images.upsample"
        ) from None


def parse_session(doc: object) -> AccessToken | None:
    """The NextAuth session: None when it has no ``access_token`` (a dead session answers ``{}``)."""
    token = _get(doc, "access_token")
    if not isinstance(token, str) or not token or _get(doc, "error") is not None:
        return None
    expires = _get(doc, "expires")
    try:
        expires_at = datetime.fromisoformat(str(expires).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise UpstreamProtocolError("auth.session: unparseable expires", endpoint="auth.session") from None
    email = _get(doc, "user", "email")
    return AccessToken(Secret(token), expires_at, email if isinstance(email, str) else "")


def parse_credits(doc: object) -> AccountInfo:
    """Credits and tier; an unknown tier string is treated as free (as flow2api does)."""
    credits = _get(doc, "credits")
    tier_name = _get(doc, "userPaygateTier")
    try:
        tier = Tier(str(tier_name))
    except ValueError:
        tier = Tier.FREE
    return AccountInfo(credits if isinstance(credits, int) else 0, tier)


def build_create_project(title: str) -> JSON:
    """Body of tRPC ``project.createProject``."""
    return {"json": {"projectTitle": title, "toolName": TOOL}}


def parse_create_project(doc: object) -> str:
    """The new project's id."""
    pid = _get(doc, "result", "data", "json", "result", "projectId")
    if not isinstance(pid, str) or not pid:
        raise UpstreamProtocolError("project.create: reply has no projectId", endpoint="project.create")
    return pid


def _get(doc: object, *path: str) -> object:
    """Walk nested dicts; None as soon as a step is missing or not a dict."""
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc
