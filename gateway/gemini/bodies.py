"""What the bodies of Google's dialect may hold: ``generateContent`` (and its stream), Imagen's
``:predict``, Veo's ``:predictLongRunning`` and Vertex AI's ``:fetchPredictOperation``.

Google refuses a field it does not know, and so do we: each object's fields are honoured, accepted
without effect (safety knobs Flow applies its own way, sampling knobs of text models), or refused
by name with the reason. The parsers (``content_schemas``, ``predict_schemas``) read those sets,
the enums and the bounds from here; ``gateway.openapi`` publishes the same shapes.
"""

from __future__ import annotations

from gateway.wire import AnyValue, Array, Either, Field, Flag, Integer, Shape, Text, Use

MAX_PROMPT_CHARS = 32_000


def count(low: int, high: int) -> Either:
    """An integer from ``low`` to ``high`` (proto3 JSON may write it as a string of digits)."""
    return Either((Integer(low, high), Text(pattern=r"^\s*[+-]?[0-9]+\s*$")))


def ignored(*names: str) -> tuple[Field, ...]:
    """Fields accepted without effect."""
    return tuple(Field(name, AnyValue(), use=Use.IGNORED) for name in names)


def refused(why: str, *names: str) -> tuple[Field, ...]:
    """Fields refused by name, all for the same reason."""
    return tuple(Field(name, AnyValue(), use=Use.REFUSED, why=why) for name in names)


NO_TOOLS = "image models here call no tools"
NOT_TEXT = "the answer is images, not structured text"
INLINE_DATA = Shape(
    "Blob",
    "Bytes inline: ``data`` (base64) of an image ``mimeType``.",
    (Field("data", Text(min_length=1), required=True), Field("mimeType", Text(examples=("image/png",)))),
    open=True,
    absent_if_null=True,
)
FILE_DATA = Shape(
    "FileData",
    "An image by URL (https; this gateway reads neither gs:// nor uploaded files/...).",
    (Field("fileUri", Text(format="uri")), Field("mimeType", Text())),
    open=True,
    absent_if_null=True,
)
PART = Shape(
    "Part",
    "A part of a content: ``text``, or an image (``inlineData``, ``fileData``); a model's "
    "``thought`` is skipped.",
    (
        Field("text", Text()),
        Field("inlineData", INLINE_DATA),
        Field("fileData", FILE_DATA),
        Field("thought", Flag()),
        Field("thoughtSignature", Text()),
    ),
    absent_if_null=True,
)
CONTENT = Shape(
    "Content",
    "A turn: the last one is the ``user``'s (the prompt and its images).",
    (Field("role", Text(examples=("user", "model"))), Field("parts", Array(PART))),
    absent_if_null=True,
)
IMAGE_CONFIG = Shape(
    "ImageConfig",
    "The image's aspect and size.",
    (
        Field(
            "aspectRatio",
            Text(enum=("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")),
        ),
        Field("imageSize", Text(enum=("1K", "2K", "4K")), "Case-insensitive."),
        *refused("Flow applies its own policy on people", "personGeneration"),
    ),
    absent_if_null=True,
)
MAX_CANDIDATES = 4  # the OpenAI routes' n: one image per candidate
GENERATION_CONFIG = Shape(
    "GenerationConfig",
    "How to generate: ``candidateCount`` images, ``imageConfig``; sampling knobs of text models are "
    "accepted without effect.",
    (
        Field("candidateCount", count(1, MAX_CANDIDATES), "How many images (one per candidate)."),
        Field("imageConfig", IMAGE_CONFIG),
        Field("responseModalities", Array(Text(examples=("IMAGE", "TEXT"))), "Must include IMAGE."),
        Field("responseMimeType", Text(enum=("", "text/plain"))),
        *ignored(
            "temperature",
            "topP",
            "topK",
            "maxOutputTokens",
            "stopSequences",
            "presencePenalty",
            "frequencyPenalty",
            "thinkingConfig",
            "mediaResolution",
        ),
        *refused("Flow takes no seed, so the same request would not give the same image", "seed"),
        *refused(NOT_TEXT, "responseSchema", "responseJsonSchema"),
        *refused("the answer is images, not text", "responseLogprobs", "logprobs"),
        *refused("the answer is images, not speech", "speechConfig"),
    ),
    absent_if_null=True,
)
GENERATE_CONTENT = Shape(
    "GenerateContentRequest",
    "``models/{model}:generateContent`` (and ``:streamGenerateContent``) for image models.",
    (
        Field("contents", Array(CONTENT, min_items=1), required=True),
        Field("systemInstruction", CONTENT, "Its text comes before the prompt."),
        Field("generationConfig", GENERATION_CONFIG),
        *ignored("safetySettings", "labels", "model"),
        *refused(NO_TOOLS, "tools", "toolConfig"),
        *refused("there is no context cache here", "cachedContent"),
    ),
    examples=(
        {
            "contents": [{"role": "user", "parts": [{"text": "a red fox in the snow"}]}],
            "generationConfig": {"imageConfig": {"aspectRatio": "16:9"}},
        },
    ),
    absent_if_null=True,
)

