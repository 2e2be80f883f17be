"""Flow's public error reasons (``PublicAitkError``) and how a batchexecute status carries them.

A status is a ``google.rpc.Status`` as a JSON array, ``[code, message, details]``; each detail is a
``google.protobuf.Any`` as ``[type_url, value]``, and the value is either the inner message as an
array or its serialized bytes in base64 (btcfoxman's ``flow_rpc_errors.py``, read from the
frontend's decoders; the evidence fixture ``errors.json``). Reasons come in three forms:

- ``google.rpc.ErrorInfo``: the ``PUBLIC_ERROR_*`` name, field 1 (``["PUBLIC_ERROR_…"]``, or base64
  of the protobuf with field 1 length-delimited);
- ``…PublicAitkError``: the enum's integer, field 1 (``[50]``, or base64 such as ``"CDI="``);
- the status's message, when it is a reason name (``[3, "PUBLIC_ERROR_AUDIO_FILTERED"]`` in a failed
  job's record).

Only names of the enum count as reasons, so free text never classifies anything. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

ERROR_INFO = "google.rpc.ErrorInfo"
PUBLIC_AITK_ERROR = "google.internal.labs.aisandbox.proto.common.v1.PublicAitkError"
MAX_DETAILS = 32  # a status with more details than this is not Flow's (btcfoxman reads at most 32)

# The PublicAitkError enum, as the frontend's decoder table has it (btcfoxman flow_rpc_errors.py,
# 2026-09-11). 6, 10, 13, 37, 38 and 62 have no name there.
PUBLIC_ERRORS: dict[int, str] = {
    0: "PUBLIC_ERROR_UNSPECIFIED",
    1: "PUBLIC_ERROR_UNSAFE_GENERATION",
    2: "PUBLIC_ERROR_USER_QUOTA_REACHED",
    3: "PUBLIC_ERROR_USER_REQUESTS_THROTTLED",
    4: "PUBLIC_ERROR_HIGH_TRAFFIC",
    5: "PUBLIC_ERROR_MODEL_DISABLED_DUE_TO_TRAFFIC",
    7: "PUBLIC_ERROR_NON_ENGLISH_PROMPT",
    8: "PUBLIC_ERROR_UNSAFE_IMAGE_UPLOAD",
    9: "PUBLIC_ERROR_GENERATION_ALREADY_IN_PROGRESS",
    11: "PUBLIC_ERROR_MODEL_ACCESS_DENIED",
    12: "PUBLIC_ERROR_PROMINENT_PEOPLE_FILTER_FAILED",
    14: "PUBLIC_ERROR_VIOLENCE_FILTER",
    15: "PUBLIC_ERROR_DANGER_FILTER",
    16: "PUBLIC_ERROR_SEXUAL",
    17: "PUBLIC_ERROR_MINOR_UPLOAD",
    18: "PUBLIC_ERROR_SEXUAL_UPLOAD",
    19: "PUBLIC_ERROR_PROMINENT_PEOPLE_UPLOAD",
    20: "PUBLIC_ERROR_PHOTOREAL_UPLOAD",
    21: "PUBLIC_ERROR_MINOR",
    22: "PUBLIC_ERROR_MINOR_HARM_UPLOAD",
    23: "PUBLIC_ERROR_PHOTOREAL_INPUT_IMAGE",
    24: "PUBLIC_ERROR_PROMINENT_PEOPLE_INPUT_IMAGE",
    25: "PUBLIC_ERROR_MINOR_INPUT_IMAGE",
    26: "PUBLIC_ERROR_UNKNOWN_IMAGE_FILE_FORMAT",
    27: "PUBLIC_ERROR_VIDEO_GENERATION_TIMED_OUT",
    28: "PUBLIC_ERROR_MODEL_OVERLOADED",
    29: "PUBLIC_ERROR_HANDLE_INVALID",
    30: "PUBLIC_ERROR_HANDLE_TAKEN",
    31: "PUBLIC_ERROR_IMAGE_TOO_LARGE",
    32: "PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED",
    33: "PUBLIC_ERROR_AUDIO_FILTERED",
    34: "PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED_UPGRADEABLE",
    35: "PUBLIC_ERROR_SOMETHING_WENT_WRONG",
    36: "PUBLIC_ERROR_COLLECTION_INVALID",
    39: "PUBLIC_ERROR_COLLECTION_FULL",
    40: "PUBLIC_ERROR_COLLECTION_DEPTH_EXCEEDED",
    41: "PUBLIC_ERROR_IP_INPUT_IMAGE",
    42: "PUBLIC_ERROR_APP_UNAVAILABLE",
    43: "PUBLIC_BOTTLE_CONTENT_WARNING",
    44: "PUBLIC_ERROR_IMAGE_TOO_SMALL",
    45: "PUBLIC_ERROR_USER_REGION_DISALLOWED",
    46: "PUBLIC_ERROR_USER_MINOR",
    47: "PUBLIC_ERROR_IMAGE_OUTPUT_IP_FILTER",
    48: "PUBLIC_ERROR_WORKSPACE_ACCOUNT_QUOTA_REACHED",
    49: "PUBLIC_ERROR_UNUSUAL_ACTIVITY",
    50: "PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC",
    51: "PUBLIC_ERROR_CONCURRENT_LIMIT_REACHED",
    52: "PUBLIC_ERROR_MEDIA_GENERATION_CANNOT_BE_CANCELED",
    53: "PUBLIC_ERROR_UNSAFE_VIDEO_UPLOAD",
    54: "PUBLIC_ERROR_VIDEO_UPLOAD_TIMEOUT",
    55: "PUBLIC_ERROR_VIDEO_DURATION_TOO_LONG",
    56: "PUBLIC_ERROR_APPLET_SIZE_LIMIT_EXCEEDED",
    57: "PUBLIC_ERROR_APPLET_STORAGE_QUOTA_EXCEEDED",
    58: "PUBLIC_ERROR_VIDEO_UPLOAD_FAILED",
    59: "PUBLIC_ERROR_SPEECH_EDIT",
    60: "PUBLIC_ERROR_VIDEO_EDIT",
    61: "PUBLIC_ERROR_REPUTATIONAL",
    63: "PUBLIC_ERROR_UNDERSPECIFIED_ANIMAL",
    64: "PUBLIC_ERROR_RESPONSE_TOO_LONG",
    65: "PUBLIC_ERROR_PROJECT_NOT_ALLOWLISTED",
    66: "PUBLIC_ERROR_USER_ROLE_NOT_GRANTED",
    67: "PUBLIC_ERROR_PROJECT_FLOW_ENTERPRISE_NOT_ENABLED",
    68: "PUBLIC_ERROR_VERTEX_SAFETY_FILTER_TRIGGERED",
    69: "PUBLIC_ERROR_VERTEX_UNSUPPORTED_INPUT",
    70: "PUBLIC_ERROR_VERTEX_QUOTA_EXHAUSTED",
    71: "PUBLIC_ERROR_VERTEX_QUOTA_EXHAUSTED_ADMIN",
    72: "PUBLIC_ERROR_VERTEX_SERVICE_UNAVAILABLE",
    73: "PUBLIC_ERROR_UNSAFE_SEARCH",
}
# REST-era ErrorInfo names that are not in the enum but still arrive as strings (fograd's list).
LEGACY_REASONS = frozenset(
    {
        "PUBLIC_ERROR_UNSAFE_CONTENT",
        "PUBLIC_ERROR_UNSAFE_FACE",
        "PUBLIC_ERROR_UNSAFE_IDENTITY",
        "PUBLIC_ERROR_PROMINENT_PEOPLE_FILTER",
        "PUBLIC_ERROR_MINOR_FILTER",
        "PUBLIC_ERROR_IP_FILTER",
        "PUBLIC_ERROR_INSUFFICIENT_CREDITS",
        "PUBLIC_ERROR_QUOTA_EXCEEDED",
        "PUBLIC_ERROR_USER_QUOTA_EXCEEDED",
    }
)
KNOWN_REASONS = frozenset(PUBLIC_ERRORS.values()) | LEGACY_REASONS


@dataclass(frozen=True, slots=True)
class RpcStatus:
    """A decoded status: the code, the reasons found, and whether some detail could not be read."""

    code: int
    reasons: tuple[str, ...] = ()
    undecoded: bool = False


def decode_status(status: object) -> RpcStatus:
    """``[code, message, details]`` → code and reasons (13, INTERNAL, when there is no code)."""
    if not isinstance(status, list) or not status:
        return RpcStatus(13, undecoded=status is not None)
    code = status[0] if isinstance(status[0], int) and not isinstance(status[0], bool) else 13
    found: list[str] = []
    message = status[1] if len(status) > 1 else None
    if isinstance(message, str) and (name := message.split(":", 1)[0].strip()) in KNOWN_REASONS:
        found.append(name)
    details = status[2] if len(status) > 2 else None
    undecoded = False
    for detail in details[:MAX_DETAILS] if isinstance(details, list) else ():
        reason = _detail_reason(detail)
        if reason is None:
            undecoded = True
        elif reason:
            found.append(reason)
    return RpcStatus(code, tuple(dict.fromkeys(found)), undecoded)


def _detail_reason(detail: object) -> str | None:
    """The reason of one ``[type_url, value]`` detail: a name, "" for a known type without one, or
    None when the detail is not one Flow's decoders know (the drift canary counts those)."""
    if not (isinstance(detail, list) and len(detail) == 2 and isinstance(detail[0], str)):
        return _bare_reason(detail)
    kind, value = detail[0].rsplit("/", 1)[-1], detail[1]
    if kind == ERROR_INFO:
        name = value[0] if isinstance(value, list) and value else _field_one(value, text=True)
        return name if isinstance(name, str) and name in KNOWN_REASONS else ""
    if kind == PUBLIC_AITK_ERROR:
        number = value[0] if isinstance(value, list) and value else _field_one(value, text=False)
        if isinstance(number, int) and not isinstance(number, bool):
            return PUBLIC_ERRORS.get(number, "")
        return ""
    return None


