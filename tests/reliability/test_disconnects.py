"""Scenario 6: the client disconnects during a long job. The README's policy for chat: "a client that
disconnects cancels nothing: the videos finish and stay retrievable" (images too: each choice is a
task). So the task completes, upstream is called once, the stream's handler ends with nothing left
running, and one info line says the client left. The gateway runs as ``serve`` runs it: its
handlers are not cancelled when the client leaves (aiohttp's test server would cancel them, which
production never does). The synchronous image case is in ``test_pending_disconnects``."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import ClientSession
from structlog.testing import capture_logs

from gateway.simulator import SimulatorConfig
from tests.conftest import CAPTCHA_KEY, SimHandle
from tests.reliability.support import FAST_TASKS, THREE, Leaks, Served, eventually, sse_data


@pytest.fixture
def sim_config() -> SimulatorConfig:
    """Image generations that take 0.5 s, videos 0.6 s: long enough to leave in the middle."""
    return SimulatorConfig(
        image_scale=0.1,
        captcha_client_key=CAPTCHA_KEY,
        video_duration=0.6,
        route_latency={"images.generate": 0.5},
    )


def left_lines(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lines saying a client left (the event's name may change; its meaning may not)."""
    return [
        e for e in logs if "client" in e["event"] and ("left" in e["event"] or "disconnect" in e["event"])
    ]


def gateway_lines(logs: list[dict[str, Any]]) -> list[str]:
    """The gateway's own lines about requests (not the simulator's, not the access log)."""
    return [e["event"] for e in logs if e["event"] not in ("flow_call", "image_generate", "http_request")]


async def warm(http: ClientSession, auth: dict[str, str], model: str) -> None:
    """One whole stream of the same kind first, so that the keep-alive connections a job uses exist
    before the sockets are counted."""
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "warm up"}]}
    resp = await http.post("/v1/chat/completions", json=body, headers=auth)
    assert (await sse_data(resp))[-1] == "[DONE]"


async def leave_after_first_event(http: ClientSession, auth: dict[str, str], model: str) -> str:
    """Start a chat stream, read its first event, disconnect; the task's id."""
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "a fox"}]}
    resp = await http.post("/v1/chat/completions", json=body, headers=auth)
    assert resp.status == 200
    assert (await resp.content.readline()).startswith(b"data: ")
    resp.close()  # the connection goes with it
    return resp.headers["x-flow-task-ids"]


async def final_task(http: ClientSession, auth: dict[str, str], path: str) -> dict[str, Any]:
    """The task at ``path`` once finished (bounded polling)."""
    doc: dict[str, Any] = {}

    async def finished() -> bool:
        nonlocal doc
        doc = await (await http.get(path, headers=auth)).json()
        return doc["status"] in ("completed", "failed")

    await eventually(finished, what=f"{path} to finish")
    return doc


async def test_leaving_a_chat_image_stream_keeps_the_task(
    served: Any, simulator: SimHandle, auth: dict[str, str]
) -> None:
    gateway: Served = await served(env=FAST_TASKS, accounts=THREE)
    await warm(gateway.http, auth, "nano_banana")
    leaks = Leaks()
    task_id = await leave_after_first_event(gateway.http, auth, "nano_banana")
    task = await final_task(gateway.http, auth, f"/v1/images/{task_id}")
    assert task["status"] == "completed" and task["data"], task
    assert simulator.sim.stats.calls("images.generate") == 2  # the warm-up; never cancelled or rerun
    await leaks.assert_none()  # the stream's handler ended


async def test_leaving_a_chat_video_stream_keeps_the_video(
    served: Any, simulator: SimHandle, auth: dict[str, str]
) -> None:
    gateway: Served = await served(env=FAST_TASKS, accounts=THREE)
    await warm(gateway.http, auth, "veo_3_1-fast")
    leaks = Leaks()
    video_id = await leave_after_first_event(gateway.http, auth, "veo_3_1-fast")
    video = await final_task(gateway.http, auth, f"/v1/videos/{video_id}")
    assert video["status"] == "completed", video
    content = await gateway.http.get(f"/v1/videos/{video_id}/content", headers=auth)
    assert (await content.read())[4:8] == b"ftyp"
    assert simulator.sim.stats.calls("video.submit") == 2  # the warm-up's, and this one's once
    await leaks.assert_none()


@pytest.mark.parametrize("model", ["nano_banana", "veo_3_1-fast"])
async def test_leaving_a_chat_stream_is_one_info_line(served: Any, auth: dict[str, str], model: str) -> None:
    gateway: Served = await served(env=FAST_TASKS, accounts=THREE)
    await warm(gateway.http, auth, model)
    with capture_logs() as logs:
        task_id = await leave_after_first_event(gateway.http, auth, model)
        await eventually(lambda: bool(left_lines(logs)), what=f"a client-left line: {gateway_lines(logs)}")
        kind = "images" if model == "nano_banana" else "videos"

        async def finished() -> bool:
            doc = await (await gateway.http.get(f"/v1/{kind}/{task_id}", headers=auth)).json()
            return doc["status"] == "completed"

        await eventually(finished, what="the task to complete")
    lines = left_lines(logs)
    assert len(lines) == 1 and lines[0]["log_level"] == "info", lines
    assert lines[0]["tasks"] == [task_id]
    assert "unhandled_error" not in gateway_lines(logs), gateway_lines(logs)
