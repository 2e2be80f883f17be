"""``POST /v1/chat/completions`` for image and video models (api.md §5): streamed or not.

Each choice is a durable task. A stream starts once the request is valid (a bad request still gets
a normal error response), names the task ids in its first chunk (and ``x-flow-task-ids``), sends
progress lines (``delta.reasoning_content`` by default; ``progress: "content"|"off"``), a
``: keep-alive`` comment whenever nothing else was sent for ``[tasks] keepalive`` seconds, the
result as markdown (an image) or a ``<video>`` tag and a link, then ``[DONE]``. When every choice
failed, the stream ends with ``data: {"error": …}`` and no ``[DONE]``. A client that leaves stops
the stream, never the tasks.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

import orjson
import structlog
from aiohttp import web
from aiohttp_sse import EventSourceResponse

from gateway import keys
from gateway.api.admission import chat_usage, gate_of
from gateway.api.chat_schemas import ChatParams, parse_chat_request
from gateway.api.forms import limits_of, read_form
from gateway.api.images import header_groups
from gateway.api.render import json_response, media_url, peer_closed
from gateway.domain import Kind, TaskRecord, TaskStatus
from gateway.errors import error_for_code
from gateway.service.chat import ChatOrder
from gateway.service.progress import estimate
from gateway.service.tasks import TaskEngine

log = structlog.get_logger("gateway.api.chat")
KEEP_ALIVE = b": keep-alive\n\n"
PROGRESS_TICK = 3.0
# A write to a closed connection (or a drain it lost); TimeoutError: aiohttp-sse's send_timeout
# gave up on a stalled client.
DISCONNECTS = (ConnectionError, TimeoutError)
STAGE_WORDS = {
    "queued": "waiting for a Flow account",
    "submitting": "submitting to Flow",
    "generating": "generating",
    "upscaling": "upscaling",
    "downloading": "downloading the result",
}


@dataclass(slots=True)
class _Choice:
    index: int
    task_id: str
    shown: str = ""
    done: bool = False
    ok: bool = False
    failure: TaskRecord | None = None


@dataclass(slots=True)
class _Stream:
    """One chat stream: its chunk envelope and how progress is shown."""

    id: str
    created: int
    model: str
    progress: str
    usage: bool
    credits_each: int = 0  # what one choice costs (usage: the choices completed, at this)
    last_sent: float = field(default_factory=time.monotonic)

    def chunk(self, index: int, delta: dict[str, object], finish: str | None = None) -> str:
        doc: dict[str, object] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self.usage:
            doc["usage"] = None
        return orjson.dumps(doc).decode()

    def progress_delta(self, text: str) -> dict[str, object] | None:
        if self.progress == "off":
            return None
        return {"content": text} if self.progress == "content" else {"reasoning_content": text}


async def chat_completions(request: web.Request) -> web.StreamResponse:
    """Start the tasks (validation errors answer normally), then stream or wait."""
    params = parse_chat_request((await read_form(request, limits_of(request))).json)
    order = ChatOrder(
        model=params.model,
        prompt=params.prompt,
        owner=request[keys.LICENCE].id,
        n=params.n,
        sources=params.sources,
        history_image=params.history_image,
        groups=header_groups(request),
        size=params.size,
        seconds=params.seconds,
        quality=params.quality,
    )
    gate = gate_of(request)
    records = await request.app[keys.CHAT].start(order, gate=gate)
    if params.stream:
        return await _stream(request, params, records, gate.credits_each)
    return await _complete(request, params, records, gate.credits_each)


def final_content(request: web.Request, record: TaskRecord) -> str:
    """The result as the message content: markdown images, or a ``<video>`` tag and a link."""
    if record.kind is Kind.VIDEO:
        url = media_url(request, record.results[0], made_at=record.completed_at)
        return f"<video src='{url}' controls style='max-width:100%'></video>\n\n[Download the video]({url})"
    links = (media_url(request, m, made_at=record.completed_at) for m in record.results)
    return "\n\n".join(f"![image {i}]({url})" for i, url in enumerate(links, 1))


def _failure_text(record: TaskRecord) -> str:
    return f"Generation failed ({record.error_code}): {record.error_message}"


def _progress_line(request: web.Request, record: TaskRecord) -> str:
    stage = STAGE_WORDS.get(record.stage.value, record.stage.value)
    if record.status is TaskStatus.IN_PROGRESS:
        return f"{stage}… {estimate(record, time.time(), request.app[keys.SETTINGS].tasks)}%\n"
    return f"{stage}…\n"


def _vanished(record: TaskRecord) -> TaskRecord:
    """A task that stopped existing before it finished (deleted meanwhile), as a failure."""
    return replace(
        record, status=TaskStatus.FAILED, error_code="not_found", error_message="the task was deleted"
    )


async def _last(engine: TaskEngine, record: TaskRecord, every: float) -> AsyncIterator[TaskRecord]:
    """Every version of a task until it finishes, ending with a failure if it vanished first."""
    last = record
    async for last in engine.watch(record.id, every=every):
        yield last
    if not last.status.finished:
        yield _vanished(last)


async def _pump(
    engine: TaskEngine,
    choice: _Choice,
    record: TaskRecord,
    every: float,
    out: asyncio.Queue[tuple[_Choice, TaskRecord]],
) -> None:
    async for version in _last(engine, record, every):
        await out.put((choice, version))


async def _stream(
    request: web.Request, params: ChatParams, records: list[TaskRecord], credits_each: int
) -> web.StreamResponse:
    settings = request.app[keys.SETTINGS].tasks
    ids = [r.id for r in records]
    response = EventSourceResponse(
        allow_all_methods=True, sep="\n", ping_interval=3600, headers={"x-flow-task-ids": ",".join(ids)}
    )
    stream = _Stream(
        f"chatcmpl-{secrets.token_hex(12)}",
        int(time.time()),
        params.model,
        params.progress or request[keys.LICENCE].progress or settings.chat_progress,
        params.include_usage,
        credits_each,
    )
    choices = [_Choice(i, record.id) for i, record in enumerate(records)]
    await response.prepare(request)
    try:
        async with response:
            for choice in choices:
                await _send(
                    response, stream, stream.chunk(choice.index, {"role": "assistant", "content": ""})
                )
                note = stream.progress_delta(f"Task {choice.task_id} created\n")
                if note is not None:
                    await _send(response, stream, stream.chunk(choice.index, note))
            await _follow(request, response, stream, list(zip(choices, records, strict=True)))
    except (*DISCONNECTS, ExceptionGroup) as exc:  # grouped when written inside _follow's TaskGroup
        if not _is_disconnect(exc):
            raise
        _client_left(request, ids)
    except asyncio.CancelledError:
        if not peer_closed(request):
            raise  # a shutdown, not the client: nothing to say here
        _client_left(request, ids)  # servers that cancel a handler when its client leaves
        raise
    return response


def _is_disconnect(exc: BaseException) -> bool:
    """True when ``exc`` (or every exception of its group) is a write to a client that is gone."""
    if isinstance(exc, BaseExceptionGroup):
        return exc.split(DISCONNECTS)[1] is None
    return isinstance(exc, DISCONNECTS)


def _client_left(request: web.Request, ids: list[str]) -> None:
    """One info line: the client closed its stream; the tasks go on (their ids were in the first chunk)."""
    log.info("chat_stream_client_disconnected", tasks=ids, path=request.path)


async def _follow(
    request: web.Request,
    response: EventSourceResponse,
    stream: _Stream,
    followed: list[tuple[_Choice, TaskRecord]],
) -> None:
    choices = [choice for choice, _ in followed]
    every = request.app[keys.SETTINGS].tasks.keepalive
    tick = min(every, PROGRESS_TICK)  # progress is an estimate that moves with time: look again often
    out: asyncio.Queue[tuple[_Choice, TaskRecord]] = asyncio.Queue()
    async with asyncio.TaskGroup() as group:
        pumps = [group.create_task(_pump(request.app[keys.TASKS], c, r, tick, out)) for c, r in followed]
        while not all(c.done for c in choices):
            choice, record = await out.get()
            await _on_record(request, response, stream, choices, choice, record)
            if time.monotonic() - stream.last_sent >= every:
                await response.write(KEEP_ALIVE)
                stream.last_sent = time.monotonic()
        for pump in pumps:
            pump.cancel()
    if any(c.ok for c in choices):
        if stream.usage:  # the same usage as the answer without a stream
            usage = chat_usage(stream.credits_each * sum(c.ok for c in choices))
            doc = orjson.loads(stream.chunk(0, {}))
            doc["choices"], doc["usage"] = [], usage
            await _send(response, stream, orjson.dumps(doc).decode())
        await _send(response, stream, "[DONE]")


async def _on_record(  # noqa: PLR0913 - the stream's parts, by name
    request: web.Request,
    response: EventSourceResponse,
    stream: _Stream,
    choices: list[_Choice],
    choice: _Choice,
    record: TaskRecord,
) -> None:
    if choice.done:
        return
    if record.status is TaskStatus.COMPLETED:
        choice.done = choice.ok = True
        await _send(response, stream, stream.chunk(choice.index, {"content": final_content(request, record)}))
        await _send(response, stream, stream.chunk(choice.index, {}, "stop"))
        return
    if record.status is TaskStatus.FAILED:
        choice.done, choice.failure = True, record
        if all(c.done and not c.ok for c in choices):
            error = error_for_code(record.error_code, record.error_message)
            await _send(response, stream, orjson.dumps(error.body()).decode())
            return
        if any(c.ok for c in choices) or not all(c.done for c in choices):
            await _send(response, stream, stream.chunk(choice.index, {"content": _failure_text(record)}))
            await _send(response, stream, stream.chunk(choice.index, {}, "stop"))
        return
    line = _progress_line(request, record)
    delta = stream.progress_delta(line)
    if delta is not None and line != choice.shown:
        choice.shown = line
        await _send(response, stream, stream.chunk(choice.index, delta))


async def _send(response: EventSourceResponse, stream: _Stream, data: str) -> None:
    await response.send(data)
    stream.last_sent = time.monotonic()


async def _complete(
    request: web.Request, params: ChatParams, records: list[TaskRecord], credits_each: int
) -> web.Response:
    """Wait for every choice; all failed: the first failure as an error response."""
    engine, every = request.app[keys.TASKS], request.app[keys.SETTINGS].tasks.keepalive
    finals = []
    for record in records:
        last = record
        async for last in _last(engine, record, every):  # noqa: B007 - the last version is the result
            pass
        finals.append(last)
    if all(r.status is not TaskStatus.COMPLETED for r in finals):
        raise error_for_code(finals[0].error_code, finals[0].error_message)
    contents = [
        final_content(request, r) if r.status is TaskStatus.COMPLETED else _failure_text(r) for r in finals
    ]
    completed = sum(r.status is TaskStatus.COMPLETED for r in finals)
    return json_response(
        {
            "id": f"chatcmpl-{secrets.token_hex(12)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": params.model,
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
                for i, content in enumerate(contents)
            ],
            "usage": chat_usage(credits_each * completed),
            "system_fingerprint": None,
        },
        headers={"x-flow-task-ids": ",".join(r.id for r in finals)},
    )
