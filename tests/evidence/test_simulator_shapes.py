"""The simulator against the evidence: it accepts each captured request shape and answers in the
captured reply shape, RPC by RPC.

Requests are the fixtures' own samples (placeholders replaced by the simulator's real ids and a
token minted in the page), never built by the gateway's codec, so the simulator is held to the
evidence and not to the codec. Every reply must match a reply pattern of its RPC; every error frame
a frame pattern, and its status an error pattern.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.simulator import SimAccount, Simulator, SimulatorConfig
from gateway.upstream.flow.batch import iter_frames
from gateway.upstream.flow.evidence import EvidenceCase, load
from gateway.upstream.flow.shapes import mismatch, skeleton
from tests.support.flow_page import Page

EVIDENCE = load()
ACTIONS = {"ogiZ0b": "IMAGE_GENERATION", "maseQ": "IMAGE_GENERATION", "SPrCad": "IMAGE_GENERATION"}
READS = frozenset({"jwpduf", "as29s", "HTrJv", "nzlxg"})


class Clock:
    """The simulator's time, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_767_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> Simulator:
    return Simulator(
        SimulatorConfig(image_scale=0.05, captcha_client_key="k", video_duration=10.0),
        accounts=[
            SimAccount("st-pro", "pro@x", "PAYGATE_TIER_ONE", 5000),
            SimAccount("st-ultra", "ultra@x", "PAYGATE_TIER_TWO", 5000),
        ],
        clock=clock,
    )


@pytest.fixture
async def client(aiohttp_client: Callable[..., Any], sim: Simulator) -> TestClient:
    return await aiohttp_client(sim.create_app())  # type: ignore[no-any-return]


@dataclass
class Tab:
    """A page and the real ids the placeholders stand for."""

    page: Page
    ids: dict[str, str] = field(default_factory=dict)

    async def run(self, case: EvidenceCase, **ids: str) -> tuple[str, object]:
        """Send the case's sample (placeholders filled) as ``rpc``; the frame's payload, or its status."""
        rpcid = case.rpcs[0]
        text = json.dumps(case.example)
        names = {**self.ids, **ids, "project-1": self.page.project}
        for placeholder, value in names.items():
            text = text.replace(f'"{placeholder}"', json.dumps(value))
        for placeholder in ("SEED-UUID-1", "SEED-UUID-2", "BATCH-UUID", "UUID-A", "UUID-B"):
            text = text.replace(f'"{placeholder}"', json.dumps(str(uuid.uuid4()).upper()))
        token = None
        if rpcid not in READS:
            token = await self.page.mint(ACTIONS.get(rpcid, "VIDEO_GENERATION"))
            text = text.replace('"TOKEN"', json.dumps("__CAPTCHA__"))
        resp = await self.page.call(rpcid, json.loads(text), token=token)
        assert resp.status == 200, await resp.text()
        return payload_of(rpcid, await resp.text())


def payload_of(rpcid: str, body: str) -> tuple[str, object]:
    """("ok", payload) or ("error", status), after checking the frame against the frame patterns."""
    frames = [f for f in iter_frames(body) if f[0] == "wrb.fr" and f[1] == rpcid]
    assert len(frames) == 1, body
    frame = frames[0]
    assert any(mismatch(frame, c.pattern) is None for c in EVIDENCE.of("frame")), skeleton(frame)
    if frame[2] is None:
        status = frame[5]
        assert any(mismatch(status, c.pattern) is None for c in EVIDENCE.of("error")), status
        return "error", status
    return "ok", json.loads(frame[2])


def assert_reply(rpcid: str, payload: object) -> None:
    """The payload matches one reply pattern of ``rpcid`` (the first mismatch is shown otherwise)."""
    cases = EVIDENCE.of("reply", rpcid)
    assert cases, f"no reply evidence for {rpcid}"
    problems = [mismatch(payload, c.pattern) for c in cases]
    assert None in problems, f"{rpcid}: {problems[0]}; reply skeleton {skeleton(payload)}"


def request(rpcid: str) -> EvidenceCase:
    (case,) = EVIDENCE.of("request", rpcid)
    return case


async def tab_for(client: TestClient, sim: Simulator, session_token: str) -> Tab:
    page = Page(client, sim, session_token)
    await page.load()
    return Tab(page)


