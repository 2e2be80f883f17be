"""The codec against the evidence: every request it builds has the captured shape, and it reads out
of each captured reply what the fixture says is there."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from gateway.config import BatchSettings
from gateway.domain import Aspect, ImageData, ImageResolution, Tier, UpstreamMedia, VideoMode
from gateway.upstream.flow import batch_rpcs as rpc
from gateway.upstream.flow import batch_video as vrpc
from gateway.upstream.flow import catalogue as cat
from gateway.upstream.flow import errors as up
from gateway.upstream.flow.batch import CAPTCHA_PLACEHOLDER, iter_frames
from gateway.upstream.flow.canary import ShapeCanary
from gateway.upstream.flow.evidence import EvidenceCase, load
from gateway.upstream.flow.reasons import decode_status
from gateway.upstream.flow.shapes import mismatch
from gateway.upstream.flow.transport import ImageGenerationRequest, JobState

EVIDENCE = load()
SETTINGS = BatchSettings()
P = "project-1"
SOURCE = UpstreamMedia("media-1", P, "workflow-1")
JPEG = ImageData(b"\xff\xd8\xff\xe0jpeg", "image/jpeg")
# Every RPC the gateway sends, each of which must be transcribed as a request and a reply.
SENT = {
    rpc.RPC_IMAGE,
    rpc.RPC_UPLOAD,
    rpc.RPC_IMAGE_UPSCALE,
    vrpc.RPC_TEXT_TO_VIDEO,
    vrpc.RPC_START_FRAME,
    vrpc.RPC_START_END,
    vrpc.RPC_REFERENCES,
    vrpc.RPC_POLL,
    vrpc.RPC_MEDIA,
    vrpc.RPC_VIDEO_UPSCALE,
    vrpc.RPC_EXTEND,
    vrpc.RPC_EDIT,
    cat.RPC_CATALOGUE,
    cat.RPC_CREDITS,
}


def one(kind: str, rpcid: str | None, name: str | None = None) -> EvidenceCase:
    (case,) = [c for c in EVIDENCE.of(kind, rpcid) if name is None or c.name == name]
    return case


def built(rpcid: str) -> object:
    """What the codec sends for ``rpcid``, with inputs like the fixture's."""
    video = {
        "YhhmEf": vrpc.VideoRequest("a fox", "veo_3_1_t2v_fast", Aspect.LANDSCAPE),
        "eb1hJf": vrpc.VideoRequest("a fox", "k", Aspect.PORTRAIT, start="upload-1"),
        "nprQif": vrpc.VideoRequest("a fox", "k", Aspect.PORTRAIT, start="upload-1", end="upload-2"),
        "MZZa6b": vrpc.VideoRequest("a fox", "k", Aspect.LANDSCAPE, references=("upload-1", "upload-2")),
    }
    if rpcid in video:
        got, inner = vrpc.video_submit(video[rpcid], P, SETTINGS)
        assert got == rpcid
        return inner
    image = ImageGenerationRequest(
        "GEM_PIX_2", "a fox", Aspect.LANDSCAPE, 42, (UpstreamMedia("upload-1", P),), 4
    )
    return {
        "ogiZ0b": lambda: rpc.image_generate(image, P, SETTINGS),
        "maseQ": lambda: rpc.upload(JPEG, P, "a.jpg", SETTINGS),
        "SPrCad": lambda: rpc.image_upscale(UpstreamMedia("media-1", P), ImageResolution.R4K, SETTINGS),
        "p0UkFb": lambda: vrpc.video_upscale(
            SOURCE, 3, Aspect.LANDSCAPE, SETTINGS, key="veo_3_1_upsampler_4k"
        ),
        "fZytfe": lambda: vrpc.video_extend(
            vrpc.ExtendRequest("media-1", 8, "more", "veo_3_1_extension_lite", Aspect.LANDSCAPE), P, SETTINGS
        ),
        "jIps6": lambda: vrpc.video_edit(
            vrpc.EditRequest("media-1", 8, "rework", "abra_edit", Aspect.LANDSCAPE), P, SETTINGS
        ),
        "jwpduf": lambda: vrpc.poll(["media-1", "media-2"]),
        "as29s": lambda: vrpc.media_record("media-1"),
        "HTrJv": lambda: [],
        "nzlxg": lambda: [],
    }[rpcid]()


