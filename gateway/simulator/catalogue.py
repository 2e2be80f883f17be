"""What each account may use on flow.google.com: its model catalogue, per cohort and service tier.

Transcribed from the one live ``HTrJv`` reply found (google-flow-mcp's fixture, research
errors-catalogue.md §2.4-2.8) and the key tables of video-image-rpcs.md §8-10. A usage is one wire
model key: its credits per service tier (``None``: not offered at that tier), its input options
(requirement sets: 1 prompt, 5 start frame, 7 end frame, 6 reference images, 14 extension, 15 1080p,
16 4K, 20 edit, 21 720p; 18/19 audio extras), aspects (1 = 9:16, 2 = 16:9), seconds and output resolution
(1 = 720p, 2 = 1080p, 3 = 4K, 4 = 360p). Fast and Quality 8 s keys carry their orientation and have
one aspect; Lite, Omni and the 4/6 s keys take both.

Two cohorts share the video families (but for Omni Flash's edit, which migrated accounts' alone list).
``migrated`` accounts (from 2026-10-08, gflow) list the images BELUGA (Nano Banana 2.1), GEM_PIX_2
(Pro) and HARBOR_SEAL (2 Lite); ``legacy`` ones NARWHAL, GEM_PIX_2 and IMAGEN_3_5. The service tier
the costs are per follows the paygate tier: NOT_PAID → 1, ONE (Pro) → 2, TWO (Ultra) → 3.
``wire.py`` turns the table into ``HTrJv``'s positional reply.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

from gateway.simulator.config import COHORTS

Costs = tuple[int | None, int | None, int | None]
SERVICE_TIERS = {"PAYGATE_TIER_NOT_PAID": 1, "PAYGATE_TIER_ONE": 2, "PAYGATE_TIER_TWO": 3}
BOTH, LANDSCAPE, PORTRAIT = (2, 1), (2,), (1,)
R720, R1080, R4K, R360 = 1, 2, 3, 4
# Requirement ints that say what a call starts from (the rest, 1 and the audio extras, do not).
MODE_INTS = frozenset({5, 6, 7, 14, 15, 16, 20, 21})


@dataclass(frozen=True, slots=True)
class Usage:
    """One wire model key and what it takes, costs and gives."""

    key: str
    costs: Costs
    options: tuple[tuple[int, ...], ...]
    aspects: tuple[int, ...] = BOTH
    seconds: int | None = 8
    resolution: int = R720
    capacities: tuple[object, ...] = ()
    latency: int = 100  # slot [14]: 100-330 in the capture, meaning unknown
    image: bool = False

    def cost(self, tier: int) -> int | None:
        """Credits at service ``tier`` (1-3), or None where the key is not offered."""
        return self.costs[tier - 1]

    def fits(self, need: frozenset[int]) -> bool:
        """True when an option takes ``need``: all of it, and no other input kind (a reference key
        does not take a text call just because its options hold the prompt too)."""
        return any(
            need <= set(option) and set(option) & MODE_INTS == need & MODE_INTS for option in self.options
        )

    @property
    def max_images(self) -> int | None:
        """The most reference images a call may give (capacities [2]), where the key takes any."""
        cap = self.capacities[2] if len(self.capacities) > 2 else None
        return cap if isinstance(cap, int) else None

    @property
    def sources(self) -> tuple[int, ...]:
        """An upsampler's source resolutions (capacities [5]); () for other keys."""
        found = self.capacities[5] if len(self.capacities) > 5 else None
        return tuple(found) if isinstance(found, list) else ()


@dataclass(frozen=True, slots=True)
class Family:
    """A menu entry: its label, usages, flag (true or null, meaning unknown) and family key."""

    label: str
    usages: tuple[Usage, ...]
    key: str
    flag: bool | None = True


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The video and image families of one cohort."""

    video: tuple[Family, ...]
    images: tuple[Family, ...]

    def video_usage(self, key: object) -> Usage | None:
        """The video usage of a wire key, if the catalogue lists it."""
        return next((u for u in _usages(self.video) if u.key == key), None)

    def image_usage(self, key: object) -> Usage | None:
        """The image usage of a model code, if the catalogue lists it."""
        return next((u for u in _usages(self.images) if u.key == key), None)


def _usages(families: tuple[Family, ...]) -> Iterator[Usage]:
    return (usage for family in families for usage in family.usages)


def service_tier(paygate: str) -> int:
    """The service tier (1 ENTRY, 2 INTERMEDIATE, 3 ADVANCED) an account's paygate tier gives."""
    return SERVICE_TIERS[paygate]


def _all(cost: int) -> Costs:
    return (cost, cost, cost)


def _paid(cost: int) -> Costs:
    return (cost, cost, None)


def _ultra(cost: int) -> Costs:
    return (None, None, cost)


