"""Chat completions for media: the documented examples streamed and not, follow-up edits, errors,
a client leaving mid-stream, and the official SDK's stream parser."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import openai
import orjson
import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from gateway import keys
from gateway.simulator import SimulatorConfig
from tests.conftest import CAPTCHA_KEY, SimHandle
from tests.e2e.test_videos_http import FAST, finished

ClientWith = Callable[..., Awaitable[TestClient]]
CHAT = "/flow/v1/chat/completions"


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(image_scale=0.1, captcha_client_key=CAPTCHA_KEY, video_duration=0.6)


@pytest.fixture
async def http(client_with: ClientWith) -> TestClient:
    return await client_with(env={**FAST, "GATEWAY_TASKS_KEEPALIVE": "0.2"})


@pytest.fixture
def auth(licence_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {licence_key}"}


def data_url(colour: tuple[int, int, int]) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (32, 18), colour).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def events(raw: str) -> tuple[list[Any], int]:
    """The data payloads of an SSE body (``[DONE]`` as the string), and the number of keep-alives."""
    data: list[Any] = []
    for block in raw.split("\n\n"):
        if block.startswith("data: "):
            payload = block[6:]
            data.append(payload if payload == "[DONE]" else orjson.loads(payload))
    return data, raw.count(": keep-alive\n\n")


def contents(data: list[Any], index: int) -> str:
    out = []
    for chunk in data:
        if isinstance(chunk, dict) and "choices" in chunk:
            for choice in chunk["choices"]:
                if choice["index"] == index and choice["delta"].get("content"):
                    out.append(choice["delta"]["content"])
    return "".join(out)


async def test_text_to_video_streamed_with_two_choices(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    body = {
        "messages": [{"role": "user", "content": "画只猪在天上飞"}],
        "model": "veo_3_1",
        "stream": True,
        "n": 2,
    }
    resp = await http.post(CHAT, json=body, headers=auth)
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
    ids = resp.headers["x-flow-task-ids"].split(",")
    data, keepalives = events(await resp.text())
    assert data[-1] == "[DONE]" and keepalives >= 1
    first = data[0]
    assert first["object"] == "chat.completion.chunk" and first["choices"][0]["delta"]["role"] == "assistant"
    reasoning = "".join(
        c["delta"].get("reasoning_content", "") for chunk in data[:-1] for c in chunk["choices"]
    )
    assert ids[0] in reasoning and "generating" in reasoning  # progress goes to reasoning_content by default
    for index in (0, 1):
        text = contents(data, index)
        assert "<video src='" in text and "[Download the video](" in text
        finishes = [
            c["finish_reason"] for chunk in data[:-1] for c in chunk["choices"] if c["index"] == index
        ]
        assert finishes[-1] == "stop"
    assert len({chunk["id"] for chunk in data[:-1]}) == 1
    for video_id in ids:  # each choice is a task of its own, retrievable
        assert (await finished(http, auth, video_id))["status"] == "completed"
    assert simulator.sim.stats.calls("video.submit") == 2


async def test_text_to_video_not_streamed(http: TestClient, auth: dict[str, str]) -> None:
    body = {"messages": [{"role": "user", "content": "画只猪在天上飞"}], "model": "veo_3_1", "n": 2}
    resp = await http.post(CHAT, json=body, headers=auth)
    doc = await resp.json()
    assert resp.status == 200 and [c["index"] for c in doc["choices"]] == [0, 1]
    for choice in doc["choices"]:
        assert choice["message"]["content"].startswith("<video src='") and choice["finish_reason"] == "stop"
    tokens = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}  # Flow bills credits
    assert doc["usage"] == {**tokens, "flow_credits": 200}  # veo_3_1 costs 100 a video, two were made
    for video_id in resp.headers["x-flow-task-ids"].split(","):
        assert (await finished(http, auth, video_id))["status"] == "completed"


async def test_frames_to_video_streamed(http: TestClient, auth: dict[str, str], simulator: SimHandle) -> None:
    content = [
        {"type": "text", "text": "根据两张图片生成一个完整的过渡视频"},
        {"type": "image_url", "image_url": {"url": data_url((200, 0, 0))}},
        {"type": "image_url", "image_url": {"url": data_url((0, 0, 200))}},
    ]
    body = {
        "messages": [{"role": "user", "content": content}],
        "model": "veo_3_1-fl-fast",
        "stream": True,
        "n": 2,
    }
    resp = await http.post(CHAT, json=body, headers=auth)
    data, _ = events(await resp.text())
    assert data[-1] == "[DONE]"
    assert all("<video" in contents(data, i) for i in (0, 1))
    frames = [r for r in simulator.sim.stats.log if r.route == "video.submit"]
    assert len(frames) == 2


async def test_images_not_streamed_and_a_follow_up_edit(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    body = {"messages": [{"role": "user", "content": "a red car"}], "model": "nano_banana"}
    resp = await http.post(CHAT, json=body, headers=auth)
    doc = await resp.json()
    assert resp.status == 200 and doc["object"] == "chat.completion"
    answer = doc["choices"][0]["message"]["content"]
    assert answer.startswith("![image 1](") and doc["choices"][0]["finish_reason"] == "stop"
    follow_up = {
        "model": "nano_banana",
        "messages": [
            {"role": "user", "content": "a red car"},
            {"role": "assistant", "content": answer},
            {"role": "user", "content": "make it blue"},
        ],
    }
    resp = await http.post(CHAT, json=follow_up, headers=auth)
    assert resp.status == 200
    (task_id,) = resp.headers["x-flow-task-ids"].split(",")
    record = await http.app[keys.STORE].get_task(task_id)
    assert record is not None and len(record.inputs) == 1 and record.inputs[0].startswith("img_")
    assert simulator.sim.stats.calls("images.generate") == 2


async def test_when_every_choice_fails_the_stream_ends_with_an_error(
    http: TestClient, auth: dict[str, str], simulator: SimHandle
) -> None:
    simulator.sim.faults.add(route="images.generate", kind="unsafe", count=5)
    body = {"messages": [{"role": "user", "content": "x"}], "model": "nano_banana", "stream": True, "n": 2}
    data, _ = events(await (await http.post(CHAT, json=body, headers=auth)).text())
    assert "[DONE]" not in data
    assert data[-1]["error"]["code"] == "moderation_blocked"
    assert "Generation failed" in contents(data, 0) + contents(data, 1)  # the first failure, as text
    resp = await http.post(CHAT, json={**body, "stream": False}, headers=auth)
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "moderation_blocked"


async def test_bad_requests_are_answered_before_any_stream(http: TestClient, auth: dict[str, str]) -> None:
    for body, param in (
        ({"model": "veo_3_1", "stream": True}, "messages"),
        (
            {"model": "veo_3_1", "messages": [{"role": "user", "content": "  "}], "stream": True},
            "messages[0].content",
        ),
        ({"model": "veo_3_1", "messages": [{"role": "user", "content": "x"}], "n": 9, "stream": True}, "n"),
        ({"model": "veo_3_1-4s-6s", "messages": [{"role": "user", "content": "x"}], "stream": True}, "model"),
        ({"model": "veo_3_1", "messages": [{"role": "user", "content": "x"}], "wat": 1}, "wat"),
    ):
        resp = await http.post(CHAT, json=body, headers=auth)
        assert resp.status == 400 and resp.content_type == "application/json", body
        assert (await resp.json())["error"]["param"] == param
    resp = await http.post(
        CHAT, json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}, headers=auth
    )
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "model_not_found"


async def test_a_client_that_leaves_does_not_cancel_the_video(http: TestClient, auth: dict[str, str]) -> None:
    body = {"messages": [{"role": "user", "content": "x"}], "model": "veo_3_1-fast", "stream": True}
    resp = await http.post(CHAT, json=body, headers=auth)
    (video_id,) = resp.headers["x-flow-task-ids"].split(",")
    first = await resp.content.readline()
    assert first.startswith(b"data: ")
    resp.close()  # the client goes away mid-stream
    await asyncio.sleep(0.05)
    assert (await finished(http, auth, video_id))["status"] == "completed"


async def test_progress_can_go_to_content_or_nowhere(http: TestClient, auth: dict[str, str]) -> None:
    body = {"messages": [{"role": "user", "content": "x"}], "model": "nano_banana", "stream": True}
    data, _ = events(await (await http.post(CHAT, json={**body, "progress": "content"}, headers=auth)).text())
    assert "created" in contents(data, 0) and "![image 1](" in contents(data, 0)
    data, _ = events(await (await http.post(CHAT, json={**body, "progress": "off"}, headers=auth)).text())
    assert all("reasoning_content" not in c["delta"] for chunk in data[:-1] for c in chunk["choices"])
    assert contents(data, 0).startswith("![image 1](")


@pytest.fixture
async def sdk(http: TestClient, licence_key: str) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=str(http.make_url("/flow/v1")), api_key=licence_key, max_retries=0
    ) as c:
        yield c


async def test_the_sdk_parses_the_stream(sdk: openai.AsyncOpenAI) -> None:
    stream = await sdk.chat.completions.create(
        model="nano_banana",
        messages=[{"role": "user", "content": "a cat"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        usage = chunk.usage or usage
    assert text.startswith("![image 1](") and usage is not None
    with pytest.raises(openai.PermissionDeniedError):  # nobody could serve it: refused before any stream
        await sdk.chat.completions.create(
            model="nano_banana|[nosuchgroup]", messages=[{"role": "user", "content": "x"}], stream=True
        )


async def test_a_task_deleted_mid_stream_ends_the_stream(http: TestClient, auth: dict[str, str]) -> None:
    body = {"messages": [{"role": "user", "content": "x"}], "model": "veo_3_1-fast", "stream": True}
    resp = await http.post(CHAT, json=body, headers=auth)
    (video_id,) = resp.headers["x-flow-task-ids"].split(",")
    assert (await http.delete(f"/flow/v1/videos/{video_id}", headers=auth)).status == 200
    async with asyncio.timeout(10):  # it ends, rather than waiting for a task that no longer exists
        data, _ = events(await resp.text())
    assert data[-1]["error"]["code"] == "not_found"