def test_every_rpc_sent_is_transcribed_both_ways() -> None:
    assert EVIDENCE.rpcs("request") >= SENT
    assert EVIDENCE.rpcs("reply") >= SENT


@pytest.mark.parametrize("case", EVIDENCE.cases, ids=lambda c: f"{c.file}:{c.name}")
def test_each_fixture_example_has_its_own_shape_and_a_source(case: EvidenceCase) -> None:
    assert mismatch(case.example, case.pattern) is None
    assert case.sources


@pytest.mark.parametrize("rpcid", sorted(SENT))
def test_requests_have_the_captured_shape(rpcid: str) -> None:
    inner = built(rpcid)
    problems = [mismatch(inner, case.pattern) for case in EVIDENCE.of("request", rpcid)]
    assert None in problems, problems


def test_request_values_the_evidence_insists_on() -> None:
    upscale: Any = built("p0UkFb")
    row = upscale[0][0]
    expect = one("request", "p0UkFb").expect
    assert (row[6], row[0][1], row[4][1]) == (
        expect["target"],
        expect["source_media"],
        expect["source_workflow"],
    )
    extend: Any = built("fZytfe")
    assert extend[0][0][0] == [None, "media-1", 169, 192] and extend[2][1] == SETTINGS.extend_trailer
    edit: Any = built("jIps6")
    assert edit[0][0][0] == [None, "media-1", 0, 192] and edit[2][1] == SETTINGS.audio_failure_preference
    images: Any = built("ogiZ0b")
    assert [r[3] for r in images[1]] == [42, 43, 44, 45]  # a batch uses seed + index
    assert all(r[7][10][0] == CAPTCHA_PLACEHOLDER == images[3][10][0] for r in images[1])
    submit: Any = built("YhhmEf")
    assert submit[2][1] == SETTINGS.audio_failure_preference and submit[1][10] == [CAPTCHA_PLACEHOLDER, 1]
    with pytest.raises(ValueError, match="generation id"):
        vrpc.video_upscale(UpstreamMedia("media-1", P), 2, Aspect.LANDSCAPE, SETTINGS, key="k")


@pytest.mark.parametrize("case", EVIDENCE.of("reply", "YhhmEf"), ids=lambda c: c.name)
def test_submit_reply(case: EvidenceCase) -> None:
    media = vrpc.parse_video_submit(case.example, "other-project")
    assert (media.name, media.project_id, media.workflow) == (
        case.expect["media"],
        case.expect["project"],
        case.expect["workflow"],
    )
    assert vrpc.balance_of(case.example) == case.expect["credits"]


@pytest.mark.parametrize("case", EVIDENCE.of("reply", "jwpduf"), ids=lambda c: c.name)
def test_poll_reply(case: EvidenceCase) -> None:
    jobs = [UpstreamMedia(name, P) for name in case.expect["states"]]  # type: ignore[union-attr]
    statuses = vrpc.parse_video_poll(case.example, jobs)
    assert {s.media.name: s.state.value for s in statuses} == case.expect["states"]
    if "reason" in case.expect:
        assert statuses[0].reason == case.expect["reason"]
    if "workflow" in case.expect:
        assert statuses[0].media.workflow == case.expect["workflow"]


def test_media_replies() -> None:
    done = one("reply", "as29s", "done")
    links = vrpc.parse_video_links(done.example)
    assert links is not None
    assert (links.video, links.poster) == (done.expect["video"], done.expect["poster"])
    assert vrpc.workflow_of(done.example) == done.expect["workflow"]
    assert vrpc.parse_video_links(one("reply", "as29s", "running").example) is None


def test_image_replies() -> None:
    case = one("reply", "ogiZ0b")
    (image,) = rpc.parse_image_generate(case.example, P)
    (expect,) = case.expect["images"]  # type: ignore[misc]
    assert (image.media.name, image.url, image.media.workflow) == (
        expect["media"],
        expect["url"],
        expect["workflow"],
    )
    assert rpc.parse_upload(one("reply", "maseQ").example, P).name == one("reply", "maseQ").expect["media"]
    upscaled = one("reply", "SPrCad")
    assert rpc.parse_image_upscale(upscaled.example) == base64.b64decode(str(upscaled.expect["base64"]))