NOT_HONOURED = (
    *refused("Flow has no negative prompt; say what you want in the prompt", "negativePrompt"),
    *refused("Flow takes no seed, so the same request would not give the same result", "seed"),
    *refused("results are kept by this gateway and served from its own URLs", "storageUri"),
)
IMAGE = Shape(
    "InputImage",
    "An image: ``bytesBase64Encoded`` (with ``mimeType``), or ``gcsUri`` as an https URL.",
    (Field("bytesBase64Encoded", Text()), Field("gcsUri", Text()), Field("mimeType", Text())),
    absent_if_null=True,
)
PROMPT = Field("prompt", Text(min_length=1, max_length=MAX_PROMPT_CHARS, pattern=r"\S"), required=True)
EDIT_ELSEWHERE = "edit with generateContent and a Gemini image model (or POST /v1/images/edits)"
IMAGEN_INSTANCE = Shape(
    "ImagenInstance",
    "What to make.",
    (PROMPT, *refused(EDIT_ELSEWHERE, "image", "mask", "referenceImages")),
    absent_if_null=True,
)
MAX_IMAGES = 4
IMAGEN_PARAMETERS = Shape(
    "ImagenParameters",
    "How many images (``sampleCount``, 1 when not given), their aspect and size. Safety and people "
    "settings are Flow's own (accepted without effect); ``addWatermark: false`` is refused.",
    (
        Field("sampleCount", count(1, MAX_IMAGES)),
        Field("aspectRatio", Text(enum=("1:1", "3:4", "4:3", "9:16", "16:9"))),
        Field("sampleImageSize", Text(enum=("1K", "2K")), "Case-insensitive."),
        Field("addWatermark", Flag(), "Flow's images always carry Google's SynthID watermark."),
        *ignored(
            "personGeneration",
            "safetySetting",
            "includeRaiReason",
            "includeSafetyAttributes",
            "language",
            "enhancePrompt",
            "outputOptions",
        ),
        *NOT_HONOURED,
    ),
    absent_if_null=True,
)
IMAGEN_REQUEST = Shape(
    "ImagenPredictRequest",
    "``models/{model}:predict`` (Imagen): exactly one instance.",
    (
        Field("instances", Array(IMAGEN_INSTANCE, min_items=1, max_items=1), required=True),
        Field("parameters", IMAGEN_PARAMETERS),
    ),
    examples=(
        {"instances": [{"prompt": "a red fox"}], "parameters": {"sampleCount": 1, "aspectRatio": "1:1"}},
    ),
    absent_if_null=True,
)
REFERENCE_IMAGE = Shape(
    "ReferenceImage",
    "A reference image (asset references only).",
    (
        Field("image", IMAGE, required=True),
        Field("referenceType", Text(examples=("asset", "REFERENCE_TYPE_ASSET")), "Asset (case-insensitive)."),
    ),
    absent_if_null=True,
)
VEO_INSTANCE = Shape(
    "VeoInstance",
    "What to make: a prompt; a first (and last) frame, or reference images.",
    (
        PROMPT,
        Field("image", IMAGE, "The first frame."),
        Field("lastFrame", IMAGE, "The last frame (needs ``image``)."),
        Field("referenceImages", Array(REFERENCE_IMAGE)),
        *refused("extend a video with POST /v1/videos/extensions (the OpenAI route) for now", "video"),
        *refused("Flow edits no video with a mask", "mask"),
    ),
    absent_if_null=True,
)
VEO_PARAMETERS = Shape(
    "VeoParameters",
    "The video's aspect, length and resolution; one video per operation, with sound, at 24 fps.",
    (
        Field("sampleCount", count(1, 4), "1 (one video per operation)."),
        Field("aspectRatio", Text(enum=("16:9", "9:16"))),
        Field("durationSeconds", count(1, 60), "As the model offers (4, 6, 8)."),
        Field("resolution", Text(enum=("720p", "1080p", "4k")), "Case-insensitive."),
        Field("generateAudio", Flag(), "``false`` is refused: Flow's Veo 3.1 always makes sound."),
        Field("fps", count(1, 120), "24 (other values are refused)."),
        *ignored("personGeneration", "enhancePrompt", "compressionQuality"),
        *NOT_HONOURED,
    ),
    absent_if_null=True,
)
VEO_REQUEST = Shape(
    "VeoPredictLongRunningRequest",
    "``models/{model}:predictLongRunning`` (Veo): exactly one instance; answered at once with the operation.",
    (
        Field("instances", Array(VEO_INSTANCE, min_items=1, max_items=1), required=True),
        Field("parameters", VEO_PARAMETERS),
    ),
    examples=(
        {
            "instances": [{"prompt": "a red fox running"}],
            "parameters": {"aspectRatio": "16:9", "durationSeconds": 4},
        },
    ),
    absent_if_null=True,
)
FETCH_OPERATION = Shape(
    "FetchPredictOperationRequest",
    "``publishers/google/models/{model}:fetchPredictOperation`` (Vertex AI).",
    (
        Field(
            "operationName",
            Text(
                min_length=1,
                examples=("publishers/google/models/veo-3.1-generate-preview/operations/video_0",),
            ),
            required=True,
        ),
    ),
    open=True,
    absent_if_null=True,
)
