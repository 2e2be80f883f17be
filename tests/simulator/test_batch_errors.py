"""Error frames as live captures show them: a status ``[code, null, [[typeUrl, value]]]`` with the
reason as an ErrorInfo string or a PublicAitkError int or base64, or a bare ``[code]``."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.simulator import Simulator
from gateway.simulator.faults import KINDS, WIRE_KINDS
from gateway.simulator.reasons import PUBLIC_ERRORS
from tests.simulator.batch_support import Tab, images, t2v, wrb
from tests.simulator.test_strictness import Flow, google_error

AITK = "type.googleapis.com/google.internal.labs.aisandbox.proto.common.v1.PublicAitkError"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"


def info(code: int, reason: str) -> list[Any]:
    return [code, None, [[ERROR_INFO, [reason]]]]


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("rate_limited", info(8, "PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC")),
        ("recaptcha", info(7, "PUBLIC_ERROR_UNUSUAL_ACTIVITY")),
        ("unsafe", info(3, "PUBLIC_ERROR_UNSAFE_GENERATION")),
        ("quota", info(8, "PUBLIC_ERROR_USER_QUOTA_REACHED")),
        ("internal", [13]),
        ("unavailable", [14]),
        ("unauthenticated", [16]),
    ],
)
async def test_plain_kinds_answer_their_frames(
    tab: Tab, sim: Simulator, kind: str, status: list[Any]
) -> None:
    sim.faults.add(route="batch.YhhmEf", kind=kind)
    assert await tab.refused("YhhmEf", t2v(tab.project, "veo_3_1_t2v_lite")) == status
    assert await tab.ok("YhhmEf", t2v(tab.project, "veo_3_1_t2v_lite"))  # the rule is used up


@pytest.mark.parametrize(
    ("reason", "form", "status"),
    [
        ("PUBLIC_ERROR_USER_REQUESTS_THROTTLED", "int", [8, None, [[AITK, [3]]]]),
        ("PUBLIC_ERROR_UNUSUAL_ACTIVITY_TOO_MUCH_TRAFFIC", "base64", [8, None, [[AITK, "CDI="]]]),
        ("PUBLIC_ERROR_UNUSUAL_ACTIVITY", "base64", [7, None, [[AITK, "CDE="]]]),
        ("PUBLIC_ERROR_MODEL_ACCESS_DENIED", "string", info(7, "PUBLIC_ERROR_MODEL_ACCESS_DENIED")),
        ("PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED", "int", [8, None, [[AITK, [32]]]]),
        ("PUBLIC_ERROR_CONCURRENT_LIMIT_REACHED", "base64", [8, None, [[AITK, "CDM="]]]),
        ("PUBLIC_ERROR_SEXUAL", "string", info(3, "PUBLIC_ERROR_SEXUAL")),
        ("PUBLIC_BOTTLE_CONTENT_WARNING", "int", [3, None, [[AITK, [43]]]]),
        (
            "PUBLIC_ERROR_GENERATION_ALREADY_IN_PROGRESS",
            "string",
            info(9, "PUBLIC_ERROR_GENERATION_ALREADY_IN_PROGRESS"),
        ),
        ("PUBLIC_ERROR_APP_UNAVAILABLE", "int", [13, None, [[AITK, [42]]]]),
    ],
)
async def test_public_error_forms_and_default_codes(
    tab: Tab, sim: Simulator, reason: str, form: str, status: list[Any]
) -> None:
    sim.faults.add(route="batch.ogiZ0b", kind="public_error", reason=reason, form=form)
    assert await tab.refused("ogiZ0b", images(tab.project)) == status


async def test_public_error_code_overrides_the_default(tab: Tab, sim: Simulator) -> None:
    sim.faults.add(route="batch.YhhmEf", kind="public_error", reason="PUBLIC_ERROR_HIGH_TRAFFIC", code=14)
    assert await tab.refused("YhhmEf", t2v(tab.project, "veo_3_1_t2v_lite")) == info(
        14, "PUBLIC_ERROR_HIGH_TRAFFIC"
    )


def test_the_enum_is_the_frontends() -> None:
    assert len(PUBLIC_ERRORS) == 68 and set(PUBLIC_ERRORS.values()) == set(range(74)) - {
        6,
        10,
        13,
        37,
        38,
        62,
    }
    assert (
        PUBLIC_ERRORS["PUBLIC_ERROR_UNSPECIFIED"] == 0 and PUBLIC_ERRORS["PUBLIC_ERROR_UNSAFE_SEARCH"] == 73
    )
    assert all(
        name.startswith("PUBLIC_ERROR_") for name in PUBLIC_ERRORS if name != "PUBLIC_BOTTLE_CONTENT_WARNING"
    )


@pytest.mark.parametrize(
    ("number", "encoded"), [(2, "CAI="), (3, "CAM="), (11, "CAs="), (32, "CCA="), (34, "CCI="), (51, "CDM=")]
)
async def test_base64_is_field_one_as_a_varint(tab: Tab, sim: Simulator, number: int, encoded: str) -> None:
    (reason,) = [name for name, value in PUBLIC_ERRORS.items() if value == number]
    sim.faults.add(route="batch.YhhmEf", kind="public_error", reason=reason, form="base64")
    status = await tab.refused("YhhmEf", t2v(tab.project, "veo_3_1_t2v_lite"))
    assert status[2] == [[AITK, encoded]] and base64.b64decode(encoded) == bytes((8, number))


async def test_no_fault_answers_a_reasonless_8(tab: Tab, sim: Simulator) -> None:
    for kind in KINDS:
        if kind in ("hang", "empty_400", "partial_batch") or kind.startswith("video_") or kind in WIRE_KINDS:
            continue  # no frame at all: see test_wire_faults
        extra: dict[str, Any] = (
            {"reason": "PUBLIC_ERROR_USER_QUOTA_REACHED"} if kind == "public_error" else {}
        )
        sim.faults.add(route="batch.ogiZ0b", kind=kind, **extra)
        status = await tab.refused("ogiZ0b", images(tab.project))
        assert status != [8] and (status[0] != 8 or status[2]), kind


async def test_http_level_kinds_fail_the_call_itself(tab: Tab, sim: Simulator) -> None:
    sim.faults.add(route="batch.ogiZ0b", kind="empty_400")
    token = await tab.mint()
    resp = await tab.call("ogiZ0b", images(tab.project), token=token)
    assert resp.status == 400 and await resp.read() == b""


async def test_token_refusals_are_unusual_activity(tab: Tab) -> None:
    inner = t2v(tab.project, "veo_3_1_t2v_lite")
    replayed = await tab.mint("VIDEO_GENERATION")
    assert await tab.call("YhhmEf", inner, token=replayed)
    for token in (None, "0cAFcWforged", await tab.mint("IMAGE_GENERATION"), replayed):
        reply = await tab.call("YhhmEf", inner, token=token)
        assert wrb(await reply.text(), "YhhmEf")[5] == info(7, "PUBLIC_ERROR_UNUSUAL_ACTIVITY")


async def test_unknown_rpcs_are_invalid(tab: Tab) -> None:
    assert await tab.refused("Zzl0ze", ["projects/x"]) == [3]


async def test_public_error_on_a_rest_route(client: TestClient, sim: Simulator) -> None:
    flow = Flow(client)
    await flow.login()
    sim.faults.add(
        route="images.generate", kind="public_error", reason="PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED"
    )
    resp = await flow.generate(flow.image_body(await flow.token()))
    assert await google_error(resp) == (
        429,
        "RESOURCE_EXHAUSTED",
        ["PUBLIC_ERROR_PER_MODEL_DAILY_QUOTA_REACHED"],
    )
