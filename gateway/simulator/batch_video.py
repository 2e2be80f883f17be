"""The generating video submits on the simulator's batchexecute: ``YhhmEf`` (text), ``eb1hJf`` (start
frame), ``nprQif`` (first and last frame), ``MZZa6b`` (reference images), in the captured shapes
(evidence ``video_submits.json``; research video-image-rpcs.md §1, §8).

A call is ``[[item, …], ctx, [uuid, 1|2]]`` with 1-4 items; an item is
``[prompt, key, aspect, null, (frame, …), [null×4, uuid, uuid], …]`` (``MZZa6b``:
``[prompt, [[null, id], …], key, aspect, null, ids, …]``); optional slots may follow the id block.
Each key is checked against the account's catalogue (``catalogue.py``): a key the catalogue lacks,
whose inputs do not fit the RPC or whose aspects do not include the asked one answers ``[3]``; one
not offered at the account's service tier ``[7]`` with PublicAitkError MODEL_ACCESS_DENIED; too few
credits ``[8]`` with ErrorInfo PUBLIC_ERROR_USER_QUOTA_REACHED. Credits are the catalogue's, at the
service tier. Every submit (these four, ``fZytfe`` and ``p0UkFb``) answers
``[null, balanceAfterCharge, [workflowRow, …], [record, …]]``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from gateway.simulator.batch_status import owned, record
from gateway.simulator.batchexecute_core import (
    RpcError,
    check_ctx,
    check_ids,
    check_trailer,
    project_of_path,
    prompt_of,
)
from gateway.simulator.call import Call
from gateway.simulator.catalogue import Usage, catalogue, service_tier
from gateway.simulator.records import workflow_row
from gateway.simulator.state import JobFailure, Media

VIDEO_ASPECTS = {1: "VIDEO_ASPECT_RATIO_PORTRAIT", 2: "VIDEO_ASPECT_RATIO_LANDSCAPE"}
ASPECT_CODES = {name: code for code, name in VIDEO_ASPECTS.items()}
# The inputs (catalogue requirement ints) each RPC gives its key.
NEEDS = {
    "YhhmEf": frozenset({1}),
    "eb1hJf": frozenset({1, 5}),
    "nprQif": frozenset({1, 5, 7}),
    "MZZa6b": frozenset({1, 6}),
    "fZytfe": frozenset({1, 14}),
    "jIps6": frozenset({1, 20}),
}
FRAMES = {"YhhmEf": 0, "eb1hJf": 1, "nprQif": 2}
# A submit's trailer: [uuid, audio-failure preference] (2 in every capture, 1 in gflow's first).
SUBMIT_TRAILERS = ((1,), (2,))
MAX_ITEMS = 4


@dataclass(frozen=True, slots=True)
class Job:
    """One checked output of a submit."""

    prompt: str
    usage: Usage
    aspect: int
    name: str | None = None  # the id Flow gives it (upscales); a fresh uuid otherwise
    seconds: int | None = None  # the source's length (upscales); the key's otherwise
    fail: JobFailure | None = None  # how the request itself dooms it (an upscale of a wrong id)


def envelope(
    inner: Any, trailers: tuple[tuple[int, ...], ...], max_items: int = MAX_ITEMS
) -> tuple[list[Any], Any, str]:
    """``[[item, …], ctx, trailer]``: the items (1 to ``max_items`` lists), the context, the batch uuid."""
    if not isinstance(inner, list) or len(inner) != 3 or not isinstance(inner[0], list):
        raise RpcError(3)
    items = inner[0]
    if not 1 <= len(items) <= max_items or not all(isinstance(item, list) for item in items):
        raise RpcError(3)
    return items, inner[1], check_trailer(inner[2], trailers)


def video_usage(call: Call, key: object, need: frozenset[int], aspect: object) -> Usage:
    """The catalogue usage of ``key`` if it takes ``need`` at ``aspect``; ``[3]`` otherwise."""
    usage = catalogue(call.owner.spec.cohort).video_usage(key)
    if usage is None or not usage.fits(need) or aspect not in usage.aspects:
        raise RpcError(3)
    return usage


async def submit(call: Call, inner: Any, source_path: str) -> object:
    """``YhhmEf`` / ``eb1hJf`` / ``nprQif`` / ``MZZa6b``: 1-4 video jobs."""
    project = project_of_path(call, source_path)
    items, ctx, batch = envelope(inner, SUBMIT_TRAILERS)
    jobs = [_generation(call, item) for item in items]
    check_ctx(call, ctx, project=project, action="VIDEO_GENERATION")
    return create(call, project, jobs, batch)


def _generation(call: Call, item: list[Any]) -> Job:
    rpcid = call.rpcid
    if rpcid == "MZZa6b":
        if len(item) < 6 or not isinstance(item[1], list) or not item[1]:
            raise RpcError(3)
        block, frames, key, aspect, gap, ids = item[:6]
    else:
        count = FRAMES[rpcid]
        if len(item) < 5 + count:
            raise RpcError(3)
        block, key, aspect, gap = item[:4]
        frames, ids = item[4 : 4 + count], item[4 + count]
    if gap is not None:
        raise RpcError(3)
    check_ids(ids)
    usage = video_usage(call, key, NEEDS[rpcid], aspect)
    if rpcid == "MZZa6b" and len(frames) > (usage.max_images or 0):
        raise RpcError(3)
    prompt = prompt_of(block)
    for frame in frames:
        _frame(call, frame)
    return Job(prompt, usage, aspect)


def _frame(call: Call, frame: Any) -> None:
    """A start/end frame or reference ``[null, mediaId, …]``: an image of the account, else ``[5]``."""
    if not isinstance(frame, list) or len(frame) < 2 or frame[0] is not None:
        raise RpcError(3)
    owned(call, frame[1], ("upload", "image"))


def create(call: Call, project: str, jobs: list[Job], batch: str) -> object:
    """Charge and create ``jobs``: ``[null, balance, [workflowRow, …], [record, …]]``.

    Access is checked once the token is spent (a refusal costs no credits): a key not offered at the
    account's service tier answers ``[7]`` MODEL_ACCESS_DENIED, too few credits ``[8]``.
    """
    tier = service_tier(call.owner.spec.tier)
    costs = [job.usage.cost(tier) for job in jobs]
    if any(cost is None for cost in costs):
        raise RpcError(7, "PUBLIC_ERROR_MODEL_ACCESS_DENIED", "int")
    total = sum(cost or 0 for cost in costs)
    if total > call.owner.credits:
        raise RpcError(8, "PUBLIC_ERROR_USER_QUOTA_REACHED")
    call.owner.credits -= total
    media = [_add(call, project, job, batch) for job in jobs]
    return [None, call.owner.credits, [workflow_row(m) for m in media], [record(call, m) for m in media]]


def _add(call: Call, project: str, job: Job, batch: str) -> Media:
    return call.world.add_media(
        Media(
            job.name or call.world.new_media_name(),
            "video",
            call.owner.spec.session_token,
            project,
            aspect=VIDEO_ASPECTS[job.aspect],
            prompt=job.prompt,
            seed=secrets.randbelow(1_000_000),
            model=job.usage.key,
            fail=job.fail or call.job_failure(),
            stuck=call.job_stuck,
            batch=batch,
            seconds=job.seconds or job.usage.seconds or 8,
            resolution=job.usage.resolution,
        )
    )