TEXT, FRAME, FIRST_LAST, REFS, EXTEND = ((1,),), ((1, 5),), ((1, 5, 7),), ((1, 6),), ((1, 14),)
EDIT = ((1, 20), (1, 20, 6))  # Omni Flash's edit, plain or with ingredients (20 is fograd's edit number)
VEO_REFS = (1, 3, 3)  # capacities: audio refs, characters, images
OMNI_REFS = (5, 3, 7)
EXTEND_CAPS = (None, None, None, 8, 8)


def _omni(cohort: str) -> Family:
    """Omni 1.1 Flash: t2v, i2v, r2v and first+last at 4-10 s, each with a 360p twin; on migrated
    accounts also its edit (``abra_edit``: one key for any length, 20 credits for an 8 s clip, a live
    run), which the legacy cohort's catalogue lacks, so a refusal can be tested."""
    prices, prices_360p = {4: 7, 6: 10, 8: 12, 10: 15}, {4: 4, 6: 5, 8: 6, 10: 7}
    kinds = (
        ("abra_t2v_{}s", TEXT, ()),
        ("abra_i2v_{}s", FRAME, ()),
        ("abra_r2v_{}s", ((1, 6), (1, 6, 18, 19), (1, 6, 18)), OMNI_REFS),
        ("omni_flash_i2v_{}s_first_last", FIRST_LAST, ()),
    )
    usages = [
        Usage(
            pattern.format(seconds) + suffix,
            _all(price[seconds]),
            options,
            seconds=seconds,
            resolution=resolution,
            capacities=caps,
            latency=120,
        )
        for pattern, options, caps in kinds
        for seconds in (4, 6, 8, 10)
        for suffix, price, resolution in (("", prices, R720), ("_360p", prices_360p, R360))
    ]
    if cohort != "legacy":
        usages.append(Usage("abra_edit", _all(20), EDIT, seconds=None, capacities=OMNI_REFS, latency=120))
    return Family("Omni 1.1 Flash", tuple(usages), "abra")


def _lite(suffix: str, costs: Costs, short: Costs) -> tuple[Usage, ...]:
    """The Lite keys (``suffix`` "_low_priority" for the free lane): 8 s, then 4 and 6 s."""
    eight = (
        Usage(f"veo_3_1_t2v_lite{suffix}", costs, TEXT, latency=110),
        Usage(f"veo_3_1_i2v_lite{suffix}", costs, FRAME, latency=110),
        Usage(f"veo_3_1_interpolation_lite{suffix}", costs, FIRST_LAST, latency=110),
        Usage(f"veo_3_1_r2v_lite{suffix}", costs, REFS, capacities=VEO_REFS, latency=110),
        Usage(f"veo_3_1_extension_lite{suffix}", costs, EXTEND, capacities=EXTEND_CAPS, latency=110),
    )
    shorter = (
        Usage(f"{stem}_{seconds}s{tail}{suffix}", short, options, seconds=seconds, latency=110)
        for seconds in (4, 6)
        for stem, tail, options in (
            ("veo_3_1_t2v_lite", "", TEXT),
            ("veo_3_1_i2v_s_lite", "", FRAME),
            ("veo_3_1_i2v_s_lite", "_fl", FIRST_LAST),
        )
    )
    return (*eight, *shorter)


def _oriented(stem: str, landscape: str, tail: str, options: tuple[tuple[int, ...], ...]) -> list[Usage]:
    """A Fast 8 s key in both orientations, each at Pro price (20) and as Ultra's ``_ultra`` (10)."""
    caps = VEO_REFS if options == REFS else EXTEND_CAPS if options == EXTEND else ()
    return [
        Usage(f"{stem}{tag}{ultra}{tail}", costs, options, aspects=aspects, capacities=caps)
        for tag, aspects in ((landscape, LANDSCAPE), ("_portrait", PORTRAIT))
        for ultra, costs in (("", _paid(20)), ("_ultra", _ultra(10)))
    ]


def _fast() -> Family:
    usages = [
        *_oriented("veo_3_1_t2v_fast", "", "", TEXT),
        *_oriented("veo_3_1_i2v_s_fast", "", "", FRAME),
        *_oriented("veo_3_1_i2v_s_fast", "", "_fl", FIRST_LAST),
        *_oriented("veo_3_1_r2v_fast", "_landscape", "", REFS),
        *_oriented("veo_3_1_extend_fast", "_landscape", "", EXTEND),
        *(
            Usage(f"{stem}_{seconds}s{tail}", _ultra(10), options, seconds=seconds)
            for seconds in (4, 6)
            for stem, tail, options in (
                ("veo_3_1_t2v_fast", "", TEXT),
                ("veo_3_1_i2v_s_fast", "", FRAME),
                ("veo_3_1_i2v_s_fast", "_fl", FIRST_LAST),
            )
        ),
    ]
    return Family("Veo 3.1 - Fast", tuple(usages), "veo_3_1_fast")