def test_a_partial_image_answer_is_what_came() -> None:
    example: Any = one("reply", "ogiZ0b").example
    row = example[0][0]
    rows = []
    for i in range(3):  # asked for 4, Flow answered 3 rows and no error
        url = row[6][0][13].replace("media-1", f"media-{i}")
        rows.append([f"media-{i}", *row[1:6], [[*row[6][0][:13], url], *row[6][1:]]])
    images = rpc.parse_image_generate([rows, example[1]], P)
    assert [i.media.name for i in images] == ["media-0", "media-1", "media-2"]


def test_catalogue_and_credits() -> None:
    case = one("reply", "HTrJv")
    catalogue = cat.parse_catalogue(case.example)
    assert [u.key for u in catalogue.usages if not u.image] == case.expect["video_keys"]
    assert [u.key for u in catalogue.usages if u.image] == case.expect["image_keys"]
    pick = {
        "tier3_fast_t2v_landscape_8s": ("veo_3_1_fast", VideoMode.TEXT, 8, 2, 3),
        "tier2_fast_t2v_landscape_8s": ("veo_3_1_fast", VideoMode.TEXT, 8, 2, 2),
        "tier2_fast_t2v_portrait_8s": ("veo_3_1_fast", VideoMode.TEXT, 8, 1, 2),
        "tier3_extend_lite": ("veo_3_1_lite", VideoMode.EXTEND, 8, 2, 3),
        "tier3_relaxed_t2v_4s": ("veo_3_1_lite_low_priority", VideoMode.TEXT, 4, 1, 3),
        "tier2_relaxed_t2v_8s": ("veo_3_1_lite_low_priority", VideoMode.TEXT, 8, 1, 2),
    }
    for name, (family, mode, seconds, aspect, tier) in pick.items():
        usage = catalogue.video(family=family, mode=mode, seconds=seconds, aspect=aspect, service_tier=tier)
        assert (usage.key if usage else None) == case.expect[name], name
    for name, tier in (("tier2_upscale_4k", 2), ("tier3_upscale_4k", 3)):
        usage = catalogue.upscaler("4K", tier)
        assert (usage.key if usage else None) == case.expect[name]
    credits = one("reply", "nzlxg")
    read = cat.parse_credits(credits.example, service_tier_slot=SETTINGS.service_tier_slot)
    assert (read.balance, read.tier, read.service_tier) == (840, Tier.PRO, credits.expect["service_tier"])
    assert cat.parse_credits([None, 2, 3, 3, None, None], service_tier_slot=3).balance == 0  # zero is omitted


def test_offers_and_needs_speak_the_same_tokens() -> None:
    catalogue = cat.parse_catalogue(one("reply", "HTrJv").example)
    aspects = {code: name for name, code in SETTINGS.video_aspect_codes.items()}
    pro, ultra = cat.offers_of(catalogue, 2, aspects), cat.offers_of(catalogue, 3, aspects)
    fast_portrait = cat.video_need("veo_3_1_fast", VideoMode.TEXT, 8, "9:16")
    relaxed = cat.video_need("veo_3_1_lite_low_priority", VideoMode.TEXT, 8, "16:9")
    assert fast_portrait in pro and relaxed not in pro and relaxed in ultra
    assert cat.upscale_need("4K") in ultra and cat.upscale_need("4K") not in pro
    assert cat.image_need("BELUGA") in pro and cat.image_need("NARWHAL") not in pro


@pytest.mark.parametrize("case", EVIDENCE.of("error"), ids=lambda c: c.name)
def test_error_reasons_in_every_form(case: EvidenceCase) -> None:
    decoded = decode_status(case.example)
    assert (decoded.code, list(decoded.reasons)) == (case.expect["code"], case.expect["reasons"])
    assert not decoded.undecoded


