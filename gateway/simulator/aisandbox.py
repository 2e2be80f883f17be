"""aisandbox-pa: credits, uploads, image generation and upsampling (flow-protocol.md §3, §5, §6).

Strict on purpose: wrong enums, foreign projects or media, malformed bodies and missing or
replayed reCAPTCHA tokens are refused the way Flow refuses them.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import secrets
import uuid
from typing import Any

from aiohttp import web
from PIL import Image, UnidentifiedImageError

from gateway.simulator.call import Call, Route
from gateway.simulator.errors import GoogleError, invalid, json_reply, tier_refused
from gateway.simulator.render import pixel_size, render_jpeg
from gateway.simulator.state import Media

PUBLIC_API_KEY = "AIzaSyBtrm0o5ab1c-Ec8ZuLcGt3oJAA5VWt3pY"
IMAGE_MODELS = {"NARWHAL", "GEM_PIX_2", "IMAGEN_3_5"}
ASPECTS = {
    "IMAGE_ASPECT_RATIO_LANDSCAPE",
    "IMAGE_ASPECT_RATIO_PORTRAIT",
    "IMAGE_ASPECT_RATIO_SQUARE",
    "IMAGE_ASPECT_RATIO_LANDSCAPE_FOUR_THREE",
    "IMAGE_ASPECT_RATIO_PORTRAIT_THREE_FOUR",
}
IMAGEN_ASPECTS = {"IMAGE_ASPECT_RATIO_LANDSCAPE", "IMAGE_ASPECT_RATIO_PORTRAIT"}
INPUT_TYPES = {"IMAGE_INPUT_TYPE_REFERENCE", "IMAGE_INPUT_TYPE_BASE"}
UPSAMPLE = {
    "UPSAMPLE_IMAGE_RESOLUTION_2K": (2, "PAYGATE_TIER_ONE"),
    "UPSAMPLE_IMAGE_RESOLUTION_4K": (4, "PAYGATE_TIER_TWO"),
}
TIER_RANK = {"PAYGATE_TIER_NOT_PAID": 0, "PAYGATE_TIER_ONE": 1, "PAYGATE_TIER_TWO": 2}
MIMES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG", "image/webp": b"RIFF", "image/gif": b"GIF8"}
SESSION_ID = re.compile(r"^;\d{13}$")
MAX_UPLOAD = 25 * 1024 * 1024


def check_context(call: Call, ctx: Any, *, captcha_action: str | None) -> str:
    """Validate a ``clientContext``; returns its project id. Consumes the token when one is required."""
    if not isinstance(ctx, dict) or ctx.get("tool") != "PINHOLE":
        raise invalid("clientContext.tool must be PINHOLE")
    if not isinstance(ctx.get("sessionId"), str) or not SESSION_ID.match(ctx["sessionId"]):
        raise invalid("clientContext.sessionId must be ';' followed by the time in milliseconds")
    project_id = call.world.require_project(call.owner, ctx.get("projectId"))
    if captcha_action is not None:
        recaptcha = ctx.get("recaptchaContext")
        if not isinstance(recaptcha, dict):
            call.world.consume_token(None, action=captcha_action, user_agent=call.user_agent())
        elif recaptcha.get("applicationType") != "RECAPTCHA_APPLICATION_TYPE_WEB":
            raise invalid("recaptchaContext.applicationType must be RECAPTCHA_APPLICATION_TYPE_WEB")
    return project_id


def take_token(call: Call, contexts: list[Any], action: str) -> None:
    """Every context must carry the same token; it is verified and used up once."""
    tokens = {_token_in(c) for c in contexts}
    call.token_present = any(tokens)
    if len(tokens) != 1:
        raise GoogleError(
            403,
            "PERMISSION_DENIED",
            "reCAPTCHA evaluation failed",
            reason="PUBLIC_ERROR_SOMETHING_WENT_WRONG",
        )
    call.world.consume_token(tokens.pop(), action=action, user_agent=call.user_agent())
    call.token_ok = True


def _token_in(ctx: Any) -> object:
    recaptcha = ctx.get("recaptchaContext") if isinstance(ctx, dict) else None
    return recaptcha.get("token") if isinstance(recaptcha, dict) else None


async def credits(call: Call) -> web.StreamResponse:
    """``GET /v1/credits``."""
    return json_reply({"credits": call.owner.credits, "userPaygateTier": call.owner.spec.tier})


async def check_app(call: Call) -> web.StreamResponse:
    """``POST /v1:checkAppAvailability``: needs the web client's public API key."""
    if call.request.headers.get("x-goog-api-key") != PUBLIC_API_KEY:
        raise GoogleError(403, "PERMISSION_DENIED", "The request is missing a valid API key.")
    ctx = (await call.body()).get("clientContext")
    if not isinstance(ctx, dict) or ctx.get("tool") != "PINHOLE":
        raise invalid("clientContext.tool must be PINHOLE")
    return json_reply({})


