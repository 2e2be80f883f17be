"""Follow-ups of a finished video on the simulator's batchexecute: ``p0UkFb`` (upscale), ``fZytfe``
(extend) and ``jIps6`` (Omni Flash's edit), in the captured shapes (evidence ``video_followups.json``;
research video-image-rpcs.md §4-§5).

``p0UkFb`` is ``[[row], ctx, [uuid] | [uuid, 1]]`` with a row of exactly 32 slots: [0] ``[null,
sourceMediaId]``, [2] aspect, [3] an optional int seed, [4] ``[null, sourceWorkflowId, null, null,
uuid]``, [6] the target (1 = 720p, 2 = 1080p, 3 = 4K), [31] the upsampler key, whose output
resolution must be the target and whose source resolution the source's. The source goes by media id
in [0] and by generation id in [4][1]: a wrong id in [4][1] is accepted (and charged) and the job
then ends FAILED as NOT_FOUND, as live reports describe. The new job's id is
``<sourceMediaId>_upsampled`` (1080p, dacvuips and gflow [L]) or ``<sourceMediaId>_4k_upsampled``
(4K, a builder checked against captures); ``_720p_upsampled`` (360p Omni → 720p) is the simulator's
guess.

``fZytfe`` is the standalone shape (Fograd's reading of the bundle): ``[[item, …], ctx, [uuid, 1]]``,
item ``[[null, sourceMediaId, trimStart?, trimEnd?], prompt, key, aspect, null, ids]`` with the
source a finished video of the account in the project of the source path, the aspect the source's.

``jIps6`` is ``[[item], ctx, [uuid, 1|2]]``, item ``[[null, sourceMediaId, startFrame, endFrame],
prompt, key, aspect, ids, null, null, null, [image refs], [audio], [entities], [likenesses], output?]``
(an unattributed Go gateway's ``flowBatchArgs``): the source a finished video of the account in the
project, any aspect (an edit may reframe), frames 0 to its end; the new clip keeps its length.
"""

from __future__ import annotations

from typing import Any

from gateway.simulator.batch_status import owned
from gateway.simulator.batch_video import (
    ASPECT_CODES,
    NEEDS,
    SUBMIT_TRAILERS,
    Job,
    create,
    envelope,
    video_usage,
)
from gateway.simulator.batchexecute_core import (
    RpcError,
    check_ctx,
    check_ids,
    int_of,
    is_uuid,
    project_of_path,
    prompt_of,
)
from gateway.simulator.call import Call
from gateway.simulator.catalogue import catalogue
from gateway.simulator.state import JobFailure, Media
from gateway.simulator.timeline import SUCCESSFUL

UPSCALE_SLOTS = 32
UPSCALE_FILLED = frozenset({0, 2, 3, 4, 6, 31})
UPSCALE_NEEDS = (frozenset({15}), frozenset({16}), frozenset({21}))
UPSCALE_IDS = {1: "_720p_upsampled", 2: "_upsampled", 3: "_4k_upsampled"}
FRAMES_PER_SECOND = 24
EDIT_HEAD, EDIT_SLOTS, EDIT_REFS = 5, 13, 8  # [source, prompt, key, aspect, ids], 8 optional slots, refs
# What a record shows when an upscale named its source by the wrong id (U-pf saw the message).
NOT_FOUND = JobFailure([4, [5, "Media not found."], ["Media not found."], [1]], 5, "Media not found.")


async def upscale(call: Call, inner: Any, source_path: str) -> object:
    """``p0UkFb``: a finished video of the account to a higher resolution."""
    del source_path  # the context's project may be null: Flow finds the project from the media
    items, ctx, batch = envelope(inner, ((), (1,)), max_items=1)
    source_id, workflow, aspect, target, key = _upscale_row(items[0])
    source = owned(call, source_id, ("video",))
    if call.video_status(source) != SUCCESSFUL:
        raise RpcError(3)
    usage = catalogue(call.owner.spec.cohort).video_usage(key)
    if (
        usage is None
        or not any(usage.fits(need) for need in UPSCALE_NEEDS)
        or usage.resolution != target
        or source.resolution not in usage.sources
        or aspect not in usage.aspects
    ):
        raise RpcError(3)
    check_ctx(call, ctx, project=None, action="VIDEO_GENERATION")
    name = f"{source.name}{UPSCALE_IDS[target]}"
    existing = call.world.media.get(name)
    if existing is not None and existing.fail is None:
        raise RpcError(9, "PUBLIC_ERROR_GENERATION_ALREADY_IN_PROGRESS")  # the simulator's guess
    fail = None if workflow == source.workflow else NOT_FOUND
    job = Job(source.prompt, usage, aspect, name=name, seconds=source.seconds, fail=fail)
    return create(call, source.project_id, [job], batch)


