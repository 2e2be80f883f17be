"""An account's reads on the simulator's batchexecute: ``HTrJv`` (its model catalogue) and ``nzlxg``
(its credits and tiers), in the captured shapes (evidence ``account.json``; research
errors-catalogue.md §2-§3). Both take ``[]`` and no token.

``HTrJv`` answers ``[root]``, root ``[null, null, tierDefaults, legacyKeys, videoFamilies,
imageFamilies, null, audioFamilies]``; a family is ``[label, [usage, …], flag, familyKey]``; a video
usage has 24 slots (key [0], costs [4], options [7], aspects [12], seconds [16], capacities [21],
output resolutions [23]), an image usage 22 (options at [8], aspects at [13]); a cost per tier is
``[tier, [[null, credits]]]`` or ``[tier, [null, []]]`` where the key is not offered.

``nzlxg`` answers ``[credits | null, paygate, sku, serviceTier, null, credits | null]``: paygate
1 = ONE (Pro), 2 = TWO (Ultra), 3 = NOT_PAID (btcfoxman); a zero balance is null ("protobuf omits
zero"); the service tier is the axis of the catalogue's costs (Fograd reads it at [3]).
"""

from __future__ import annotations

from typing import Any

from gateway.simulator.batchexecute_core import RpcError
from gateway.simulator.call import Call
from gateway.simulator.catalogue import Catalogue, Family, Usage, catalogue, service_tier

PAYGATES = {"PAYGATE_TIER_ONE": 1, "PAYGATE_TIER_TWO": 2, "PAYGATE_TIER_NOT_PAID": 3}
# nzlxg [2]: btcfoxman calls it the SKU, nobody decodes it. A value unlike every service tier, so a
# reader that takes the tier from the wrong slot (the disputed [2] or [3]) fails against the simulator.
SKU = 9
LEGACY_KEYS = [["GEM_PIX", ["🍌 Nano Banana"]], ["veo_3_1_t2v_fast_ultra_relaxed", ["Veo 3.1 - Fast"]]]
AUDIO = [
    "Gemini TTS",
    [["gemini_v4s_tts_flow", None, None, None, [[1, [[None, 0]]], [2, [[None, 0]]], [3, [[None, 0]]]]]],
    None,
    "gemini_tts",
]


def _read(inner: Any) -> None:
    if inner != []:
        raise RpcError(3)


async def models(call: Call, inner: Any, source_path: str) -> object:
    """``HTrJv``: the account's catalogue (its cohort's families)."""
    del source_path
    _read(inner)
    return [_root(catalogue(call.owner.spec.cohort))]


async def credits(call: Call, inner: Any, source_path: str) -> object:
    """``nzlxg``: ``[credits, paygate, sku, serviceTier, null, credits]``."""
    del source_path  # the page reads it from "/" or a project
    _read(inner)
    balance = call.owner.credits or None
    return [balance, PAYGATES[call.owner.spec.tier], SKU, service_tier(call.owner.spec.tier), None, balance]


def _root(cat: Catalogue) -> list[object]:
    image_family, video_family = cat.images[0].key, "veo_3_1_lite"
    defaults = [
        [tier, [None, None, image_family, video_family, None, None, 4, 3, 2, 2, 1]] for tier in (1, 2, 3)
    ]
    return [
        None,
        None,
        defaults,
        LEGACY_KEYS,
        [_family(f) for f in cat.video],
        [_family(f) for f in cat.images],
        None,
        [AUDIO],
    ]


def _family(family: Family) -> list[object]:
    wire = _image_usage if family.usages[0].image else _video_usage
    return [family.label, [wire(u) for u in family.usages], family.flag, family.key]


def _costs(usage: Usage) -> list[object]:
    return [
        [tier, [None, []] if cost is None else [[None, cost]]]
        for tier, cost in enumerate(usage.costs, start=1)
    ]


def _options(usage: Usage) -> list[object]:
    return [[[list(option)] for option in usage.options]]


def _video_usage(usage: Usage) -> list[object]:
    wire: list[object] = [None] * 24
    wire[0], wire[4], wire[7] = usage.key, _costs(usage), _options(usage)
    wire[9], wire[10], wire[12] = usage.max_images, True, [list(usage.aspects)]
    wire[14], wire[16] = usage.latency, usage.seconds
    # [17] is true but for interpolation and extension keys (meaning unknown; as captured).
    wire[17] = None if any(7 in o or 14 in o for o in usage.options) else True
    wire[21], wire[23] = list(usage.capacities), [[usage.resolution]]
    wire[22] = True if usage.sources else None  # the upsamplers ("duration flexible", Fograd)
    return wire


def _image_usage(usage: Usage) -> list[object]:
    wire: list[object] = [None] * 22
    wire[0], wire[4], wire[8] = usage.key, _costs(usage), _options(usage)
    wire[9], wire[13], wire[14] = usage.max_images, [list(usage.aspects)], usage.latency
    wire[17], wire[21] = True, list(usage.capacities)
    return wire