def _quality() -> Family:
    usages = [
        Usage(f"{stem}{tag}{tail}", _all(100), options, aspects=aspects, latency=180)
        for stem, tail, options in (
            ("veo_3_1_t2v", "", TEXT),
            ("veo_3_1_i2v_s", "", FRAME),
            ("veo_3_1_i2v_s", "_fl", FIRST_LAST),
        )
        for tag, aspects in (("", LANDSCAPE), ("_portrait", PORTRAIT))
    ]
    usages += [
        Usage(
            f"veo_3_1_extend_{side}", _all(100), EXTEND, aspects=aspects, capacities=EXTEND_CAPS, latency=270
        )
        for side, aspects in (("landscape", LANDSCAPE), ("portrait", PORTRAIT))
    ]
    usages += [
        Usage(f"{stem}_quality_{seconds}s{tail}", _ultra(100), options, seconds=seconds, latency=210)
        for seconds in (4, 6)
        for stem, tail, options in (
            ("veo_3_1_t2v", "", TEXT),
            ("veo_3_1_i2v_s", "", FRAME),
            ("veo_3_1_i2v_s", "_fl", FIRST_LAST),
        )
    ]
    return Family("Veo 3.1 - Quality", tuple(usages), "veo_3_1_quality")


def _upsampler(label: str, key: str, costs: Costs, wiring: tuple[int, int, int]) -> Family:
    """An upsampler family; ``wiring`` = (its requirement int, output resolution, source resolution)."""
    option, output, source = wiring
    caps = (None, None, None, None, None, [source])
    usage = Usage(key, costs, ((option,),), seconds=60, resolution=output, capacities=caps, latency=330)
    return Family(label, (usage,), key)


def _video_families(cohort: str) -> tuple[Family, ...]:
    return (
        _omni(cohort),
        Family("Veo 3.1 - Lite", _lite("", (10, 10, 5), _ultra(5)), "veo_3_1_lite"),
        _fast(),
        _quality(),
        Family(
            "Veo 3.1 - Lite [Lower Priority]",
            _lite("_low_priority", _ultra(0), _ultra(0)),
            "veo_3_1_lite_low_priority",
            flag=None,
        ),
        _upsampler("Veo 3.1 - Upsampler 1080P", "veo_3_1_upsampler_1080p", (None, 0, 0), (15, R1080, R720)),
        _upsampler("Omni - Upsampler 360p", "omni_upsampler_360p", (None, 0, 0), (21, R720, R360)),
        _upsampler("Veo 3.1 - Upsampler 4K", "veo_3_1_upsampler_4k", _ultra(50), (16, R4K, R720)),
    )


# Image options (a different enum from video's): 1 prompt, 3 reference images [G], 4/7 unknown;
# 5 and 6 the 2K and 4K upsamples. The aspect list at [13] holds the ogiZ0b aspect codes 1-5.
PIX_OPTIONS = ((1,), (1, 4), (1, 3), (1, 3, 4), (1, 3, 7), (1, 3, 7, 4))
IMAGE_CAPS = (None, 10, 10)  # capacities [2]: the most reference images


def _pix(
    key: str,
    options: tuple[tuple[int, ...], ...],
    costs: Costs = (0, 0, 0),
    aspects: tuple[int, ...] = (1, 2, 3, 4, 5),
) -> Usage:
    """An image usage (0 credits: images spend a daily quota, not credits)."""
    return Usage(key, costs, options, aspects, None, capacities=IMAGE_CAPS, latency=40, image=True)


def _one(label: str, family: str, usage: Usage, *, flag: bool | None = True) -> Family:
    return Family(label, (usage,), family, flag)


def _image_families(cohort: str) -> tuple[Family, ...]:
    pro = _one("🍌 Nano Banana Pro", "nano_banana_pro", _pix("GEM_PIX_2", PIX_OPTIONS))
    upsamples = (
        _one("2K", "upsample_2k", _pix("GEM_PIX_2_UPSAMPLE_2K", ((5,),))),
        _one("4k", "upsample_4k", _pix("GEM_PIX_2_UPSAMPLE_4K", ((6,),), _ultra(0))),
    )
    if cohort == "legacy":
        return (
            pro,
            _one("🍌 Nano Banana 2", "narwhal_display", _pix("NARWHAL", ((1,), (1, 3))), flag=None),
            _one("Imagen 4", "imagen_3_5", _pix("IMAGEN_3_5", TEXT, aspects=(2, 3))),
            *upsamples,
        )
    return (
        pro,
        _one("🍌 Nano Banana 2.1", "beluga", _pix("BELUGA", ((1,), (1, 3)))),
        _one("🍌 Nano Banana 2 Lite", "harbor_seal", _pix("HARBOR_SEAL", ((1,), (1, 3))), flag=None),
        *upsamples,
    )


@functools.cache
def catalogue(cohort: str) -> Catalogue:
    """The catalogue of a cohort (built once)."""
    if cohort not in COHORTS:
        raise ValueError(f"cohort must be one of {', '.join(COHORTS)}")
    return Catalogue(_video_families(cohort), _image_families(cohort))