def _bare_reason(detail: object) -> str | None:
    """An older, type-less form ``[["PUBLIC_ERROR_…"]]``: the name when it is exactly that."""
    while isinstance(detail, list) and len(detail) == 1:
        detail = detail[0]
    return detail if isinstance(detail, str) and detail in KNOWN_REASONS else None


def _field_one(value: object, *, text: bool) -> str | int | None:
    """Field 1 of a base64 protobuf message: a string (wire type 2) or a varint (wire type 0).

    Both base64 alphabets are accepted and padding may be missing; field 1 must occur exactly once.
    """
    if not isinstance(value, str) or len(value) > 65_536:
        return None
    try:  # altchars maps -_ to +/ before validating, so both alphabets pass
        data = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None
    fields = _fields(data)
    if fields is None:
        return None
    ones = [v for number, v in fields if number == 1]
    if len(ones) != 1:
        return None
    one = ones[0]
    if text:
        return one.decode("utf-8", "replace") if isinstance(one, bytes) else None
    return one if isinstance(one, int) else None


def _fields(data: bytes) -> list[tuple[int, int | bytes]] | None:
    """The (field number, value) pairs of a protobuf message; None when it is malformed."""
    out: list[tuple[int, int | bytes]] = []
    index = 0
    while index < len(data):
        tag, index = _varint(data, index)
        if tag is None:
            return None
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, index = _varint(data, index)
            if value is None:
                return None
            out.append((number, value))
        elif wire == 2:
            size, index = _varint(data, index)
            if size is None or index + size > len(data):
                return None
            out.append((number, data[index : index + size]))
            index += size
        elif wire in (1, 5):
            index += 8 if wire == 1 else 4
            if index > len(data):
                return None
        else:
            return None
    return out


def _varint(data: bytes, index: int) -> tuple[int | None, int]:
    value, shift = 0, 0
    while index < len(data) and shift < 64:
        byte = data[index]
        index += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, index
        shift += 7
    return None, index