@pytest.mark.parametrize(
    ("name", "submit", "cls"),
    [
        ("unusual activity, ErrorInfo string", False, up.UpstreamFlaggedError),
        ("user quota, ErrorInfo string", False, up.UpstreamQuotaError),
        ("too much traffic, PublicAitkError integer", False, up.UpstreamRateLimitedError),
        ("throttled, PublicAitkError integer", False, up.UpstreamRateLimitedError),
        ("too much traffic, PublicAitkError base64", False, up.UpstreamRateLimitedError),
        ("throttled, ErrorInfo base64", False, up.UpstreamRateLimitedError),
        ("content, reason in the message", False, up.UpstreamContentRejectedError),
        ("bare status", False, up.UpstreamNotFoundError),
        ("bare status", True, up.UpstreamUnconfirmedError),
    ],
)
def test_error_classes(name: str, submit: bool, cls: type[up.UpstreamError]) -> None:
    decoded = decode_status(one("error", None, name).example)
    error = up.classify_rpc(decoded.code, decoded.reasons, endpoint="batch.x", submit=submit)
    assert type(error) is cls


def test_a_reasonless_8_is_never_spent_credits() -> None:
    error = up.classify_rpc(8, (), endpoint="batch.YhhmEf", submit=True)
    assert isinstance(error, up.UpstreamRateLimitedError) and not isinstance(error, up.UpstreamQuotaError)


def test_frames_and_the_canary() -> None:
    for case in EVIDENCE.of("frame"):
        text = ")]}'\n\n100\n" + json.dumps([case.example]) + "\n"
        assert list(iter_frames(text)) == [case.example]
    canary = ShapeCanary(EVIDENCE)
    record = one("reply", "as29s", "done").example
    assert canary.check_reply("as29s", record)
    assert not canary.check_reply("as29s", [record])  # the old, wrapped nesting
    assert not canary.check_reply("jwpduf", [[record]])  # records at [0] instead of [2]
    assert (
        canary.check_error("YhhmEf", [8, None, [["type.googleapis.com/x.Unknown", "CDI="]]], undecoded=True)
        is False
    )
    report = canary.report()
    assert report["as29s"]["count"] == 1 and report["jwpduf"]["count"] == 1
    assert "media-1" not in str(report)  # skeletons only, never values


def test_every_disputed_point_names_a_setting_that_exists_with_the_fixture_default() -> None:
    for point in EVIDENCE.disputed:
        section, name = point.config.split(".")
        assert section == "batch" and name in BatchSettings.__struct_fields__, point.config
        default = getattr(SETTINGS, name)
        choice = point.choice
        if isinstance(default, dict) and isinstance(choice, dict):
            assert choice.items() <= default.items(), point.config
        else:
            assert list(default) == choice if isinstance(default, tuple) else default == choice, point.config


@pytest.mark.parametrize(
    "status",
    [
        [
            8,
            None,
            [["type.googleapis.com/google.internal.labs.aisandbox.proto.common.v1.PublicAitkError", "%%%"]],
        ],
        [
            8,
            None,
            [["type.googleapis.com/google.internal.labs.aisandbox.proto.common.v1.PublicAitkError", "CA=="]],
        ],
        [
            8,
            None,
            [
                [
                    "type.googleapis.com/google.internal.labs.aisandbox.proto.common.v1.PublicAitkError",
                    "CAEIAg==",
                ]
            ],
        ],
        [
            8,
            None,
            [["type.googleapis.com/google.internal.labs.aisandbox.proto.common.v1.PublicAitkError", [999]]],
        ],
        [8, "free text mentioning PUBLIC_ERROR_UNUSUAL_ACTIVITY", []],
    ],
)
def test_malformed_or_unknown_reasons_are_no_reasons(status: list[object]) -> None:
    # Truncated, doubled, out-of-enum values and free text never classify anything.
    assert decode_status(status).reasons == ()
    assert isinstance(
        up.classify_rpc(8, decode_status(status).reasons, endpoint="x"), up.UpstreamRateLimitedError
    )


def test_a_failed_jobs_reason_in_integer_form() -> None:
    aitk = "type.googleapis.com/google.internal.labs.aisandbox.proto.common.v1.PublicAitkError"
    record = ["m", P, "w", None, None, [None] * 8 + [[4, [3, None, [[aitk, [16]]]], ["X"], [1]]]]
    (status,) = vrpc.parse_video_poll([None, None, [record]], [UpstreamMedia("m", P)])
    assert (status.state, status.reason) == (JobState.FAILED, "PUBLIC_ERROR_SEXUAL")
