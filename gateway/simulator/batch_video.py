"""Video RPCs on the simulator's batchexecute (flow-migration.md §2.5-§2.6).

Submits (``YhhmEf`` text, ``eb1hJf`` start frame, ``nprQif`` start+end, ``MZZa6b`` references,
``fZytfe`` extend, ``p0UkFb`` upscale) answer ``[null, 1, [[workflow]], [[record]]]``; ``jwpduf`` polls
many jobs; ``as29s`` returns a record whose ``[7][0][8]`` is the signed video URL and whose details
``[10]`` is the poster. Status in details ``[8]``: ``[6]`` submitted, ``[2]`` running, ``[3]`` done,
``[4, [3, "PUBLIC_ERROR_…"], ["REASON"], [1]]`` failed (the ``video_failed`` fault's reason); a
``video_stuck`` fault keeps a job at ``[2]`` forever. Keys carry the duration (8 s is the bare key);
the REST-era ``_portrait``/``_fl``/``_relaxed`` suffixes are refused, aspect is its own slot.
"""

from __future__ import annotations

import re
from typing import Any

from gateway.simulator.batchexecute_core import RpcError, check_ctx, project_of_path
from gateway.simulator.call import Call
from gateway.simulator.state import Media
from gateway.simulator.timeline import FAILED, PENDING, SUCCESSFUL, video_status

VIDEO_ASPECTS = {1: "VIDEO_ASPECT_RATIO_PORTRAIT", 2: "VIDEO_ASPECT_RATIO_LANDSCAPE"}
_KEY = re.compile(r"^(veo_3_1|abra|omni)_[a-z0-9_]+$")
_REST_ERA = re.compile(r"_(portrait|fl|relaxed)(_|$)")
STATUS_CODES = {PENDING: [6], "MEDIA_GENERATION_STATUS_ACTIVE": [2], SUCCESSFUL: [3]}
# p0UkFb upsampler keys → the suffix of the upscaled job's id. flow-migration.md §2.5 confirms only
# 1080p (``<mediaId>_upsampled``); the 4K key and its ``_upsampled_4k`` id are the simulator's guess.
UPSCALERS = {"veo_3_1_upsampler_1080p": "_upsampled", "veo_3_1_upsampler_4k": "_upsampled_4k"}
ULTRA_UPSCALERS = frozenset({"veo_3_1_upsampler_4k"})


def _prompt(block: Any) -> str:
    try:
        text = block[2][0][0][0]
    except (TypeError, IndexError, KeyError):
        raise RpcError(3) from None
    if not isinstance(text, str) or not text:
        raise RpcError(3)
    return text


def _key(value: Any) -> str:
    if not isinstance(value, str) or not _KEY.match(value) or _REST_ERA.search(value):
        raise RpcError(3)
    return value


def _aspect(value: Any) -> str:
    if value not in VIDEO_ASPECTS:
        raise RpcError(3)
    return VIDEO_ASPECTS[value]


def _owned(call: Call, media_id: Any, kinds: tuple[str, ...]) -> Media:
    media = call.world.media.get(media_id) if isinstance(media_id, str) else None
    if media is None or media.owner != call.owner.spec.session_token or media.kind not in kinds:
        raise RpcError(5)
    return media


def _item(inner: Any) -> list[Any]:
    if not isinstance(inner, list) or len(inner) < 3 or not isinstance(inner[0], list) or len(inner[0]) != 1:
        raise RpcError(3)
    item = inner[0][0]
    if not isinstance(item, list):
        raise RpcError(3)
    return item


def _frame(call: Call, frame: Any) -> None:
    if not isinstance(frame, list) or len(frame) < 2:
        raise RpcError(3)
    _owned(call, frame[1], ("upload", "image"))


async def submit(call: Call, inner: Any, source_path: str) -> object:
    """``YhhmEf`` / ``eb1hJf`` / ``nprQif`` / ``MZZa6b``: one video job."""
    project = project_of_path(call, source_path)
    item = _item(inner)
    rpcid = call.stat_name.removeprefix("batch.") if call.stat_name else ""
    if rpcid == "MZZa6b":
        refs = item[1] if len(item) > 1 and isinstance(item[1], list) else None
        if not refs or not 1 <= len(refs) <= 3:
            raise RpcError(3)
        for ref in refs:
            _frame(call, ref)
        prompt, key, aspect = _prompt(item[0]), _key(item[2]), _aspect(item[3])
    else:
        prompt, key, aspect = _prompt(item[0]), _key(item[1]), _aspect(item[2])
        frames = {"eb1hJf": 1, "nprQif": 2}.get(rpcid, 0)
        for frame in item[4 : 4 + frames]:
            _frame(call, frame)
    check_ctx(call, inner[1], project=project, action="VIDEO_GENERATION")
    return _created(call, _job(call, project, aspect=aspect, prompt=prompt, key=key))


