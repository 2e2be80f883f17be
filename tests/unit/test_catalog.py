from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.catalog import Catalog
from gateway.config import ConfigError
from gateway.domain import Aspect, ImageResolution, Kind, Tier, VideoResolution, VideoSpeed
from gateway.errors import InvalidRequestError, ModelNotFoundError

CATALOG = Catalog.load(Path(__file__).parents[2] / "config" / "models.toml")


@pytest.mark.parametrize(
    ("model", "aspect", "resolution", "tier", "name"),
    [
        ("nano_banana", Aspect.PORTRAIT, ImageResolution.R1K, Tier.FREE, "nano_banana"),
        ("nano_banana-landscape", Aspect.LANDSCAPE, ImageResolution.R1K, Tier.FREE, "nano_banana-landscape"),
        ("nano_banana-square", Aspect.SQUARE, ImageResolution.R1K, Tier.FREE, "nano_banana-square"),
        ("nano_banana-1:1", Aspect.SQUARE, ImageResolution.R1K, Tier.FREE, "nano_banana-square"),
        (
            "nano_banana_pro-4K-16/9",
            Aspect.LANDSCAPE,
            ImageResolution.R4K,
            Tier.ULTRA,
            "nano_banana_pro-landscape-4K",
        ),
        (
            "nano_banana_pro-16:9-4k",
            Aspect.LANDSCAPE,
            ImageResolution.R4K,
            Tier.ULTRA,
            "nano_banana_pro-landscape-4K",
        ),
        (
            "nano_banana_pro-2K-3/4",
            Aspect.PORTRAIT_3_4,
            ImageResolution.R2K,
            Tier.PRO,
            "nano_banana_pro-3/4-2K",
        ),
        (
            "nano_banana_2-4/3-1K",
            Aspect.LANDSCAPE_4_3,
            ImageResolution.R1K,
            Tier.FREE,
            "nano_banana_2-4/3-1K",
        ),
        ("imagen_4-landscape", Aspect.LANDSCAPE, ImageResolution.R1K, Tier.FREE, "imagen_4-landscape"),
        ("imagen_4-9/16", Aspect.PORTRAIT, ImageResolution.R1K, Tier.FREE, "imagen_4-portrait"),
    ],
)
def test_image_names(model: str, aspect: Aspect, resolution: ImageResolution, tier: Tier, name: str) -> None:
    spec = CATALOG.resolve(model)
    assert (spec.kind, spec.aspect, spec.resolution, spec.tier, spec.name) == (
        Kind.IMAGE,
        aspect,
        resolution,
        tier,
        name,
    )


@pytest.mark.parametrize(
    ("model", "speed", "frames", "seconds", "resolution", "tier", "credits"),
    [
        ("veo_3_1", VideoSpeed.QUALITY, False, 8, VideoResolution.SD, Tier.PRO, 100),
        ("veo_3_1-fl-fast", VideoSpeed.FAST, True, 8, VideoResolution.SD, Tier.PRO, 20),
        ("veo_3_1-fast-fl", VideoSpeed.FAST, True, 8, VideoResolution.SD, Tier.PRO, 20),
        ("veo_3_1-relaxed-landscape", VideoSpeed.RELAXED, False, 8, VideoResolution.SD, Tier.ULTRA, 0),
        ("veo_3_1-lite-4s", VideoSpeed.LITE, False, 4, VideoResolution.SD, Tier.PRO, 10),
        ("veo_3_1-hd-6s", VideoSpeed.QUALITY, False, 6, VideoResolution.HD, Tier.PRO, 100),
        ("veo_3_1-4K", VideoSpeed.QUALITY, False, 8, VideoResolution.UHD, Tier.ULTRA, 150),  # 4K upscale: 50
    ],
)
def test_video_names(
    model: str,
    speed: VideoSpeed,
    frames: bool,
    seconds: int,
    resolution: VideoResolution,
    tier: Tier,
    credits: int,
) -> None:
    spec = CATALOG.resolve(model)
    assert spec.video is not None
    assert (spec.video.speed, spec.video.frames, spec.video.seconds, spec.video.resolution) == (
        speed,
        frames,
        seconds,
        resolution,
    )
    assert (spec.tier, spec.credits) == (tier, credits)


