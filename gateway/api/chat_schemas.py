"""Wire → domain for ``POST /v1/chat/completions`` used for media (api.md §5).

The prompt is the last user message (a string, or its ``text`` parts joined); its ``image_url``
parts are input images. The newest image an earlier assistant message showed (markdown
``![…](url)``) is kept aside: for image models it becomes the input of a follow-up edit. OpenAI's
sampling fields are accepted and have no effect on media; unknown fields are refused by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yarl

from gateway.api.bodies import CHAT, MESSAGE
from gateway.api.schemas import MAX_PROMPT_CHARS, parse_n
from gateway.errors import InvalidRequestError
from gateway.service.inputs import ImageSource

# Read from the body's shape (the one description the OpenAPI document publishes too).
PROGRESS_MODES = CHAT.enum("progress")
ROLES = frozenset(MESSAGE.enum("role"))
_MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\((?P<url>[^)\s]+)\)")
_OWN_MEDIA = re.compile(r"/v1/media/(?P<id>[a-z]{3}_[A-Za-z0-9_-]{8,64})$")


@dataclass(frozen=True, slots=True)
class ChatParams:
    """A validated chat request for media."""

    model: str
    prompt: str
    n: int
    stream: bool
    include_usage: bool
    progress: str | None
    sources: tuple[ImageSource, ...] = ()
    history_image: ImageSource | None = None
    size: str | None = None
    seconds: str | int | None = None
    quality: str | None = None


def parse_chat_request(doc: dict[str, Any] | None) -> ChatParams:
    """Validate the JSON body."""
    if doc is None:
        raise InvalidRequestError("the body must be a JSON object", code="invalid_json")
    for name in doc:
        if name not in CHAT.names:
            raise InvalidRequestError(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
    messages = doc.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequestError("messages must be a non-empty array", param="messages")
    index, last = _last_user(messages)
    prompt, sources = _content(last.get("content"), f"messages[{index}].content")
    if not prompt:
        raise InvalidRequestError("the last user message has no text", param=f"messages[{index}].content")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidRequestError(
            f"the prompt is longer than {MAX_PROMPT_CHARS} characters", param="messages"
        )
    model = doc.get("model")
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequestError("model is required", param="model", code="missing_required_parameter")
    return ChatParams(
        model=model.strip(),
        prompt=prompt,
        n=parse_n(doc.get("n")),
        stream=_bool(doc.get("stream"), "stream"),
        include_usage=_include_usage(doc.get("stream_options")),
        progress=_progress(doc.get("progress")),
        sources=tuple(sources),
        history_image=_history_image(messages[:index]),
        size=_optional(doc.get("size"), "size"),
        seconds=doc.get("seconds") if isinstance(doc.get("seconds"), str | int) else None,
        quality=_optional(doc.get("quality"), "quality"),
    )


def _last_user(messages: list[Any]) -> tuple[int, dict[str, Any]]:
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if not isinstance(role, str) or role not in ROLES:  # a list or an object cannot be looked up
            raise InvalidRequestError(
                "each message needs a role (system, user, assistant, ...)", param=f"messages[{i}]"
            )
    for i in range(len(messages) - 1, -1, -1):
        if messages[i]["role"] == "user":
            return i, messages[i]
    raise InvalidRequestError("no user message to take the prompt from", param="messages")


def _content(content: Any, param: str) -> tuple[str, list[ImageSource]]:
    if isinstance(content, str):
        return content.strip(), []
    if not isinstance(content, list):
        raise InvalidRequestError("content must be a string or an array of parts", param=param)
    texts: list[str] = []
    sources: list[ImageSource] = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url":
            url = part.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            if not isinstance(url, str) or not url:
                raise InvalidRequestError("image_url needs a url", param=f"{param}[{j}].image_url")
            sources.append(_source(url, f"{param}[{j}].image_url"))
        else:
            raise InvalidRequestError("parts must be text or image_url", param=f"{param}[{j}]")
    return "\n".join(t.strip() for t in texts if t.strip()), sources


def _source(url: str, param: str) -> ImageSource:
    """An image URL; one of this gateway's own media URLs becomes that media's id (no re-download)."""
    if url.startswith(("http://", "https://")):
        match = _OWN_MEDIA.search(yarl.URL(url).path)
        if match:
            return ImageSource(param=param, value=match["id"])
    return ImageSource(param=param, value=url)


def _history_image(earlier: list[dict[str, Any]]) -> ImageSource | None:
    """The newest markdown image in an assistant message before the last user message."""
    for i in range(len(earlier) - 1, -1, -1):
        message = earlier[i]
        content = message.get("content")
        if message["role"] != "assistant" or not isinstance(content, str):
            continue
        found = _MARKDOWN_IMAGE.findall(content)
        if found:
            return _source(found[-1], f"messages[{i}].content")
    return None


def _bool(value: Any, param: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidRequestError(f"{param} must be true or false", param=param)
    return value


def _include_usage(value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, dict):
        raise InvalidRequestError("stream_options must be an object", param="stream_options")
    return value.get("include_usage") is True


def _progress(value: Any) -> str | None:
    if value is None:
        return None
    if value not in PROGRESS_MODES:
        raise InvalidRequestError(f"progress must be one of {', '.join(PROGRESS_MODES)}", param="progress")
    return str(value)


def _optional(value: Any, param: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(f"{param} must be a string", param=param)
    return value
