"""The route table: every public route, under the canonical base (``/flow``) and at the root."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.api import chat, health, images, media, models, usage, video_followups, videos, workers

API_ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("POST", "/v1/chat/completions", chat.chat_completions),
    ("POST", "/v1/images/generations", images.create_image),
    ("POST", "/v1/images/edits", images.edit_image),
    ("GET", "/v1/images/{task_id}", images.get_image_task),
    ("POST", "/v1/videos", videos.create_video),
    ("GET", "/v1/videos", videos.list_videos),
    ("POST", "/v1/videos/extensions", video_followups.extend_video),
    ("POST", "/v1/videos/edits", video_followups.edit_video),
    ("GET", "/v1/videos/{video_id}", videos.get_video),
    ("DELETE", "/v1/videos/{video_id}", videos.delete_video),
    ("GET", "/v1/videos/{video_id}/content", videos.video_content),
    ("HEAD", "/v1/videos/{video_id}/content", videos.video_content),
    ("POST", "/v1/videos/{video_id}/remix", videos.remix_video),
    ("GET", "/v1/models", models.list_models),
    ("GET", "/v1/models/{model_id}", models.get_model),
    ("GET", "/v1/media/{media_id}", media.get_media),
    ("HEAD", "/v1/media/{media_id}", media.get_media),
    ("GET", "/v1/flow-worker", workers.worker_socket),
    ("GET", "/v1/usage", usage.get_usage),
    ("GET", "/v1/licence", usage.get_licence),
)
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json"})


def add_routes(app: web.Application, *, base_path: str) -> None:
    """Register the API under ``base_path`` and at the root, plus the licence-free probes."""
    prefixes = [""] if not base_path else [base_path, ""]
    app[models.LISTINGS] = {}
    for prefix in prefixes:
        for method, path, handler in API_ROUTES:
            app.router.add_route(method, prefix + path, handler)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)


def is_licence_exempt(request: web.Request) -> bool:
    """Probes, metrics, the OpenAPI document, the worker socket (its own secret) and signed media
    URLs need no licence."""
    if request.path in EXEMPT_PATHS or request.path.endswith("/v1/flow-worker"):
        return True
    return "/v1/media/" in request.path and media.is_signed(request)
