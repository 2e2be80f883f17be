"""The response objects of the OpenAI surface: what the renderers answer, described for the
OpenAPI document. Contract tests validate real answers against these shapes (closed objects: a
field added to a renderer and not here fails them), so the description cannot drift.
"""

from __future__ import annotations

from gateway.domain import Kind, TaskStatus
from gateway.wire import AnyValue, Array, Either, Field, Flag, Integer, MapOf, Number, Schema, Shape, Text

STRING, INT, NUMBER, FLAG = Text(), Integer(), Number(), Flag()


def req(name: str, schema: Schema, description: str = "", *, nullable: bool = False) -> Field:
    """A field always present (``nullable``: its value may be ``null``)."""
    return Field(name, schema, description, required=True, nullable=nullable)


def const(name: str, value: str) -> Field:
    """A field always present with one value (an ``object`` tag)."""
    return Field(name, Text(enum=(value,)), required=True)


OPENAI_ERROR = Shape(
    "Error",
    "OpenAI's error envelope (every non-Google route): the SDKs read ``error.message``, ``code`` "
    "and ``param``.",
    (
        req(
            "error",
            Shape(
                "ErrorBody",
                "What went wrong.",
                (
                    req("message", STRING),
                    req("type", STRING, "``invalid_request_error``, ``permission_error``, ``requests``, ..."),
                    req("param", STRING, "The offending parameter.", nullable=True),
                    req("code", STRING, "api.md §6 lists the codes.", nullable=True),
                ),
            ),
        ),
    ),
)
TASK_ERROR = Shape("TaskError", "Why a task failed.", (req("code", STRING), req("message", STRING)))
VIDEO = Shape(
    "Video",
    "OpenAI's ``Video`` object, answered from the gateway's own task state.",
    (
        req("id", STRING),
        const("object", "video"),
        req("model", STRING),
        req("status", Text(enum=tuple(TaskStatus))),
        req("progress", Integer(0, 100)),
        req("created_at", INT),
        req("completed_at", INT, nullable=True),
        req("expires_at", INT, nullable=True),
        req("prompt", STRING),
        req("seconds", STRING),
        req("size", STRING),
        req("remixed_from_video_id", STRING, nullable=True),
        req("error", TASK_ERROR, nullable=True),
        req(
            "mode",
            Text(enum=("text", "frames", "references", "extend", "edit")),
            "Our extra field: what the video was made from.",
        ),
        Field("notice", STRING, "A completed video's caveat (e.g. an upscale that could not run)."),
    ),
)
VIDEO_LIST = Shape(
    "VideoList",
    "The caller's videos, a page at a time.",
    (
        const("object", "list"),
        req("data", Array(VIDEO)),
        req("first_id", STRING, nullable=True),
        req("last_id", STRING, nullable=True),
        req("has_more", FLAG),
    ),
)
VIDEO_DELETED = Shape(
    "VideoDeleted",
    "A deleted video.",
    (req("id", STRING), const("object", "video.deleted"), req("deleted", FLAG)),
)
IMAGE = Shape(
    "Image",
    "One image: ``b64_json`` or ``url`` (a signed URL of this gateway), as ``response_format`` asked.",
    (
        Field("b64_json", STRING),
        Field("url", Text(format="uri")),
        req("revised_prompt", STRING, nullable=True),
    ),
)
IMAGES_USAGE = Shape(
    "ImagesUsage",
    "What the request spent: Flow credits (no tokens are counted).",
    (
        req("input_tokens", INT),
        req(
            "input_tokens_details",
            Shape("ImagesUsageDetails", "Always 0.", (req("image_tokens", INT), req("text_tokens", INT))),
        ),
        req("output_tokens", INT),
        req("total_tokens", INT),
        req("flow_credits", INT, "Our field: Flow credits charged."),
    ),
)
IMAGES_RESPONSE = Shape(
    "ImagesResponse",
    "OpenAI's ``ImagesResponse``.",
    (
        req("created", INT),
        req("data", Array(IMAGE)),
        req("output_format", Text(enum=("png", "jpeg", "webp")), "What Flow rendered."),
        Field("usage", IMAGES_USAGE, "Absent when an ``Idempotency-Key`` replays an earlier answer."),
    ),
)
IMAGE_TASK = Shape(
    "ImageTask",
    "Our extension: an asynchronous image order (``async: true``), its images once completed.",
    (
        req("id", STRING),
        const("object", "image.task"),
        req("model", STRING),
        req("status", Text(enum=tuple(TaskStatus))),
        req("progress", Integer(0, 100)),
        req("created_at", INT),
        req("completed_at", INT, nullable=True),
        req("prompt", STRING),
        req("error", TASK_ERROR, nullable=True),
        Field("data", Array(IMAGE), "Once completed."),
    ),
)
MODEL = Shape(
    "Model",
    "OpenAI's ``Model``, with what it needs and takes.",
    (
        req("id", STRING),
        const("object", "model"),
        req("created", INT),
        req("owned_by", STRING),
        req("kind", Text(enum=tuple(Kind))),
        req("description", STRING),
        req("tier", STRING, "The Flow tier it needs."),
        req("credits", INT, "Flow credits per generation at its defaults."),
        req("available", FLAG, "Whether the pool can serve it now."),
        req(
            "parameters",
            MapOf(
                Shape(
                    "ModelParameter",
                    "A parameter family's values and default.",
                    (req("values", Array(STRING)), req("default", STRING, nullable=True)),
                )
            ),
        ),
    ),
)
MODEL_VARIANT = Shape(
    "ModelVariant",
    "A ready-made variant (``veo_3_1-landscape-fast``) or an alias (``gpt-image-1``).",
    (
        *(f for f in MODEL.fields if f.name != "parameters"),
        req("variant_of", STRING, "The base model."),
        req("resolves_to", STRING, "The full name it stands for."),
        Field("alias_of", STRING, "The name an alias stands for."),
    ),
)
MODEL_LIST = Shape(
    "ModelList",
    "The models and variants the pool can serve now (``?all=true``: the whole catalogue).",
    (const("object", "list"), req("data", Array(Either((MODEL, MODEL_VARIANT))))),
)
CHAT_USAGE = Shape(
    "ChatUsage",
    "Flow credits spent (no tokens are counted).",
    (
        req("prompt_tokens", INT),
        req("completion_tokens", INT),
        req("total_tokens", INT),
        req("flow_credits", INT),
    ),
)
CHAT_MESSAGE = Shape(
    "ChatCompletionMessage",
    "The result: markdown images, or a ``<video>`` tag and a link.",
    (
        const("role", "assistant"),
        req("content", STRING),
        req("refusal", STRING, nullable=True),
        req("annotations", Array(AnyValue())),
    ),
)
CHAT_COMPLETION = Shape(
    "ChatCompletion",
    "A finished chat completion (not streamed).",
    (
        req("id", STRING),
        const("object", "chat.completion"),
        req("created", INT),
        req("model", STRING),
        req(
            "choices",
            Array(
                Shape(
                    "ChatChoice",
                    "One choice (one task).",
                    (
                        req("index", INT),
                        req("message", CHAT_MESSAGE),
                        req("logprobs", AnyValue(), nullable=True),
                        req("finish_reason", STRING),
                    ),
                )
            ),
        ),
        req("usage", CHAT_USAGE),
        req("system_fingerprint", STRING, nullable=True),
    ),
)
_LIMITS = ("rpm", "max_concurrency", "daily_images", "daily_videos", "daily_credits", "monthly_credits")
_REMAINING = (
    "requests_this_minute",
    "concurrency",
    "images_today",
    "videos_today",
    "credits_today",
    "credits_this_month",
)
HOLDER_LICENCE = Shape(
    "Licence",
    "Our extension (``GET /v1/licence``): the caller's licence, its limits (0: none) and what is left.",
    (
        const("object", "licence"),
        req("id", STRING),
        req("name", STRING),
        req("owner", STRING),
        req("expires_at", INT, nullable=True),
        req("enabled", FLAG),
        req("models", Array(STRING)),
        req("groups", Array(STRING)),
        req("default_group", STRING, nullable=True),
        req("priority", INT),
        req("progress", STRING, nullable=True),
        req("webhook_url", STRING, nullable=True),
        req("limits", Shape("LicenceLimits", "0 is no limit.", tuple(req(n, INT) for n in _LIMITS))),
        req(
            "used",
            Shape(
                "LicenceUsed",
                "Used so far in this day, month and minute.",
                (
                    req("day", STRING),
                    req("images_today", INT),
                    req("videos_today", INT),
                    req("credits_today", INT),
                    req("month", STRING),
                    req("credits_this_month", INT),
                    req("in_progress", INT),
                    req("requests_this_minute", INT),
                ),
            ),
        ),
        req(
            "remaining",
            Shape(
                "LicenceRemaining",
                "null where there is no limit.",
                tuple(req(n, INT, nullable=True) for n in _REMAINING),
            ),
        ),
        req("rate_limit_reset", NUMBER, "Seconds until the minute's window resets.", nullable=True),
    ),
)
MEASURES = ("requests", "images", "videos", "succeeded", "failed", "credits", "reserved")
USAGE_ROW = Shape(
    "UsageRow",
    "One group's sums, after its key fields (those of ``group_by``).",
    tuple(req(m, INT) for m in MEASURES),
    open=True,
)
_REPORT = (
    const("object", "list"),
    req("group_by", Array(STRING)),
    req("since", NUMBER),
    req("until", NUMBER, nullable=True),
    req("data", Array(USAGE_ROW)),
)
USAGE_REPORT = Shape(
    "UsageReport",
    "Our extension (``GET /v1/usage``): the caller's own usage, summed by group.",
    (*_REPORT, req("licence_id", STRING)),
)
USAGE_TOTALS = Shape("UsageTotals", "Usage summed by group (any licence).", _REPORT)
HEALTH = Shape("Health", "Liveness.", (req("status", Text(enum=("ok",))),))
READY = Shape(
    "Readiness",
    "Readiness: the store answers and some account can serve (503 otherwise, same body).",
    (
        req("status", Text(enum=("ready", "not_ready"))),
        req("store", FLAG),
        req("accounts_serving", INT),
        Field(
            "upstream_incident",
            MapOf(AnyValue()),
            "Most accounts failing together (does not make it unready).",
        ),
    ),
)
