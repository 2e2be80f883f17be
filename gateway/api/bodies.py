"""What the OpenAI routes' bodies may hold: images, videos (and their follow-ups) and chat.

The parsers (``schemas``, ``video_schemas``, ``chat_schemas``) read their accepted names, required
fields, enums and bounds from these shapes; ``gateway.openapi`` publishes the same shapes. JSON
bodies are described as JSON; the multipart form of the same body is derived (values as text,
images as file parts).
"""

from __future__ import annotations

from gateway.domain import ResponseFormat
from gateway.wire import AnyValue, Array, Binary, Either, Field, Flag, Integer, Shape, Text, Use

MAX_PROMPT_CHARS = 32_000
MAX_IMAGES_PER_REQUEST = 4  # ``n``: images per request (and chat choices)
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
PROMPT = Field(
    "prompt",
    Text(min_length=1, max_length=MAX_PROMPT_CHARS, pattern=r"\S"),
    "What to make (not blank; at most 32,000 characters).",
    required=True,
)
N = Field(
    "n",
    Either((Integer(1, MAX_IMAGES_PER_REQUEST), Text(pattern=rf"^\s*\+?[1-{MAX_IMAGES_PER_REQUEST}]\s*$"))),
    "How many (1 to 4; a form sends it as text).",
)
MODEL_EXAMPLES = ("nano_banana_pro", "imagen_4", "veo_3_1", "gpt-image-1", "sora-2")
WEBHOOK_URL = Field(
    "webhook_url",
    Text(min_length=1, format="uri"),
    "Our extension: where the task is reported when it ends (an absolute http(s) URL); "
    "only on requests that make a task.",
)
USER = Field("user", AnyValue(), "OpenAI's end-user id.", use=Use.IGNORED)
METADATA = Field("metadata", AnyValue(), use=Use.IGNORED)
IMAGE_URL = Shape(
    "ImageUrl",
    "An image by URL.",
    (Field("url", Text(min_length=1), required=True),),
    open=True,
    absent_if_null=True,
)
IMAGE_REFERENCE = Shape(
    "ImageReference",
    "An input image: exactly one of ``image_url`` (a URL, a data URL or base64) and ``file_id`` "
    "(the id of a result of this gateway).",
    (
        Field("image_url", Either((Text(min_length=1), IMAGE_URL))),
        Field("file_id", Text(min_length=1)),
    ),
    open=True,
    absent_if_null=True,
)

_IMAGE_COMMON = (
    PROMPT,
    Field("model", Text(min_length=1, examples=MODEL_EXAMPLES), "A model, variant or alias.", required=True),
    N,
    Field("size", Text(), "``1024x1024``, ``1536x1024``, an aspect (``16:9``) or ``auto``."),
    Field("quality", Text(), "``standard``, ``hd``, ``2K``, ``4K`` where the model has them."),
    Field(
        "response_format",
        Text(enum=tuple(ResponseFormat)),
        "``b64_json`` (default) or ``url`` (a signed URL of this gateway).",
    ),
    Field("background", Text(), "``transparent`` is refused (Flow renders opaque images)."),
    Field("moderation", AnyValue(), use=Use.IGNORED),
    Field("output_compression", AnyValue(), use=Use.IGNORED),
    Field(
        "output_format",
        Text(enum=("png", "jpeg", "jpg", "webp")),
        "Accepted for OpenAI clients (``jpg``: this gateway's earlier spelling of ``jpeg``); Flow renders "
        "its own format and the response's ``output_format`` says which.",
    ),
    Field("style", AnyValue(), use=Use.IGNORED),
    USER,
    Field("stream", Either((Flag(), Text())), "``true`` is refused: stream with chat completions."),
    Field("partial_images", AnyValue(), use=Use.IGNORED),
    Field("async", Either((Flag(), Text())), "Our extension: ``true`` answers 202 with an image task."),
    WEBHOOK_URL,
)
IMAGE_GENERATION = Shape(
    "ImageGenerationRequest",
    "``POST /v1/images/generations``.",
    _IMAGE_COMMON,
    examples=(
        {"model": "nano_banana_pro", "prompt": "a red fox in the snow", "size": "1024x1024"},
        {"model": "gpt-image-1", "prompt": "a red fox", "response_format": "url", "async": True},
    ),
    absent_if_null=True,
)
IMAGE_EDIT = Shape(
    "ImageEditRequest",
    "``POST /v1/images/edits``: at least one input image (``image`` parts or strings, or ``images``).",
    (
        *_IMAGE_COMMON,
        Field(
            "image",
            Either((Text(min_length=1), Array(Text(min_length=1)), Array(Binary(IMAGE_TYPES)))),
            "Input images: URLs, data URLs, base64 or result ids; file parts ``image``/``image[]`` "
            "in a form.",
        ),
        Field("images", Array(IMAGE_REFERENCE), "Input images as objects (OpenAI's JSON form)."),
        Field("input_fidelity", AnyValue(), use=Use.IGNORED),
        Field(
            "mask",
            AnyValue(),
            use=Use.REFUSED,
            why="masks are not supported by Flow; describe the edit in the prompt",
        ),
    ),
    absent_if_null=True,
)

