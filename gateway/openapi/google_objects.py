"""The response objects of Google's dialect, described for the OpenAPI document: Google's error
envelope, ``GenerateContentResponse``, Imagen's ``PredictResponse``, long-running operations and
model lists."""

from __future__ import annotations

from gateway.openapi.objects import FLAG, INT, STRING, req
from gateway.wire import AnyValue, Array, Field, MapOf, Shape, Text

GOOGLE_ERROR = Shape(
    "GoogleError",
    "Google's error envelope (every route of the dialect): the HTTP status kept, Google's status "
    "name, our code as the ``ErrorInfo`` reason, the field at fault as a ``BadRequest`` violation.",
    (
        req(
            "error",
            Shape(
                "GoogleErrorBody",
                "A ``google.rpc.Status`` with the HTTP status as ``code``.",
                (
                    req("code", INT),
                    req("message", STRING),
                    req("status", STRING, "``INVALID_ARGUMENT``, ``NOT_FOUND``, ``RESOURCE_EXHAUSTED``, ..."),
                    req("details", Array(MapOf(AnyValue()))),
                ),
            ),
        ),
    ),
)
BLOB = Shape("ImageBlob", "An image, inline.", (req("mimeType", STRING), req("data", STRING, "Base64.")))
CANDIDATE = Shape(
    "Candidate",
    "One image.",
    (
        req(
            "content",
            Shape(
                "CandidateContent",
                "The model's turn: one inline image.",
                (
                    req("role", Text(enum=("model",))),
                    req("parts", Array(Shape("CandidatePart", "An image part.", (req("inlineData", BLOB),)))),
                ),
            ),
        ),
        req("finishReason", STRING),
        req("index", INT),
    ),
)
GENERATE_CONTENT = Shape(
    "GenerateContentResponse",
    "Images as inline parts of the candidates.",
    (req("candidates", Array(CANDIDATE)), req("modelVersion", STRING), req("responseId", STRING)),
)
PREDICTION = Shape(
    "Prediction", "One Imagen image.", (req("bytesBase64Encoded", STRING), req("mimeType", STRING))
)
PREDICT = Shape("PredictResponse", "Imagen's answer.", (req("predictions", Array(PREDICTION)),))
OPERATION_ERROR = Shape(
    "OperationError",
    "A failed operation's ``google.rpc.Status`` (``code``: Google's number).",
    (req("code", INT), req("message", STRING), req("details", Array(MapOf(AnyValue())))),
)
OPERATION = Shape(
    "Operation",
    "A long-running operation (a video task): pending (``metadata.progressPercent``), failed "
    "(``error``) or done (``response``: the Gemini API's ``generateVideoResponse.generatedSamples[]."
    "video.uri``, Vertex AI's ``videos[]`` with ``bytesBase64Encoded``).",
    (
        req("name", STRING),
        req("done", FLAG),
        Field("metadata", Shape("OperationMetadata", "Progress.", (req("progressPercent", INT),))),
        Field("error", OPERATION_ERROR),
        Field("response", MapOf(AnyValue())),
    ),
)
_MODEL_FIELDS = (req("displayName", STRING), req("description", STRING))
GEMINI_MODEL = Shape(
    "GeminiModel",
    "A model by Google's name, and which methods serve it here.",
    (
        req("name", STRING),
        req("version", STRING),
        *_MODEL_FIELDS,
        req("supportedGenerationMethods", Array(STRING)),
    ),
)
GEMINI_MODELS = Shape(
    "GeminiModelList", "The Gemini API's ``models.list``.", (req("models", Array(GEMINI_MODEL)),)
)
PUBLISHER_MODEL = Shape(
    "PublisherModel",
    "A Vertex AI publisher model.",
    (
        req("name", STRING),
        req("versionId", STRING),
        req("openSourceCategory", STRING),
        *_MODEL_FIELDS,
        req("supportedActions", Array(STRING)),
    ),
)
PUBLISHER_MODELS = Shape(
    "PublisherModelList", "Vertex AI's publisher models.", (req("publisherModels", Array(PUBLISHER_MODEL)),)
)