def matches_mime(data: bytes, mime: str) -> bool:
    """True when the bytes' magic number is that of ``mime`` (WebP: RIFF....WEBP)."""
    if mime == "image/webp":
        return data.startswith(b"RIFF") and data[8:12] == b"WEBP"
    return data.startswith(MIMES[mime])


def image_size(data: bytes) -> tuple[int, int]:
    """Pixel size of an uploaded image, or 400 when Pillow cannot read it."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError):
        raise invalid("imageBytes is not a decodable image") from None


def decode_upload(encoded: Any, mime: Any) -> bytes:
    """Strict base64 of a decodable image whose magic bytes agree with ``mimeType``."""
    if not isinstance(encoded, str) or encoded.startswith("data:") or mime not in MIMES:
        raise invalid("imageBytes must be raw base64 and mimeType a supported image type")
    if len(encoded) > MAX_UPLOAD * 4 // 3:
        raise GoogleError(413, "INVALID_ARGUMENT", "Request payload size exceeds the limit.")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise invalid("imageBytes is not valid base64") from None
    if not matches_mime(data, mime):
        raise invalid("imageBytes does not match mimeType")
    image_size(data)
    return data


async def upload(call: Call) -> web.StreamResponse:
    """``POST /v1/flow/uploadImage``."""
    body = await call.body()
    project_id = check_context(call, body.get("clientContext"), captcha_action=None)
    data = decode_upload(body.get("imageBytes"), body.get("mimeType"))
    if not isinstance(body.get("fileName"), str) or body.get("isUserUploaded") is not True:
        raise invalid("fileName and isUserUploaded are required")
    media = call.world.add_media(
        Media(str(uuid.uuid4()), "upload", call.owner.spec.session_token, project_id, data=data)
    )
    return json_reply({"media": {"name": media.name, "projectId": project_id}})


async def upload_legacy(call: Call) -> web.StreamResponse:
    """``POST /v1:uploadUserImage`` (ASSET_MANAGER, no project)."""
    body = await call.body()
    ctx, image = body.get("clientContext"), body.get("imageInput")
    if not isinstance(ctx, dict) or ctx.get("tool") != "ASSET_MANAGER" or not isinstance(image, dict):
        raise invalid("clientContext.tool must be ASSET_MANAGER and imageInput is required")
    if not isinstance(ctx.get("sessionId"), str) or not SESSION_ID.match(ctx["sessionId"]):
        raise invalid("clientContext.sessionId must be ';' followed by the time in milliseconds")
    if image.get("aspectRatio", "IMAGE_ASPECT_RATIO_LANDSCAPE") not in ASPECTS:
        raise invalid(f"Invalid value at 'image_input.aspect_ratio' ({image.get('aspectRatio')!r})")
    data = decode_upload(image.get("rawImageBytes"), image.get("mimeType"))
    width, height = image_size(data)
    name = "CAMa" + base64.urlsafe_b64encode(uuid.uuid4().bytes + secrets.token_bytes(8)).decode().rstrip("=")
    call.world.add_media(Media(name, "upload", call.owner.spec.session_token, "", data=data))
    return json_reply({"mediaGenerationId": {"mediaGenerationId": name}, "width": width, "height": height})


def _check_item(call: Call, item: Any, project_id: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise invalid("requests[] entries must be objects")
    model, aspect = item.get("imageModelName"), item.get("imageAspectRatio")
    if model not in IMAGE_MODELS:
        raise invalid(f"Invalid value at 'requests[0].image_model_name' ({model!r})")
    if aspect not in (IMAGEN_ASPECTS if model == "IMAGEN_3_5" else ASPECTS):
        raise invalid(f"Invalid value at 'requests[0].image_aspect_ratio' ({aspect!r})")
    parts = (
        (item.get("structuredPrompt") or {}).get("parts")
        if isinstance(item.get("structuredPrompt"), dict)
        else None
    )
    if (
        not isinstance(parts, list)
        or not parts
        or not all(isinstance(p, dict) and isinstance(p.get("text"), str) for p in parts)
    ):
        raise invalid("structuredPrompt.parts[].text is required")
    if not isinstance(item.get("seed"), int):
        raise invalid("seed must be an integer")
    for ref in item.get("imageInputs") or []:
        if not isinstance(ref, dict) or ref.get("imageInputType") not in INPUT_TYPES:
            raise invalid("imageInputs[].imageInputType is invalid")
        call.world.owned_media(call.owner, ref.get("name"), ("upload", "image"))
    if check_context(call, item.get("clientContext"), captcha_action="IMAGE_GENERATION") != project_id:
        raise invalid("requests[].clientContext.projectId must match the project")
    return item


async def generate_images(call: Call) -> web.StreamResponse:
    """``projects/{pid}/flowMedia:batchGenerateImages``: one image per request entry, synchronous."""
    body = await call.body()
    project_id = call.world.require_project(call.owner, call.request.match_info["project_id"])
    if check_context(call, body.get("clientContext"), captcha_action="IMAGE_GENERATION") != project_id:
        raise invalid("clientContext.projectId must match the URL")
    batch = body.get("mediaGenerationContext")
    if (
        not isinstance(batch, dict)
        or not isinstance(batch.get("batchId"), str)
        or body.get("useNewMedia") is not True
    ):
        raise invalid("mediaGenerationContext.batchId and useNewMedia: true are required")
    requests = body.get("requests")
    if not isinstance(requests, list) or not 1 <= len(requests) <= 4:
        raise invalid("requests must hold 1 to 4 entries")
    items = [_check_item(call, r, project_id) for r in requests]
    take_token(call, [body["clientContext"], *(i.get("clientContext") for i in items)], "IMAGE_GENERATION")
    call.world.spend(call.owner, call.world.config.image_credits * len(items))
    return json_reply(
        {
            "media": [_generated(call, item, project_id) for item in items],
            "workflows": [{"name": str(uuid.uuid4()), "projectId": project_id}],
        }
    )


def _generated(call: Call, item: dict[str, Any], project_id: str) -> dict[str, Any]:
    prompt = " ".join(p["text"] for p in item["structuredPrompt"]["parts"])
    media = call.world.add_media(
        Media(
            str(uuid.uuid4()),
            "image",
            call.owner.spec.session_token,
            project_id,
            aspect=item["imageAspectRatio"],
            prompt=prompt,
            seed=item["seed"],
            model=item["imageModelName"],
        )
    )
    width, height = pixel_size(media.aspect, scale=call.world.config.image_scale)
    path = f"/image/{media.name}"
    return {
        "name": media.name,
        "projectId": project_id,
        "image": {
            "generatedImage": {
                "fifeUrl": f"{call.origin()}{path}?{call.world.signed_query(path)}",
                "seed": media.seed,
                "mediaGenerationId": media.name,
                "prompt": prompt,
                "modelNameType": media.model,
                "width": width,
                "height": height,
            }
        },
    }


async def upsample_image(call: Call) -> web.StreamResponse:
    """``/v1/flow/upsampleImage``: base64 JPEG at 2x (2K, Pro+) or 4x (4K, Ultra)."""
    body = await call.body()
    ctx = body.get("clientContext")
    project_id = check_context(call, ctx, captcha_action="IMAGE_GENERATION")
    assert isinstance(ctx, dict)  # check_context refused anything else
    if ctx.get("userPaygateTier") != call.owner.spec.tier:
        raise invalid("clientContext.userPaygateTier does not match the account")
    target = UPSAMPLE.get(body.get("targetResolution"))  # type: ignore[arg-type]
    if target is None:
        raise invalid(f"Invalid value at 'target_resolution' ({body.get('targetResolution')!r})")
    media = call.world.owned_media(call.owner, body.get("mediaId"), ("image",))
    if media.project_id != project_id:
        raise invalid("clientContext.projectId is not the project of mediaId")
    take_token(call, [ctx], "IMAGE_GENERATION")
    if TIER_RANK[call.owner.spec.tier] < TIER_RANK[target[1]]:
        raise tier_refused()
    size = pixel_size(media.aspect, scale=call.world.config.image_scale, factor=target[0])
    data = render_jpeg(size, prompt=media.prompt, seed=media.seed)
    return json_reply({"encodedImage": base64.b64encode(data).decode()})


ROUTES = (
    Route("GET", "/v1/credits", "credits", "bearer", credits),
    Route("POST", "/v1:checkAppAvailability", "app.check", "none", check_app),
    Route("POST", "/v1/flow/uploadImage", "upload", "bearer", upload),
    Route("POST", "/v1:uploadUserImage", "upload", "bearer", upload_legacy),
    Route(
        "POST",
        "/v1/projects/{project_id}/flowMedia:batchGenerateImages",
        "images.generate",
        "bearer",
        generate_images,
        generation=True,
    ),
    Route("POST", "/v1/flow/upsampleImage", "images.upsample", "bearer", upsample_image, generation=True),
)