# ``n`` on a video route is refused by name: one video per task (chat completions take ``n``).
VIDEO_N = Field(
    "n",
    AnyValue(),
    use=Use.REFUSED,
    why="n is not supported on /v1/videos (one video per task); use /v1/chat/completions with n",
)
SECONDS = Field(
    "seconds",
    Either((Text(examples=("4", "8")), Integer(1, 60))),
    "``4``, ``6``, ``8`` (as the model offers).",
)
VIDEO_MODEL = Field(
    "model", Text(min_length=1, examples=("veo_3_1", "veo_3_1-fast", "sora-2")), "Default ``veo_3_1``."
)
VIDEO_REF = Shape(
    "VideoReference",
    "The source video: a completed video of this gateway, by id (multipart: ``video[id]``).",
    (Field("id", Text(min_length=1, examples=("video_0123456789abcdef0123456789abcdef",)), required=True),),
    open=True,
    absent_if_null=True,
)
VIDEO = Shape(
    "VideoRequest",
    "``POST /v1/videos``.",
    (
        PROMPT,
        VIDEO_MODEL,
        SECONDS,
        Field("size", Text(), "``1280x720``, ``720x1280``, ``1920x1080``, ..."),
        Field("quality", Text()),
        Field(
            "input_reference",
            Either(
                (
                    Text(min_length=1),
                    IMAGE_REFERENCE,
                    Array(Either((Text(min_length=1), IMAGE_REFERENCE))),
                    Binary(IMAGE_TYPES),
                )
            ),
            "First frame (one image) or references (several): URLs, data URLs, base64, result ids, "
            "``{image_url}``/``{file_id}`` objects or file parts.",
        ),
        USER,
        METADATA,
        WEBHOOK_URL,
        VIDEO_N,
    ),
    examples=({"model": "veo_3_1-fast", "prompt": "a red fox running through snow", "seconds": "4"},),
    absent_if_null=True,
)
VIDEO_REMIX = Shape(
    "VideoRemixRequest",
    "``POST /v1/videos/{video_id}/remix``: a new video from a completed one and a new prompt.",
    (PROMPT, VIDEO_MODEL, USER, METADATA, WEBHOOK_URL, VIDEO_N),
    absent_if_null=True,
)
VIDEO_EXTENSION = Shape(
    "VideoExtensionRequest",
    "``POST /v1/videos/extensions``: a continuation of a completed video.",
    (
        PROMPT,
        SECONDS,
        Field("video", Either((VIDEO_REF, Text(min_length=1))), "The video to continue.", required=True),
        Field("model", Text(min_length=1), "Our extension: which Veo speed continues the clip."),
        USER,
        METADATA,
        WEBHOOK_URL,
        VIDEO_N,
    ),
    absent_if_null=True,
)
VIDEO_EDIT = Shape(
    "VideoEditRequest",
    "``POST /v1/videos/edits``: a completed video reworked by a prompt.",
    (
        PROMPT,
        Field("video", Either((VIDEO_REF, Text(min_length=1))), "The video to edit.", required=True),
        USER,
        METADATA,
        WEBHOOK_URL,
        VIDEO_N,
    ),
    absent_if_null=True,
)

# OpenAI chat fields that mean nothing for media: accepted, without effect.
CHAT_IGNORED = (
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "max_tokens",
    "max_completion_tokens",
    "seed",
    "stop",
    "logprobs",
    "top_logprobs",
    "logit_bias",
    "user",
    "metadata",
    "store",
    "modalities",
    "reasoning_effort",
    "service_tier",
    "parallel_tool_calls",
    "response_format",
    "tools",
    "tool_choice",
    "prediction",
    "audio",
    "web_search_options",
    "verbosity",
    "prompt_cache_key",
    "safety_identifier",
    "functions",
    "function_call",
)
CONTENT_PART = Shape(
    "ChatContentPart",
    "A part of a message: ``text``, or ``image_url`` (an input image; this gateway's own media URLs "
    "are used without a download).",
    (
        Field("type", Text(enum=("text", "image_url")), required=True),
        Field("text", Text()),
        Field("image_url", Either((Text(min_length=1), IMAGE_URL))),
    ),
    open=True,
    absent_if_null=True,
)
MESSAGE = Shape(
    "ChatMessage",
    "A message. The prompt is the last ``user`` message's text; its ``image_url`` parts are input "
    "images; the newest image an earlier ``assistant`` message showed is what a follow-up edits.",
    (
        Field(
            "role", Text(enum=("system", "developer", "user", "assistant", "tool", "function")), required=True
        ),
        Field("content", Either((Text(), Array(CONTENT_PART))), nullable=True),
    ),
    open=True,
    absent_if_null=True,
)
STREAM_OPTIONS = Shape(
    "ChatStreamOptions",
    "Streaming options.",
    (Field("include_usage", Flag(), "A last chunk with ``usage`` (the credits spent)."),),
    open=True,
    absent_if_null=True,
)
CHAT = Shape(
    "ChatCompletionRequest",
    "``POST /v1/chat/completions`` for image and video models: each choice is a durable task.",
    (
        Field("model", Text(min_length=1, pattern=r"\S", examples=MODEL_EXAMPLES), required=True),
        Field("messages", Array(MESSAGE, min_items=1), required=True),
        Field("stream", Flag(), "Server-sent events with progress, then the result."),
        N,
        Field("stream_options", STREAM_OPTIONS),
        Field("size", Text(), "As on the image and video routes."),
        Field("seconds", Either((Text(), Integer())), "A video's length, as on ``/v1/videos``."),
        Field("quality", Text()),
        Field(
            "progress",
            Text(enum=("reasoning", "content", "off")),
            "Our extension: where a stream's progress lines go (``reasoning_content`` by default).",
        ),
        *(Field(name, AnyValue(), use=Use.IGNORED) for name in CHAT_IGNORED),
    ),
    examples=(
        {"model": "nano_banana_pro", "messages": [{"role": "user", "content": "a red fox"}]},
        {"model": "nano_banana", "messages": [{"role": "user", "content": "a fox"}], "stream": True},
    ),
    absent_if_null=True,
)
