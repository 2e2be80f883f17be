"""Scenario 5: truncated, reset and garbage upstream answers on an image generation, a video poll and a
video download give the client a clean OpenAI error (or a success after a retry), never a 500; a chat
stream over such a failure ends with ``data: {"error": ...}`` and no ``[DONE]``."""

from __future__ import annotations

import base64

import orjson
import pytest

from tests.conftest import SimHandle
from tests.reliability.support import (
    FAST_TASKS,
    IMAGE,
    THREE,
    ClientWith,
    create_video,
    final_video,
    openai_error,
    sse_data,
)

BROKEN = ["truncate", "reset", "garbage"]


@pytest.mark.parametrize("kind", BROKEN)
async def test_a_broken_generation_answer_everywhere_is_a_clean_error(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str], kind: str
) -> None:
    http = await client_with(accounts=THREE)
    simulator.sim.faults.add(route="images.generate", kind=kind, count=50)
    resp = await http.post("/v1/images/generations", json=IMAGE, headers=auth)
    error = await openai_error(resp, resp.status)
    assert (resp.status, error["type"]) in {(502, "server_error"), (503, "server_error")}, error
    assert 1 <= simulator.sim.stats.calls("images.generate") <= 3  # [flow] max_attempts


@pytest.mark.parametrize(("kind", "calls"), [("truncate", 2), ("reset", 2), ("garbage", 1)])
async def test_one_broken_generation_answer(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str], kind: str, calls: int
) -> None:
    """A lost answer (cut, reset) is retried on another account; an unreadable one is not (it may
    have been charged) and is a 502."""
    http = await client_with(accounts=THREE)
    simulator.sim.faults.add(route="images.generate", kind=kind, count=1)
    resp = await http.post("/v1/images/generations", json=IMAGE, headers=auth)
    if calls == 2:
        assert resp.status == 200, await resp.text()
    else:
        assert (await openai_error(resp, 502))["code"] == "upstream_error"
    assert simulator.sim.stats.calls("images.generate") == calls


@pytest.mark.parametrize("kind", ["truncate", "reset"])
async def test_a_cut_image_download_is_retried(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str], kind: str
) -> None:
    http = await client_with(accounts=THREE)
    simulator.sim.faults.add(route="cdn.image", kind=kind, count=1)
    resp = await http.post("/v1/images/generations", json=IMAGE, headers=auth)
    assert resp.status == 200, await resp.text()
    (item,) = (await resp.json())["data"]
    assert base64.b64decode(item["b64_json"])[:3] == b"\xff\xd8\xff"
    assert simulator.sim.stats.calls("cdn.image") == 2


@pytest.mark.parametrize("kind", BROKEN)
async def test_one_broken_video_poll_is_survived(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str], kind: str
) -> None:
    http = await client_with(env=FAST_TASKS, accounts=THREE)
    simulator.sim.faults.add(route="video.status", kind=kind, count=1)
    video = await final_video(http, auth, await create_video(http, auth))
    assert video["status"] == "completed", video
    assert simulator.sim.stats.calls("video.submit") == 1


async def test_video_polls_broken_until_the_deadline_fail_the_video_cleanly(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str]
) -> None:
    env = {**FAST_TASKS, "GATEWAY_TASKS_VIDEO_DEADLINE": "1.0"}
    http = await client_with(env=env, accounts=THREE)
    simulator.sim.faults.add(route="video.status", kind="garbage", rate=1.0)
    video_id = await create_video(http, auth)
    video = await final_video(http, auth, video_id)
    assert (video["status"], video["error"]["code"]) == ("failed", "upstream_timeout"), video
    content = await http.get(f"/v1/videos/{video_id}/content", headers=auth)
    assert (await openai_error(content, 400))["code"] == "video_not_ready"
    assert simulator.sim.stats.calls("video.submit") == 1  # a paid job is never submitted again


@pytest.mark.parametrize("kind", [*BROKEN, "cdn_error_page"])
async def test_one_broken_video_download_is_retried(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str], kind: str
) -> None:
    http = await client_with(env=FAST_TASKS, accounts=THREE)
    simulator.sim.faults.add(route="cdn.video", kind=kind, count=1)
    video_id = await create_video(http, auth)
    assert (await final_video(http, auth, video_id))["status"] == "completed"
    content = await http.get(f"/v1/videos/{video_id}/content", headers=auth)
    assert (await content.read())[4:8] == b"ftyp"
    assert simulator.sim.stats.calls("cdn.video") == 2


@pytest.mark.parametrize("kind", [*BROKEN, "cdn_error_page"])
async def test_video_downloads_broken_every_time_fail_the_video_cleanly(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str], kind: str
) -> None:
    http = await client_with(env=FAST_TASKS, accounts=THREE)
    simulator.sim.faults.add(route="cdn.video", kind=kind, rate=1.0)
    video = await final_video(http, auth, await create_video(http, auth))
    assert video["status"] == "failed", video
    assert video["error"]["code"] == "video_unavailable"
    assert simulator.sim.stats.calls("video.submit") == 1


@pytest.mark.parametrize("kind", BROKEN)
async def test_a_chat_stream_over_a_broken_generation_ends_with_an_error_event(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str], kind: str
) -> None:
    http = await client_with(env=FAST_TASKS, accounts=THREE)
    simulator.sim.faults.add(route="images.generate", kind=kind, count=50)
    body = {"model": "nano_banana", "stream": True, "messages": [{"role": "user", "content": "a fox"}]}
    resp = await http.post("/v1/chat/completions", json=body, headers=auth)
    assert resp.status == 200 and resp.content_type == "text/event-stream"
    events = await sse_data(resp)
    assert "[DONE]" not in events
    last = orjson.loads(events[-1])
    assert set(last) == {"error"} and last["error"]["type"] == "server_error", last
    assert all("error" not in orjson.loads(e) for e in events[:-1])  # one error, at the end


async def test_a_chat_stream_over_a_failed_video_download_ends_with_an_error_event(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str]
) -> None:
    http = await client_with(env=FAST_TASKS, accounts=THREE)
    simulator.sim.faults.add(route="cdn.video", kind="truncate", rate=1.0)
    body = {"model": "veo_3_1-fast", "stream": True, "messages": [{"role": "user", "content": "a fox"}]}
    resp = await http.post("/v1/chat/completions", json=body, headers=auth)
    events = await sse_data(resp)
    assert "[DONE]" not in events
    assert orjson.loads(events[-1])["error"]["code"] == "video_unavailable"
