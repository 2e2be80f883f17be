"""Driving the simulator's flow.google.com by hand: a fake clock, a tab that answers each RPC as
``(payload, status)``, and payloads written out in the captured shapes (the evidence fixtures), so
these tests hold the simulator to the evidence rather than to the gateway's codec."""

from __future__ import annotations

import base64
import io
import json
import uuid
from typing import Any

from aiohttp.test_utils import TestClient
from PIL import Image

from gateway.simulator import Simulator
from gateway.upstream.flow.batch import CAPTCHA_PLACEHOLDER
from tests.support.flow_page import Page

START = 1_767_000_000.0
DURATION = 10.0  # the tests' video_duration: submit to done
IMAGE, VIDEO = "IMAGE_GENERATION", "VIDEO_GENERATION"
READS = frozenset({"jwpduf", "as29s", "HTrJv", "nzlxg"})
ACTIONS = {"ogiZ0b": IMAGE, "maseQ": IMAGE, "SPrCad": IMAGE}


class Clock:
    """The simulator's time, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def new_uuid() -> str:
    return str(uuid.uuid4()).upper()


def ctx(project: str | None) -> list[Any]:
    return [None, 22, None, None, None, project, None, None, None, None, [CAPTCHA_PLACEHOLDER, 1]]


def prompt(text: str = "a fox running in snow") -> list[Any]:
    return [None, None, [[[text]]]]


def two_uuids() -> list[str]:
    return [new_uuid(), new_uuid()]


def ids() -> list[Any]:
    return [None, None, None, None, new_uuid(), new_uuid()]


def jpeg(width: int = 24, height: int = 16) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 90, 10)).save(buf, format="JPEG")
    return buf.getvalue()


def wrb(text: str, rpcid: str) -> list[Any]:
    """The one ``wrb.fr`` frame of ``rpcid`` in a framed reply (parsed here, not by the codec)."""
    frames = [
        frame
        for line in text.splitlines()
        if line.startswith("[[")
        for frame in json.loads(line)
        if frame[0] == "wrb.fr" and frame[1] == rpcid
    ]
    assert len(frames) == 1, text
    return frames[0]  # type: ignore[no-any-return]


# --- payloads in the captured shapes ------------------------------------------------------------


def t2v(project: str, key: str, aspect: int = 2, *, items: int = 1, trailer: int = 2) -> list[Any]:
    return [[[prompt(), key, aspect, None, ids()] for _ in range(items)], ctx(project), [new_uuid(), trailer]]


def frames(project: str, key: str, aspect: int, *media: str) -> list[Any]:
    """eb1hJf (one frame) or nprQif (two frames)."""
    item = [prompt(), key, aspect, None, *([None, m] for m in media), ids()]
    return [[item], ctx(project), [new_uuid(), 2]]


def refs(project: str, key: str, aspect: int, *media: str) -> list[Any]:
    item = [prompt(), [[None, m] for m in media], key, aspect, None, ids()]
    return [[item], ctx(project), [new_uuid(), 2]]


def upscale(  # the 32-slot p0UkFb row
    record: list[Any], key: str, target: int, *, aspect: int = 2, workflow: str | None = None
) -> list[Any]:
    row: list[Any] = [None] * 32
    row[0], row[2] = [None, record[0]], aspect
    row[4] = [None, record[2] if workflow is None else workflow, None, None, new_uuid()]
    row[6], row[31] = target, key
    return [[row], ctx(None), [new_uuid()]]


def extend(
    project: str, source: str, key: str, *, aspect: int = 2, window: tuple[int, ...] = (169, 192)
) -> list[Any]:
    item = [[None, source, *window], prompt("it keeps running"), key, aspect, None, ids()]
    return [[item], ctx(project), [new_uuid(), 1]]


def images(
    project: str,
    model: str = "GEM_PIX_2",
    *,
    aspect: int = 3,
    count: int = 1,
    seed: int = 424242,
    inputs: list[str] | None = None,
) -> list[Any]:
    refs_ = [[m, None, None, None, 1] for m in inputs] if inputs else None
    rows = [
        [
            None,
            None,
            refs_,
            seed + i,
            aspect,
            model,
            None,
            ctx(project),
            [[["a red fox"]]],
            None,
            None,
            None,
            *two_uuids(),
        ]
        for i in range(count)
    ]
    return [None, rows, 1, ctx(project), [new_uuid()]]


def upload(project: str, data: bytes | None = None, mime: str = "image/jpeg") -> list[Any]:
    encoded = base64.b64encode(jpeg() if data is None else data).decode()
    return [ctx(project), encoded, mime, 1, None, None, None, None, "a.jpg", None, new_uuid(), new_uuid()]


class Tab(Page):
    """A signed-in tab whose calls answer ``(payload, status)``; tokens minted per RPC as the page does."""

    def __init__(self, client: TestClient, sim: Simulator, session_token: str, clock: Clock) -> None:
        super().__init__(client, sim, session_token)
        self.clock = clock

    async def rpc(self, rpcid: str, inner: object, *, source_path: str | None = None) -> tuple[Any, Any]:
        token = None if rpcid in READS else await self.mint(ACTIONS.get(rpcid, VIDEO))
        resp = await self.call(rpcid, inner, token=token, source_path=source_path)
        assert resp.status == 200, await resp.text()
        frame = wrb(await resp.text(), rpcid)
        return (None if frame[2] is None else json.loads(frame[2])), frame[5]

    async def ok(self, rpcid: str, inner: object, **kw: Any) -> Any:
        payload, status = await self.rpc(rpcid, inner, **kw)
        assert status is None, status
        return payload

    async def refused(self, rpcid: str, inner: object, **kw: Any) -> list[Any]:
        payload, status = await self.rpc(rpcid, inner, **kw)
        assert payload is None, payload
        return status  # type: ignore[no-any-return]

    async def upload(self) -> str:
        return str((await self.ok("maseQ", upload(self.project)))[0][0])

    async def video(self, key: str = "veo_3_1_t2v_lite", aspect: int = 2) -> list[Any]:
        """A text-to-video job's record, as the submit answered it."""
        return (await self.ok("YhhmEf", t2v(self.project, key, aspect)))[3][0]  # type: ignore[no-any-return]

    async def poll(self, media_id: str) -> list[Any]:
        (record,) = (await self.ok("jwpduf", [None, None, [[media_id]]]))[2]
        return record  # type: ignore[no-any-return]

    async def finished(self, key: str = "veo_3_1_t2v_lite", aspect: int = 2) -> list[Any]:
        """A done text-to-video job's record (the clock moved past the job's duration)."""
        record = await self.video(key, aspect)
        self.clock.advance(DURATION)
        done = await self.poll(record[0])
        assert done[5][8] == [3]
        return done


async def open_tab(client: TestClient, sim: Simulator, session_token: str, clock: Clock) -> Tab:
    tab = Tab(client, sim, session_token, clock)
    await tab.load()
    return tab
