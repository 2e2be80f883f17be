"""Flow's public error reasons and the three ways an error status carries one.

The enum is the frontend's ``PublicAitkError`` as btcfoxman transcribed it (flow_rpc_errors.py,
"decoders captured on 2026-09-11"; research errors-catalogue.md §1.2): ints 0-73 with gaps at 6, 10,
13, 37, 38 and 62, and 43 the lone name without ``_ERROR_``. A status is the JSPB
``google.rpc.Status`` ``[code, message, details]``; each detail is an ``Any`` ``[typeUrl, value]``
whose value is the inner message as a JSPB list or as base64 of its protobuf bytes (§1.3):

- ``string``: ``google.rpc.ErrorInfo`` ``[reason]`` (the only form seen live);
- ``int``: ``PublicAitkError`` ``[enum]``;
- ``base64``: ``PublicAitkError`` as base64 of field 1 varint (``0x08``, the enum), e.g. 50 → "CDI=".

The simulator owns this copy: it must not import the gateway's (it is the gateway's witness).
"""

from __future__ import annotations

import base64

ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
PUBLIC_AITK_ERROR = "type.googleapis.com/google.internal.labs.aisandbox.proto.common.v1.PublicAitkError"
FORMS = ("string", "int", "base64")

_TABLE = """
0 UNSPECIFIED 1 UNSAFE_GENERATION 2 USER_QUOTA_REACHED 3 USER_REQUESTS_THROTTLED 4 HIGH_TRAFFIC
5 MODEL_DISABLED_DUE_TO_TRAFFIC 7 NON_ENGLISH_PROMPT 8 UNSAFE_IMAGE_UPLOAD
9 GENERATION_ALREADY_IN_PROGRESS 11 MODEL_ACCESS_DENIED 12 PROMINENT_PEOPLE_FILTER_FAILED
14 VIOLENCE_FILTER 15 DANGER_FILTER 16 SEXUAL 17 MINOR_UPLOAD 18 SEXUAL_UPLOAD
19 PROMINENT_PEOPLE_UPLOAD 20 PHOTOREAL_UPLOAD 21 MINOR 22 MINOR_HARM_UPLOAD 23 PHOTOREAL_INPUT_IMAGE
24 PROMINENT_PEOPLE_INPUT_IMAGE 25 MINOR_INPUT_IMAGE 26 UNKNOWN_IMAGE_FILE_FORMAT
27 VIDEO_GENERATION_TIMED_OUT 28 MODEL_OVERLOADED 29 HANDLE_INVALID 30 HANDLE_TAKEN 31 IMAGE_TOO_LARGE
32 PER_MODEL_DAILY_QUOTA_REACHED 33 AUDIO_FILTERED 34 PER_MODEL_DAILY_QUOTA_REACHED_UPGRADEABLE
35 SOMETHING_WENT_WRONG 36 COLLECTION_INVALID 39 COLLECTION_FULL 40 COLLECTION_DEPTH_EXCEEDED
41 IP_INPUT_IMAGE 42 APP_UNAVAILABLE 43 - 44 IMAGE_TOO_SMALL 45 USER_REGION_DISALLOWED 46 USER_MINOR
47 IMAGE_OUTPUT_IP_FILTER 48 WORKSPACE_ACCOUNT_QUOTA_REACHED 49 UNUSUAL_ACTIVITY
50 UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC 51 CONCURRENT_LIMIT_REACHED 52 MEDIA_GENERATION_CANNOT_BE_CANCELED
53 UNSAFE_VIDEO_UPLOAD 54 VIDEO_UPLOAD_TIMEOUT 55 VIDEO_DURATION_TOO_LONG 56 APPLET_SIZE_LIMIT_EXCEEDED
57 APPLET_STORAGE_QUOTA_EXCEEDED 58 VIDEO_UPLOAD_FAILED 59 SPEECH_EDIT 60 VIDEO_EDIT 61 REPUTATIONAL
63 UNDERSPECIFIED_ANIMAL 64 RESPONSE_TOO_LONG 65 PROJECT_NOT_ALLOWLISTED 66 USER_ROLE_NOT_GRANTED
67 PROJECT_FLOW_ENTERPRISE_NOT_ENABLED 68 VERTEX_SAFETY_FILTER_TRIGGERED 69 VERTEX_UNSUPPORTED_INPUT
70 VERTEX_QUOTA_EXHAUSTED 71 VERTEX_QUOTA_EXHAUSTED_ADMIN 72 VERTEX_SERVICE_UNAVAILABLE 73 UNSAFE_SEARCH
"""


def _enum() -> dict[str, int]:
    words = _TABLE.split()
    pairs = zip(words[::2], words[1::2], strict=True)
    return {
        ("PUBLIC_BOTTLE_CONTENT_WARNING" if name == "-" else f"PUBLIC_ERROR_{name}"): int(number)
        for number, name in pairs
    }


PUBLIC_ERRORS: dict[str, int] = _enum()

# The grpc code each reason comes with by default: quota and traffic refusals are RESOURCE_EXHAUSTED
# (8, live: USER_QUOTA_REACHED on MZZa6b), the WAF verdict and model access PERMISSION_DENIED (7, live:
# UNUSUAL_ACTIVITY on ogiZ0b; Fograd pairs MODEL_ACCESS_DENIED with 7), content verdicts
# INVALID_ARGUMENT (3, live), a generation in progress FAILED_PRECONDITION (9), anything else INTERNAL.
_QUOTA = {
    "USER_QUOTA_REACHED",
    "USER_REQUESTS_THROTTLED",
    "UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC",
    "PER_MODEL_DAILY_QUOTA_REACHED",
    "PER_MODEL_DAILY_QUOTA_REACHED_UPGRADEABLE",
    "CONCURRENT_LIMIT_REACHED",
    "HIGH_TRAFFIC",
    "MODEL_OVERLOADED",
}
_DENIED = {"UNUSUAL_ACTIVITY", "MODEL_ACCESS_DENIED"}
# btcfoxman's POLICY_ERRORS: the content verdicts (filters, unsafe uploads and outputs).
_CONTENT = {1, 8, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 33, 41, 43, 47, 53, 68, 73}


def default_code(reason: str) -> int:
    """The grpc status code Flow sends ``reason`` with (see the table's comment)."""
    short = reason.removeprefix("PUBLIC_ERROR_")
    if short in _QUOTA:
        return 8
    if short in _DENIED:
        return 7
    if PUBLIC_ERRORS.get(reason) in _CONTENT:
        return 3
    return 9 if short == "GENERATION_ALREADY_IN_PROGRESS" else 13


def detail(reason: str, form: str = "string") -> list[object]:
    """One status detail ``[typeUrl, value]`` naming ``reason`` in ``form``."""
    if form == "string":
        return [ERROR_INFO, [reason]]
    number = PUBLIC_ERRORS[reason]
    if form == "int":
        return [PUBLIC_AITK_ERROR, [number]]
    # Every enum value is below 128, so its varint is one byte.
    return [PUBLIC_AITK_ERROR, base64.b64encode(bytes((0x08, number))).decode()]


def status(code: int, reason: str | None = None, form: str = "string") -> list[object]:
    """A ``google.rpc.Status``: bare ``[code]`` without a reason, else ``[code, null, [detail]]``."""
    if reason is None:
        return [code]
    return [code, None, [detail(reason, form)]]
