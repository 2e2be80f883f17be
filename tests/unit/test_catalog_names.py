"""The names people type over the catalogue: aliases, listed variants, and the ``edit`` token; and
the catalogue tokens an edit is routed by."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.catalog import Catalog
from gateway.catalog.models_file import load_catalogue_file
from gateway.config import ConfigError, ModelsSettings
from gateway.domain import Aspect, Kind, Tier, VideoMode, VideoSpeed
from gateway.errors import InvalidRequestError, ModelNotFoundError
from gateway.upstream.flow import catalogue as cat
from gateway.upstream.flow.video_keys import BatchPlan, derived_key

MODELS = Path(__file__).parents[2] / "config" / "models.toml"
CATALOG = Catalog.load(MODELS)


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("gpt-image-1", "nano_banana_pro"),
        ("GPT-Image-1", "nano_banana_pro"),
        ("gpt-image-1-mini", "nano_banana"),  # the longer alias wins over gpt-image-1 + "mini"
        ("dall-e-3", "nano_banana_pro"),
        ("dall-e-2", "nano_banana"),
        ("sora-2", "veo_3_1-fast"),
        ("sora-2-pro", "veo_3_1"),
        ("sora-2-landscape", "veo_3_1-landscape-fast"),  # an alias takes more parameters
        ("sora-2-pro-landscape-4s", "veo_3_1-landscape-4s"),
    ],
)
def test_aliases_resolve_to_their_models(alias: str, name: str) -> None:
    assert CATALOG.resolve(alias).name == name


def test_an_alias_keeps_request_fields_and_groups() -> None:
    spec = CATALOG.resolve("sora-2|[pro]", size="1280x720", seconds="4")
    assert (spec.kind, spec.aspect, spec.groups, spec.video and spec.video.speed) == (
        Kind.VIDEO,
        Aspect.LANDSCAPE,
        ("pro",),
        VideoSpeed.FAST,
    )
    assert CATALOG.resolve("dall-e-3", quality="hd").tier is Tier.PRO  # hd: 2K, which needs Pro
    assert CATALOG.unalias("veo_3_1-fast") == "veo_3_1-fast"
    with pytest.raises(ModelNotFoundError):
        CATALOG.resolve("gpt-image-2")
    with pytest.raises(InvalidRequestError) as info:
        CATALOG.resolve("sora-2-square")  # Veo has no square: the grammar still says why
    assert info.value.param == "model"


def test_the_config_adds_and_removes_aliases_and_replaces_variants() -> None:
    names = ModelsSettings(aliases={"flux": "nano_banana_2-square", "dall-e-2": ""}, variants=("veo_3_1-4s",))
    catalog = Catalog.load(MODELS, names=names)
    assert catalog.resolve("flux").name == "nano_banana_2-square"
    with pytest.raises(ModelNotFoundError):
        catalog.resolve("dall-e-2")
    assert [v.name for v in catalog.variants()] == ["veo_3_1-4s"]
    assert "sora-2" in catalog.aliases()


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (ModelsSettings(aliases={"bad": "nano_banana-fast"}), "alias 'bad'"),
        (ModelsSettings(aliases={"bad": "no_such_model"}), "alias 'bad'"),
        (ModelsSettings(aliases={"veo_3_1-x": "nano_banana"}), "would hide the model 'veo_3_1'"),
        (ModelsSettings(aliases={"chain": "sora-2"}), "names another alias"),
        (ModelsSettings(variants=("veo_3_1-square",)), "listed variant 'veo_3_1-square'"),
    ],
)
def test_bad_names_are_config_errors(names: ModelsSettings, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Catalog.load(MODELS, names=names)


def test_listed_variants_are_canonical_and_carry_what_they_need() -> None:
    variants = {v.name: v for v in CATALOG.variants()}
    assert len(variants) == len(load_catalogue_file(MODELS).variants)  # every listed one resolves
    fast = variants["veo_3_1-landscape-fast"]
    assert (fast.tier, fast.credits, fast.aspect) == (Tier.PRO, 20, Aspect.LANDSCAPE)
    assert variants["nano_banana_pro-landscape-4K"].tier is Tier.ULTRA


def test_edit_is_an_omni_flash_token() -> None:
    spec = CATALOG.resolve("omni_flash-edit", size="1280x720")
    assert spec.video is not None and spec.video.edit and not spec.video.extend
    assert (spec.name, spec.credits, spec.upstream_model) == ("omni_flash-landscape-edit", 20, "abra")
    with pytest.raises(InvalidRequestError):
        CATALOG.resolve("veo_3_1-edit")  # Veo has no edit in Flow


def test_an_edit_is_offered_by_catalogues_that_list_it_and_never_by_rest() -> None:
    edit = cat.Usage(
        "abra_edit",
        "abra",
        image=False,
        costs={2: 20, 3: 20},
        options=(frozenset({1, 20}),),
        aspects=frozenset({1, 2}),
        seconds=None,
        resolutions=frozenset(),
    )
    text = cat.Usage(
        "abra_t2v_8s",
        "abra",
        image=False,
        costs={2: 12},
        options=(frozenset({1}),),
        aspects=frozenset({1, 2}),
        seconds=8,
        resolutions=frozenset(),
    )
    aspects = {1: "9:16", 2: "16:9"}
    need = cat.video_need("abra", VideoMode.EDIT, 8, "16:9")
    assert need == cat.video_need("abra", VideoMode.EDIT, 4, "16:9")  # an edit keeps any source length
    assert need in cat.offers_of(cat.FlowCatalogue((edit, text)), 2, aspects)
    assert need not in cat.offers_of(cat.FlowCatalogue((text,)), 2, aspects)
    catalogue = cat.FlowCatalogue((edit, text))
    found = catalogue.video(family="abra", mode=VideoMode.EDIT, seconds=4, aspect=2, service_tier=2)
    assert found is not None and found.key == "abra_edit"
    assert not any(":edit:" in token for token in cat.legacy_offers(["veo_3_1_fast"], ["GEM_PIX_2"]))
    plan = BatchPlan(VideoMode.EDIT, "abra", 6, Aspect.PORTRAIT, ultra=True)
    assert derived_key(plan) == "abra_edit"
