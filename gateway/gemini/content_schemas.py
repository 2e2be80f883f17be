"""``models/{m}:generateContent`` (and its stream) for image models: Google's request to plain values.

The prompt is the text of the last ``user`` content (the system instruction's text first, as the
model would read it); its ``inlineData`` (and ``https`` ``fileData``) images are the inputs. A
follow-up with no image of its own edits the newest image an earlier ``model`` content showed, as
a chat does ("make it blue"). ``candidateCount`` is how many images; ``imageConfig`` picks aspect
and size. Ignored (documented): ``safetySettings`` and ``labels``, and the sampling knobs of text
models. Refused: tools, cached contents, structured output, a ``seed``, and answers without images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.errors import InvalidRequestError
from gateway.gemini.bodies import (
    CONTENT,
    GENERATE_CONTENT,
    GENERATION_CONFIG,
    IMAGE_CONFIG,
    MAX_PROMPT_CHARS,
    PART,
)
from gateway.gemini.fields import (
    a_list,
    a_string,
    an_int,
    an_object,
    check_shape,
    image_by_uri,
    inline_image,
    one_of,
)
from gateway.gemini.names import Choice
from gateway.service.inputs import ImageSource

# Read from the bodies' shapes (the one description the OpenAPI document publishes too).
ASPECTS = {a: a for a in IMAGE_CONFIG.enum("aspectRatio")}
SIZES = {s.lower(): s for s in IMAGE_CONFIG.enum("imageSize")}


@dataclass(frozen=True, slots=True)
class ContentRequest:
    """A generateContent request for images, as plain values."""

    prompt: str
    n: int
    sources: tuple[ImageSource, ...] = ()
    choices: tuple[Choice, ...] = ()


def parse_generate_content(doc: dict[str, Any]) -> ContentRequest:
    """Validate a generateContent body (a 400 names the field)."""
    check_shape(doc, "", GENERATE_CONTENT)
    config = an_object(doc.get("generationConfig"), "generationConfig")
    check_shape(config, "generationConfig", GENERATION_CONFIG)
    _check_modalities(config)
    contents = a_list(doc.get("contents"), "contents")
    if not contents:
        raise InvalidRequestError("contents is required", param="contents", code="missing_required_parameter")
    last = len(contents) - 1
    texts, sources = _content(contents[last], f"contents[{last}]", role="user")
    if not sources:
        sources = _history_image(contents[:last])
    system = _system_text(doc.get("systemInstruction"))
    prompt = "\n\n".join(t for t in (system, "\n".join(texts)) if t.strip())
    if not prompt.strip():
        raise InvalidRequestError(
            f"contents[{last}] needs a text part (the prompt)", param=f"contents[{last}].parts"
        )
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidRequestError(
            f"the prompt is longer than {MAX_PROMPT_CHARS} characters", param="contents"
        )
    lowest, highest = GENERATION_CONFIG.bounds("candidateCount")
    n = an_int(
        config.get("candidateCount"), "generationConfig.candidateCount", lowest=lowest, highest=highest
    )
    return ContentRequest(prompt=prompt, n=n or 1, sources=tuple(sources), choices=_image_config(config))


def _check_modalities(config: dict[str, Any]) -> None:
    where = "generationConfig.responseModalities"
    modalities = [str(m).upper() for m in a_list(config.get(where.split(".")[1]), where)]
    if modalities and "IMAGE" not in modalities:
        raise InvalidRequestError(f"{where} must include IMAGE: these models answer with images", param=where)
    mime = a_string(config.get("responseMimeType"), "generationConfig.responseMimeType")
    if mime not in (None, "", "text/plain"):
        raise InvalidRequestError(
            "generationConfig.responseMimeType: the answer is images, not structured text",
            param="generationConfig.responseMimeType",
        )


def _image_config(config: dict[str, Any]) -> tuple[Choice, ...]:
    where = "generationConfig.imageConfig"
    image = an_object(config.get("imageConfig"), where)
    check_shape(image, where, IMAGE_CONFIG)
    choices = []
    aspect = one_of(
        a_string(image.get("aspectRatio"), f"{where}.aspectRatio"), f"{where}.aspectRatio", ASPECTS
    )
    if aspect:
        choices.append(Choice("aspect", aspect, f"{where}.aspectRatio"))
    size = one_of(a_string(image.get("imageSize"), f"{where}.imageSize"), f"{where}.imageSize", SIZES)
    if size:
        choices.append(Choice("image_size", size, f"{where}.imageSize"))
    return tuple(choices)


def _content(value: Any, where: str, *, role: str) -> tuple[list[str], list[ImageSource]]:
    content = an_object(value, where)
    check_shape(content, where, CONTENT)
    given = a_string(content.get("role"), f"{where}.role") or "user"
    if given != role:
        raise InvalidRequestError(
            f"{where}.role must be {role!r} (the request's last turn)", param=f"{where}.role"
        )
    texts: list[str] = []
    sources: list[ImageSource] = []
    for i, part in enumerate(a_list(content.get("parts"), f"{where}.parts")):
        text, source = _part(part, f"{where}.parts[{i}]")
        if text is not None:
            texts.append(text)
        if source is not None:
            sources.append(source)
    return texts, sources


def _part(value: Any, where: str) -> tuple[str | None, ImageSource | None]:
    part = an_object(value, where)
    check_shape(part, where, PART)
    if part.get("thought"):
        return None, None  # a model's reasoning, sent back by a chat: not part of the prompt
    if "inlineData" in part:
        inline = an_object(part["inlineData"], f"{where}.inlineData")
        return None, inline_image(inline, f"{where}.inlineData", data="data", mime="mimeType")
    if "fileData" in part:
        file = an_object(part["fileData"], f"{where}.fileData")
        uri = a_string(file.get("fileUri"), f"{where}.fileData.fileUri") or ""
        return None, image_by_uri(uri, f"{where}.fileData.fileUri")
    return a_string(part.get("text"), f"{where}.text"), None


def _history_image(earlier: list[Any]) -> list[ImageSource]:
    """The newest inline image of an earlier ``model`` content (what a follow-up edits)."""
    for i in range(len(earlier) - 1, -1, -1):
        content = earlier[i] if isinstance(earlier[i], dict) else {}
        if content.get("role") != "model":
            continue
        found = content.get("parts")
        parts: list[Any] = found if isinstance(found, list) else []
        for j in range(len(parts) - 1, -1, -1):
            inline = parts[j].get("inlineData") if isinstance(parts[j], dict) else None
            if isinstance(inline, dict):
                where = f"contents[{i}].parts[{j}].inlineData"
                return [inline_image(inline, where, data="data", mime="mimeType")]
    return []


def _system_text(value: Any) -> str:
    if value is None:
        return ""
    texts, _ = _content(value, "systemInstruction", role=_role_of(value))
    return "\n".join(texts)


def _role_of(value: Any) -> str:
    role = value.get("role") if isinstance(value, dict) else None
    return role if isinstance(role, str) and role else "user"
