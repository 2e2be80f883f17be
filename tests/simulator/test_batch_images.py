"""Images on flow.google.com (``ogiZ0b``, ``maseQ``, ``SPrCad``), hand-written in the captured shapes;
which image models each cohort lists; the ``partial_batch`` fault."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from gateway.simulator import SimAccount, Simulator, SimulatorConfig
from tests.simulator.batch_support import Clock, Tab, ctx, images, jpeg, new_uuid, open_tab, upload

AITK = "type.googleapis.com/google.internal.labs.aisandbox.proto.common.v1.PublicAitkError"


@pytest.fixture
async def cohorts(aiohttp_client: Any) -> dict[str, Tab]:
    """A tab per cohort, both Pro."""
    clock = Clock()
    sim = Simulator(
        SimulatorConfig(image_scale=0.05),
        accounts=[
            SimAccount("st-new", "new@x", "PAYGATE_TIER_ONE", 10),
            SimAccount("st-old", "old@x", "PAYGATE_TIER_ONE", 10, cohort="legacy"),
            SimAccount("st-free", "free@x", "PAYGATE_TIER_NOT_PAID", 0),
        ],
        clock=clock,
    )
    client = await aiohttp_client(sim.create_app())
    return {name: await open_tab(client, sim, f"st-{name}", clock) for name in ("new", "old", "free")}


async def test_four_images_in_one_call(tab: Tab, client: TestClient) -> None:
    reply = await tab.ok("ogiZ0b", images(tab.project, count=4, seed=100))
    rows, workflows = reply
    assert len(rows) == len(workflows) == 4
    for index, row in enumerate(rows):
        details = row[6][0]
        assert row[1] is None and row[3:6] == [None] * 3 and len(details) == 14
        assert (details[1], details[7]) == (100 + index, "a red fox")
        assert f"/image/{row[0]}?Expires=" in details[13] and row[6][2] == [69, 38]
        assert workflows[index][0] == row[2] != row[0] and workflows[index][4] == tab.project
        picture = await client.get(details[13].split(str(client.make_url("")))[-1])
        assert Image.open(io.BytesIO(await picture.read())).size == (69, 38)


async def test_partial_batch_answers_one_row_fewer(tab: Tab, sim: Simulator) -> None:
    sim.faults.add(route="batch.ogiZ0b", kind="partial_batch", count=2)
    rows, workflows = await tab.ok("ogiZ0b", images(tab.project, count=4, seed=7))
    assert [r[6][0][1] for r in rows] == [7, 8, 9] and len(workflows) == 3
    assert len((await tab.ok("ogiZ0b", images(tab.project, count=1)))[0]) == 1  # never none
    assert len((await tab.ok("ogiZ0b", images(tab.project, count=2)))[0]) == 2  # the rule is used up


def _image_mutations(inner: list[Any]) -> dict[str, list[Any]]:
    rows, row = inner[1], inner[1][0]
    other_token = ctx(row[7][5])
    other_token[10] = ["another-token", 1]
    return {
        "five rows": [None, rows * 5, 1, inner[3], inner[4]],
        "no rows": [None, [], 1, inner[3], inner[4]],
        "seeds not consecutive": [None, [row, [*row[:3], row[3] + 2, *row[4:]]], 1, inner[3], inner[4]],
        "row token differs": [None, [[*row[:7], other_token, *row[8:]]], 1, inner[3], inner[4]],
        "row project differs": [None, [[*row[:7], ctx(None), *row[8:]]], 1, inner[3], inner[4]],
        "row too short": [None, [row[:13]], 1, inner[3], inner[4]],
        "seed not int": [None, [[*row[:3], "1", *row[4:]]], 1, inner[3], inner[4]],
        "aspect 6": [None, [[*row[:4], 6, *row[5:]]], 1, inner[3], inner[4]],
        "slot 2 of the call": [None, rows, 2, inner[3], inner[4]],
        "no batch uuid": [None, rows, 1, inner[3], []],
        "input type 3": [None, [[*row[:2], [["x", None, None, None, 3]], *row[3:]]], 1, inner[3], inner[4]],
    }


@pytest.mark.parametrize("mutation", sorted(_image_mutations(images("p"))))
async def test_malformed_image_calls_are_invalid(tab: Tab, mutation: str) -> None:
    inner = _image_mutations(images(tab.project))[mutation]
    assert await tab.refused("ogiZ0b", inner) == [3]


async def test_references_are_checked(tab: Tab, client: TestClient, sim: Simulator, clock: Clock) -> None:
    mine = await tab.upload()
    assert await tab.ok("ogiZ0b", images(tab.project, inputs=[mine] * 10))
    assert await tab.refused("ogiZ0b", images(tab.project, inputs=[mine] * 11)) == [3]
    other = await open_tab(client, sim, "st-p", clock)
    assert await tab.refused("ogiZ0b", images(tab.project, inputs=[await other.upload()])) == [5]


@pytest.mark.parametrize(
    ("cohort", "model", "aspect", "answer"),
    [
        ("new", "BELUGA", 1, None),
        ("new", "HARBOR_SEAL", 4, None),
        ("new", "GEM_PIX_2", 5, None),
        ("new", "NARWHAL", 1, [5]),  # as btcfoxman saw after the BELUGA switch
        ("new", "IMAGEN_3_5", 3, [5]),
        ("old", "NARWHAL", 1, None),
        ("old", "IMAGEN_3_5", 3, None),
        ("old", "IMAGEN_3_5", 1, [3]),  # portrait or landscape only
        ("old", "BELUGA", 1, [5]),
        ("old", "HARBOR_SEAL", 1, [5]),
        ("new", "GEM_PIX_2_UPSAMPLE_2K", 1, [3]),  # an upsample usage takes no prompt
    ],
)
async def test_image_models_follow_the_cohort(
    cohorts: dict[str, Tab], cohort: str, model: str, aspect: int, answer: list[int] | None
) -> None:
    tab = cohorts[cohort]
    payload, status = await tab.rpc("ogiZ0b", images(tab.project, model, aspect=aspect))
    assert status == answer and (payload is None) == (answer is not None)


async def test_imagen_takes_no_references(cohorts: dict[str, Tab]) -> None:
    tab = cohorts["old"]
    mine = await tab.upload()
    assert await tab.refused("ogiZ0b", images(tab.project, "IMAGEN_3_5", inputs=[mine])) == [3]
    assert await tab.ok("ogiZ0b", images(tab.project, "NARWHAL", aspect=1, inputs=[mine]))


async def test_upload_answers_the_record_and_the_workflow(tab: Tab) -> None:
    record, workflow = await tab.ok("maseQ", upload(tab.project))
    assert record[1] == tab.project and record[2] == workflow[0] != record[0]
    assert record[3:5] == ["CAE", None] and record[6][2] == [24, 16] and len(record) >= 7
    assert workflow[4] == tab.project and workflow[3][4] == record[0]
    header_only = base64.b64decode("/9j/4AAQSkZJRg==")  # the evidence's sample: a JPEG header, no picture
    assert (await tab.ok("maseQ", upload(tab.project, header_only)))[0][6][2] == [None, None]


async def test_upload_is_checked(tab: Tab) -> None:
    data_url = upload(tab.project)
    data_url[1] = "data:image/jpeg;base64," + data_url[1]
    wrong_mime = upload(tab.project, jpeg(), "image/png")
    no_name = upload(tab.project)
    no_name[8] = ""
    short = upload(tab.project)[:11]
    for inner in (data_url, wrong_mime, no_name, short):
        assert await tab.refused("maseQ", inner) == [3]


async def test_upload_accepts_either_reading_of_its_token_action(tab: Tab) -> None:
    token = await tab.mint("UPLOAD_IMAGE")
    reply = await tab.call("maseQ", upload(tab.project), token=token)
    assert '"wrb.fr","maseQ","[[' in (await reply.text()).replace(", ", ",")


async def test_image_upscale_follows_the_catalogue(cohorts: dict[str, Tab], tab: Tab) -> None:
    pro = cohorts["new"]
    image = (await pro.ok("ogiZ0b", images(pro.project)))[0][0][0]
    size, encoded = await pro.ok("SPrCad", [image, 1, ctx(None)])
    assert size == [138, 77] and Image.open(io.BytesIO(base64.b64decode(encoded))).size == (138, 77)
    assert await pro.refused("SPrCad", [image, 2, ctx(pro.project)]) == [7, None, [[AITK, [11]]]]
    free = cohorts["free"]
    theirs = (await free.ok("ogiZ0b", images(free.project)))[0][0][0]
    assert (await free.ok("SPrCad", [theirs, 1, ctx(None)]))[0] == [138, 77]  # 2K is on every tier
    ultra = (await tab.ok("ogiZ0b", images(tab.project)))[0][0][0]
    assert (await tab.ok("SPrCad", [ultra, 2, ctx(tab.project)]))[0] == [275, 154]
    assert await tab.refused("SPrCad", [ultra, 3, ctx(None)]) == [3]
    assert await tab.refused("SPrCad", [ultra, 1, ctx(new_uuid())]) == [3]
    assert await tab.refused("SPrCad", [image, 1, ctx(None)]) == [5]  # another account's image