async def extend(call: Call, inner: Any, source_path: str) -> object:
    """``fZytfe``: continue a finished video of the account."""
    project = project_of_path(call, source_path)
    item = _item(inner)
    source = item[0] if isinstance(item[0], list) and len(item[0]) > 1 else None
    media = _owned(call, source[1] if source else None, ("video",))
    if video_status(media, call.world.config) != SUCCESSFUL:
        raise RpcError(3)
    prompt, key, aspect = _prompt(item[1]), _key(item[2]), _aspect(item[3])
    check_ctx(call, inner[1], project=project, action="VIDEO_GENERATION")
    return _created(call, _job(call, project, aspect=aspect, prompt=prompt, key=key))


async def upscale(call: Call, inner: Any, source_path: str) -> object:
    """``p0UkFb``: upscale a finished video to 1080p (id ``<mediaId>_upsampled``) or to 4K.

    4K (``veo_3_1_upsampler_4k``, id ``<mediaId>_upsampled_4k``) is a guess: flow-migration.md only
    confirms 1080p. It is refused with ``[7]`` unless the account is PAYGATE_TIER_TWO, as REST refuses
    the 4K upsampler and ``SPrCad`` refuses 4K images.
    """
    del source_path
    item = _item(inner)
    if len(item) != 32 or item[31] not in UPSCALERS or not isinstance(item[0], list):
        raise RpcError(3)
    media = _owned(call, item[0][1] if len(item[0]) > 1 else None, ("video",))
    if video_status(media, call.world.config) != SUCCESSFUL:
        raise RpcError(3)
    check_ctx(call, inner[1], project=None, action="VIDEO_GENERATION")
    if item[31] in ULTRA_UPSCALERS and call.owner.spec.tier != "PAYGATE_TIER_TWO":
        raise RpcError(7)  # before _job, so a refused upscale costs no credits
    job = _job(
        call,
        media.project_id,
        aspect=media.aspect,
        prompt=media.prompt,
        key=item[31],
        name=f"{media.name}{UPSCALERS[item[31]]}",
    )
    return _created(call, job)


def _job(  # noqa: PLR0913 - keyword-only fields of the job
    call: Call, project: str, *, aspect: str, prompt: str, key: str, name: str | None = None
) -> Media:
    credits = call.world.config.video_credits
    speed = next(
        (s for s in ("relaxed", "lite", "fast") if s in key), "upsample" if "upsampler" in key else "quality"
    )
    if credits.get(speed, 0) > call.owner.credits:
        raise RpcError(8)
    call.owner.credits -= credits.get(speed, 0)
    return call.world.add_media(
        Media(
            name or call.world.new_media_name(),
            "video",
            call.owner.spec.session_token,
            project,
            aspect=aspect,
            prompt=prompt,
            seed=7,
            model=key,
            fail=call.job_failure(),
            stuck=call.job_stuck,
        )
    )


def _created(call: Call, media: Media) -> object:
    workflow = [media.name, media.project_id, None, [media.prompt]]
    return [None, 1, [[workflow]], [[record(call, media)]]]


def record(call: Call, media: Media, *, with_urls: bool = False) -> list[object]:
    """The media record; URLs only in ``as29s`` answers (poll answers carry none)."""
    status = video_status(media, call.world.config)
    details: list[object] = [None] * 14
    if status == FAILED and media.fail is not None:
        reason = media.fail[2] or "PUBLIC_ERROR_INTERNAL"
        details[8] = [4, [3, reason], [reason.removeprefix("PUBLIC_ERROR_")], [1]]
    else:
        details[8] = STATUS_CODES[status]
    info: list[object] = [None] * 9
    if status == SUCCESSFUL:
        details[13] = len(call.world.video_bytes(media))
        if with_urls:
            video_path, poster_path = f"/video/{media.name}", f"/image/{media.name}"
            info[8] = f"{call.origin()}{video_path}?{call.world.signed_query(video_path)}"
            details[10] = f"{call.origin()}{poster_path}?{call.world.signed_query(poster_path)}"
    return [media.name, media.project_id, media.name.upper(), "CAE", None, details, None, [info]]


async def poll(call: Call, inner: Any, source_path: str) -> object:
    """``jwpduf``: ``[null, null, [["id"], …]]`` → the records of the account's jobs."""
    del source_path
    ids = inner[2] if isinstance(inner, list) and len(inner) > 2 and isinstance(inner[2], list) else None
    if not ids:
        raise RpcError(3)
    return [
        [
            record(call, _owned(call, ref[0] if isinstance(ref, list) and ref else None, ("video",)))
            for ref in ids
        ]
    ]


async def media_record(call: Call, inner: Any, source_path: str) -> object:
    """``as29s``: ``["id"]`` → the record with its signed URLs; ``[5]`` until the video is ready."""
    del source_path
    media = _owned(call, inner[0] if isinstance(inner, list) and inner else None, ("video",))
    if video_status(media, call.world.config) != SUCCESSFUL:
        raise RpcError(5)
    return [record(call, media, with_urls=True)]