@pytest.mark.parametrize(
    ("model", "needle"),
    [
        ("imagen_4-4K", "valid parameters: portrait, landscape, 9/16, 16/9"),
        ("imagen_4-square", "valid parameters: portrait, landscape, 9/16, 16/9"),
        ("nano_banana-4K", "not a parameter of nano_banana"),
        ("veo_3_1-4s-6s", "at most one of: 4s, 6s, 8s"),
        ("veo_3_1-fast-relaxed", "at most one of: fast, relaxed, lite"),
        ("nano_banana-landscape-4/3", "at most one of"),
        ("nano_banana-landscape-landscape", "at most one of"),
        ("nano_banana--4K", "(empty)"),
        ("nano_banana-", "(empty)"),
        ("nano_banana-fast", "not a parameter"),
        ("veo_3_1-2K", "not a parameter"),
        ("nano_banana|ultra", "MODEL|[group"),
        ("nano_banana|[]", "empty account group"),
        ("nano_banana|[Ultra Pro]", "invalid account group"),
        ("", "required"),
    ],
)
def test_invalid_names(model: str, needle: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        CATALOG.resolve(model)
    assert info.value.param == "model"
    assert info.value.status == 400
    assert needle in info.value.message


def test_unknown_model_is_404() -> None:
    with pytest.raises(ModelNotFoundError) as info:
        CATALOG.resolve("stable-diffusion-3")  # (dall-e-3 is an alias now: tests/unit/test_catalog_names.py)
    assert (info.value.status, info.value.code, info.value.param) == (404, "model_not_found", "model")


@pytest.mark.parametrize(
    ("model", "size", "aspect"),
    [
        ("nano_banana", "1024x1024", Aspect.SQUARE),
        ("nano_banana", "1536x1024", Aspect.LANDSCAPE_4_3),
        ("nano_banana", "1792x1024", Aspect.LANDSCAPE),
        ("nano_banana", "1024x1536", Aspect.PORTRAIT_3_4),
        ("imagen_4", "1024x768", Aspect.LANDSCAPE),
        ("imagen_4", "768x1024", Aspect.PORTRAIT),
        ("veo_3_1", "1280x720", Aspect.LANDSCAPE),
        ("veo_3_1", "720x1280", Aspect.PORTRAIT),
        ("nano_banana", "auto", Aspect.PORTRAIT),
        ("nano_banana-landscape", "1024x1024", Aspect.LANDSCAPE),  # the name wins
    ],
)
def test_size_maps_to_the_nearest_aspect(model: str, size: str, aspect: Aspect) -> None:
    assert CATALOG.resolve(model, size=size).aspect is aspect


@pytest.mark.parametrize("size", ["abc", "0x10", "10x", "x10", "10x0"])
def test_bad_size(size: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        CATALOG.resolve("nano_banana", size=size)
    assert info.value.param == "size"


def test_seconds() -> None:
    assert CATALOG.resolve("veo_3_1", seconds="4").video.seconds == 4  # type: ignore[union-attr]
    assert CATALOG.resolve("veo_3_1", seconds=6).video.seconds == 6  # type: ignore[union-attr]
    assert CATALOG.resolve("veo_3_1-8s", seconds=4).video.seconds == 8  # type: ignore[union-attr]
    for bad, model in ((5, "veo_3_1"), ("12", "veo_3_1"), ("4", "nano_banana")):
        with pytest.raises(InvalidRequestError) as info:
            CATALOG.resolve(model, seconds=bad)
        assert info.value.param == "seconds"


def test_quality() -> None:
    assert CATALOG.resolve("nano_banana_pro", quality="hd").resolution is ImageResolution.R2K
    assert CATALOG.resolve("nano_banana_pro-4K", quality="high").resolution is ImageResolution.R4K
    assert CATALOG.resolve("nano_banana", quality="hd").resolution is ImageResolution.R1K
    assert CATALOG.resolve("veo_3_1", quality="hd").video.resolution is VideoResolution.HD  # type: ignore[union-attr]
    assert CATALOG.resolve("nano_banana_pro", quality="standard").resolution is ImageResolution.R1K
    with pytest.raises(InvalidRequestError) as info:
        CATALOG.resolve("nano_banana", quality="ultra-max")
    assert info.value.param == "quality"


def test_groups_from_name_win_over_header() -> None:
    assert CATALOG.resolve("veo_3_1-fast|[Ultra, pro]", groups=("x",)).groups == ("ultra", "pro")
    assert CATALOG.resolve("veo_3_1-fast", groups=("x", "X")).groups == ("x",)


def test_models_and_get() -> None:
    ids = [m.id for m in CATALOG.models()]
    assert ids == [
        "nano_banana",
        "nano_banana_2",
        "nano_banana_2_1",
        "nano_banana_2_lite",
        "nano_banana_pro",
        "imagen_4",
        "veo_3_1",
        "omni_flash",
    ]
    assert CATALOG.resolve("nano_banana").upstream_models == ("NARWHAL", "BELUGA")
    assert CATALOG.resolve("veo_3_1-relaxed-4s").upstream_model == "veo_3_1_lite_low_priority"
    omni = CATALOG.resolve("omni_flash-10s")
    assert (omni.upstream_model, omni.credits, omni.video and omni.video.seconds) == ("abra", 15, 10)
    with pytest.raises(InvalidRequestError, match="not a parameter"):
        CATALOG.resolve("veo_3_1-10s")  # 10 s is Omni Flash's only
    pro = CATALOG.get("nano_banana_pro")
    assert {f.name: f.values for f in pro.parameters}["image_size"] == ("1K", "2K", "4K")
    with pytest.raises(ModelNotFoundError):
        CATALOG.get("nope")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[models.x]\nkind = 'image'\n", "[models.x]"),
        ("[models.x]\nkind = 'audio'\nupstream = 'A'\n", "[models.x]"),
        ("[models.x]\nkind = 'image'\nupstream = 'A'\nfamilies = ['colour']\n", "colour"),
        ("[models.x]\nkind = 'image'\nupstream = 'A'\ntier = 'gold'\n", "gold"),
        ("[other]\n", "no [models"),
        ("[models\n", "cannot read"),
    ],
)
def test_load_errors_name_the_entry(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "models.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        Catalog.load(path)
    assert needle in str(info.value)


PRO_PARAMS = ["landscape", "4K"]


@given(st.permutations(["fast", "landscape", "4s", "fl", "hd"]))
def test_parameter_order_does_not_matter(order: list[str]) -> None:
    assert CATALOG.resolve("veo_3_1-" + "-".join(order)) == CATALOG.resolve("veo_3_1-fl-fast-hd-4s-landscape")
