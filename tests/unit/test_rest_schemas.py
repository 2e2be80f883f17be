import base64

import pytest

from gateway.domain import Aspect, ImageData, ImageResolution, Tier, UpstreamMedia
from gateway.upstream.flow import rest_schemas as wire
from gateway.upstream.flow.errors import UpstreamProtocolError
from gateway.upstream.flow.transport import ImageGenerationRequest


def test_generate_body_has_the_current_shape() -> None:
    ctx = wire.client_context(session_id=";1751371234567", project_id="p1", token="tok")
    req = ImageGenerationRequest("GEM_PIX_2", "a cat", Aspect.LANDSCAPE_4_3, 42, (UpstreamMedia("m1", "p1"),))
    body = wire.build_generate_images(req, ctx)
    assert body["clientContext"]["recaptchaContext"] == {
        "token": "tok",
        "applicationType": "RECAPTCHA_APPLICATION_TYPE_WEB",
    }
    assert body["useNewMedia"] is True
    (item,) = body["requests"]
    assert item["clientContext"] is ctx
    assert item["imageModelName"] == "GEM_PIX_2"
    assert item["imageAspectRatio"] == "IMAGE_ASPECT_RATIO_LANDSCAPE_FOUR_THREE"
    assert item["structuredPrompt"] == {"parts": [{"text": "a cat"}]}
    assert item["imageInputs"] == [{"name": "m1", "imageInputType": "IMAGE_INPUT_TYPE_REFERENCE"}]
    assert item["seed"] == 42


def test_every_aspect_has_an_enum() -> None:
    assert set(wire.IMAGE_ASPECTS) == set(Aspect)


def test_upsample_context_carries_tier() -> None:
    ctx = wire.client_context(session_id=";1", project_id="p", token="t", tier=Tier.ULTRA)
    body = wire.build_upsample(UpstreamMedia("m", "p"), ImageResolution.R4K, ctx)
    assert body["targetResolution"] == "UPSAMPLE_IMAGE_RESOLUTION_4K"
    assert body["clientContext"]["userPaygateTier"] == "PAYGATE_TIER_TWO"


def test_parse_images_and_errors() -> None:
    doc = {"media": [{"name": "n1", "image": {"generatedImage": {"fifeUrl": "https://x/y"}}}]}
    (img,) = wire.parse_generated_images(doc, "p")
    assert (img.media, img.url) == (UpstreamMedia("n1", "p"), "https://x/y")
    for bad in ({}, {"media": []}, {"media": [{"name": "n"}]}, []):
        with pytest.raises(UpstreamProtocolError):
            wire.parse_generated_images(bad, "p")


@pytest.mark.parametrize(
    "doc",
    [
        {"media": {"name": "m9"}},
        {"media": [{"name": "m9", "projectId": "p"}]},
        {"mediaGenerationId": {"mediaGenerationId": "m9"}},
    ],
)
def test_parse_upload_accepts_all_known_forms(doc: object) -> None:
    assert wire.parse_upload(doc, "p").name == "m9"


def test_upload_body() -> None:
    body = wire.build_upload(
        ImageData(b"\x89PNG....", "image/png"), session_id=";1", project_id="p", now_ms=5
    )
    assert base64.b64decode(body["imageBytes"]) == b"\x89PNG...."
    assert body["fileName"].endswith(".png")
    assert body["clientContext"] == {"sessionId": ";1", "tool": "PINHOLE", "projectId": "p"}


def test_session_parsing() -> None:
    token = wire.parse_session(
        {"access_token": "ya29.x", "expires": "2030-01-01T00:00:00.000Z", "user": {"email": "a@b"}}
    )
    assert token is not None
    assert token.email == "a@b"
    assert token.expires_at == 1893456000
    assert "ya29" not in repr(token)
    assert wire.parse_session({}) is None
    assert (
        wire.parse_session({"access_token": "x", "error": "RefreshAccessTokenError", "expires": "x"}) is None
    )


def test_credits_and_project() -> None:
    info = wire.parse_credits({"credits": 920, "userPaygateTier": "PAYGATE_TIER_ONE"})
    assert (info.credits, info.tier) == (920, Tier.PRO)
    assert wire.parse_credits({"userPaygateTier": "WHATEVER"}).tier is Tier.FREE
    assert wire.parse_create_project({"result": {"data": {"json": {"result": {"projectId": "u"}}}}}) == "u"
    with pytest.raises(UpstreamProtocolError):
        wire.parse_create_project({"result": {}})


def test_upsample_reply() -> None:
    assert wire.parse_upsample({"encodedImage": base64.b64encode(b"jpeg").decode()}) == b"jpeg"
    with pytest.raises(UpstreamProtocolError):
        wire.parse_upsample({"encodedImage": "!!notbase64"})