async def submit(tab: Tab, rpcid: str, **ids: str) -> list[Any]:
    kind, payload = await tab.run(request(rpcid), **ids)
    assert kind == "ok", payload
    assert_reply(rpcid, payload)
    assert isinstance(payload, list)
    return payload


async def test_image_rpcs_answer_in_the_captured_shapes(client: TestClient, sim: Simulator) -> None:
    tab = await tab_for(client, sim, "st-ultra")
    upload = await submit(tab, "maseQ")
    tab.ids["upload-1"] = upload[0][0]
    images = await submit(tab, "ogiZ0b")
    await submit(tab, "SPrCad", **{"media-1": images[0][0][0]})


async def test_video_submits_polls_and_media_answer_in_the_captured_shapes(
    client: TestClient, sim: Simulator, clock: Clock
) -> None:
    tab = await tab_for(client, sim, "st-pro")
    tab.ids["upload-1"] = (await submit(tab, "maseQ"))[0][0]
    jobs = [(await submit(tab, rpcid))[3][0] for rpcid in ("YhhmEf", "eb1hJf", "nprQif", "MZZa6b")]
    kind, polled = await tab.run(request("jwpduf"), **{"media-1": jobs[0][0]})
    assert kind == "ok"
    assert_reply("jwpduf", polled)
    kind, running = await tab.run(request("as29s"), **{"media-1": jobs[0][0]})
    if kind == "ok":  # a bare id string while running (an error frame [5] is the other answer)
        assert_reply("as29s", running)
    clock.advance(60)
    for job in jobs:
        kind, polled = await tab.run(request("jwpduf"), **{"media-1": job[0]})
        assert_reply("jwpduf", polled)
        kind, record = await tab.run(request("as29s"), **{"media-1": job[0]})
        assert kind == "ok", record
        assert_reply("as29s", record)
        assert isinstance(record, list) and record[:3] == job[:3]


async def test_upscale_and_extend_answer_in_the_captured_shapes(
    client: TestClient, sim: Simulator, clock: Clock
) -> None:
    tab = await tab_for(client, sim, "st-ultra")
    # The fixture's text key is a Pro key; an Ultra account submits the Lite key both tiers have.
    kind, payload = await tab.run(request("YhhmEf"), veo_3_1_t2v_fast="veo_3_1_t2v_lite")
    assert kind == "ok", payload
    assert isinstance(payload, list)
    job = payload[3][0]
    clock.advance(60)
    upscaled = await submit(tab, "p0UkFb", **{"media-1": job[0], "workflow-1": job[2]})
    assert upscaled[3][0][0] != job[0]
    extended = await submit(tab, "fZytfe", **{"media-1": job[0]})
    assert extended[3][0][0] not in (job[0], upscaled[3][0][0])
    edited = await submit(tab, "jIps6", **{"media-1": job[0]})
    assert edited[3][0][0] not in (job[0], upscaled[3][0][0], extended[3][0][0])


async def test_catalogue_and_credits_answer_in_the_captured_shapes(
    client: TestClient, sim: Simulator
) -> None:
    for account in ("st-pro", "st-ultra"):
        tab = await tab_for(client, sim, account)
        for rpcid in ("HTrJv", "nzlxg"):
            kind, payload = await tab.run(request(rpcid))
            assert kind == "ok", payload
            assert_reply(rpcid, payload)


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"kind": "rate_limited"}, 8),
        ({"kind": "recaptcha"}, 7),
        ({"kind": "unsafe"}, 3),
        ({"kind": "quota"}, 8),
        ({"kind": "public_error", "reason": "PUBLIC_ERROR_USER_REQUESTS_THROTTLED", "form": "int"}, 8),
        (
            {
                "kind": "public_error",
                "reason": "PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC",
                "form": "base64",
            },
            8,
        ),
        ({"kind": "public_error", "reason": "PUBLIC_ERROR_MODEL_ACCESS_DENIED", "form": "string"}, 7),
    ],
)
async def test_error_frames_answer_in_the_captured_shapes(
    client: TestClient, sim: Simulator, fault: dict[str, str], code: int
) -> None:
    tab = await tab_for(client, sim, "st-pro")
    sim.faults.add(route="batch.YhhmEf", **fault)
    kind, status = await tab.run(request("YhhmEf"))
    assert kind == "error"
    assert isinstance(status, list) and status[0] == code