def _upscale_row(row: list[Any]) -> tuple[object, object, int, int, object]:
    """(source media id, source workflow id, aspect, target, key) of a 32-slot row; ``[3]`` otherwise."""
    if len(row) != UPSCALE_SLOTS or any(
        row[i] is not None for i in range(UPSCALE_SLOTS) if i not in UPSCALE_FILLED
    ):
        raise RpcError(3)
    source, ref, seed = row[0], row[4], row[3]
    aspect, target = int_of(row[2]), int_of(row[6])
    if not (isinstance(source, list) and len(source) == 2 and source[0] is None):
        raise RpcError(3)
    if not (isinstance(ref, list) and len(ref) == 5 and ref[0] is None and ref[2:4] == [None, None]):
        raise RpcError(3)
    if not is_uuid(ref[4]) or (seed is not None and int_of(seed) is None):
        raise RpcError(3)
    if aspect is None or target not in UPSCALE_IDS or not isinstance(row[31], str):
        raise RpcError(3)
    return source[1], ref[1], aspect, target, row[31]


async def extend(call: Call, inner: Any, source_path: str) -> object:
    """``fZytfe``: continue finished videos of the account (1-4 items)."""
    project = project_of_path(call, source_path)
    items, ctx, batch = envelope(inner, ((1,),))
    jobs = [_extension(call, item, project) for item in items]
    check_ctx(call, ctx, project=project, action="VIDEO_GENERATION")
    return create(call, project, jobs, batch)


def _extension(call: Call, item: list[Any], project: str) -> Job:
    if len(item) != 6 or item[4] is not None:
        raise RpcError(3)
    reference, block, key, aspect, _, ids = item
    check_ids(ids)
    source = _source(call, reference, project)
    usage = video_usage(call, key, NEEDS["fZytfe"], aspect)
    if aspect != ASPECT_CODES[source.aspect]:
        raise RpcError(3)
    return Job(prompt_of(block), usage, aspect)


def _source(call: Call, reference: Any, project: str) -> Media:
    """``[null, mediaId, trimStart?, trimEnd?]`` (trailing nulls popped): a finished video of the
    account in ``project``, the frame window within it (24 fps, 1-based)."""
    if not isinstance(reference, list) or not 2 <= len(reference) <= 4 or reference[0] is not None:
        raise RpcError(3)
    if reference[-1] is None:
        raise RpcError(3)
    source = owned(call, reference[1], ("video",))
    if source.project_id != project:
        raise RpcError(5)
    if call.video_status(source) != SUCCESSFUL:
        raise RpcError(3)
    last = source.seconds * FRAMES_PER_SECOND
    start, end = (_frame_number(value, last) for value in [*reference[2:], None, None][:2])
    if start is not None and end is not None and start > end:
        raise RpcError(3)
    return source


def _frame_number(value: object, last: int) -> int | None:
    """A trim bound: None, or a frame of the source (1 to ``last``); ``[3]`` otherwise."""
    if value is None:
        return None
    number = int_of(value)
    if number is None or not 1 <= number <= last:
        raise RpcError(3)
    return number


async def edit(call: Call, inner: Any, source_path: str) -> object:
    """``jIps6``: rework finished videos of the account with Omni Flash (1-4 items)."""
    project = project_of_path(call, source_path)
    items, ctx, batch = envelope(inner, SUBMIT_TRAILERS)
    jobs = [_edition(call, item, project) for item in items]
    check_ctx(call, ctx, project=project, action="VIDEO_GENERATION")
    return create(call, project, jobs, batch)


def _edition(call: Call, item: list[Any], project: str) -> Job:
    if not EDIT_HEAD <= len(item) <= EDIT_SLOTS or any(
        v is not None for v in item[EDIT_HEAD : EDIT_HEAD + 3]
    ):
        raise RpcError(3)
    reference, block, key, aspect, ids = item[:EDIT_HEAD]
    check_ids(ids)
    refs = item[EDIT_REFS] if len(item) > EDIT_REFS else []
    if not isinstance(refs, list):
        raise RpcError(3)
    source = _whole_source(call, reference, project)
    usage = video_usage(call, key, NEEDS["jIps6"] | ({6} if refs else set()), aspect)
    return Job(prompt_of(block), usage, aspect, seconds=source.seconds)


def _whole_source(call: Call, reference: Any, project: str) -> Media:
    """``[null, mediaId, startFrame, endFrame]``: a finished video of the account in ``project``, the
    window within it (24 fps, from 0)."""
    if not isinstance(reference, list) or len(reference) != 4 or reference[0] is not None:
        raise RpcError(3)
    source = _source(call, reference[:2], project)
    start, end = int_of(reference[2]), int_of(reference[3])
    if start is None or end is None or not 0 <= start < end <= source.seconds * FRAMES_PER_SECOND:
        raise RpcError(3)
    return source
