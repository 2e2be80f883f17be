"""An account's own model catalogue (``HTrJv``) and credits (``nzlxg``) on flow.google.com.

Flow tells each account which model keys it may use, at which cost per service tier, for which
task (requirement numbers), aspects, durations and output resolutions (evidence ``account.json``;
google-flow-mcp's live reply, fograd's parser). The gateway reads it per account and chooses keys
from it the way fograd does: the usages whose requirements fit the task, offered at the account's
tier, in the wanted aspect and duration, cheapest first. Routing sees the result as *offers*:
opaque tokens such as ``video:veo_3_1_fast:text:8:16:9`` that a request's *needs* are matched
against (``gateway.pool``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeGuard

from gateway.domain import ImageResolution, Tier, VideoMode
from gateway.upstream.flow.batch_rpcs import at
from gateway.upstream.flow.errors import UpstreamProtocolError

RPC_CATALOGUE = "HTrJv"
RPC_CREDITS = "nzlxg"
# Requirement numbers of video usages (fograd names 6, 14, 15, 16, 20, 21; 1, 5 and 7 are inferred
# from where they occur: every generation, every frame key, every first+last key).
PROMPT, START, REFERENCES, END, EXTENSION, UP_1080P, UP_4K, EDIT, UP_720P = 1, 5, 6, 7, 14, 15, 16, 20, 21
MODE_DEFINING = frozenset({START, REFERENCES, END, EXTENSION, UP_1080P, UP_4K, EDIT, UP_720P})
MODE_REQUIREMENTS: Mapping[VideoMode, frozenset[int]] = {
    VideoMode.TEXT: frozenset({PROMPT}),
    VideoMode.START: frozenset({PROMPT, START}),
    VideoMode.START_END: frozenset({PROMPT, START, END}),
    VideoMode.REFERENCES: frozenset({PROMPT, REFERENCES}),
    VideoMode.EXTEND: frozenset({PROMPT, EXTENSION}),
    # Omni Flash's edit (abra_edit, jIps6): only the edit requirement is named, since no capture shows
    # whether its options also list the prompt (fits() then accepts an option with or without it).
    VideoMode.EDIT: frozenset({EDIT}),
}
# Tasks whose key has no duration of its own: they match whatever length their source had.
SOURCE_LENGTH_MODES = frozenset({VideoMode.EXTEND, VideoMode.EDIT})
# The legacy REST hosts predate Omni Flash's edit: it is never offered there.
LEGACY_MODES = tuple(mode for mode in MODE_REQUIREMENTS if mode is not VideoMode.EDIT)
UPSCALE_REQUIREMENTS = {"720p": UP_720P, "1080p": UP_1080P, "4K": UP_4K}
RESOLUTION_720P = 1  # output resolution enum: 1 720p, 2 1080p, 3 4K, 4 360p
# The catalogue's image upscale usages (SPrCad itself carries no key): 4K is offered to Ultra only.
IMAGE_UPSCALES = {ImageResolution.R2K: "GEM_PIX_2_UPSAMPLE_2K", ImageResolution.R4K: "GEM_PIX_2_UPSAMPLE_4K"}
# nzlxg's paygate tier enum (btcfoxman): 1 ONE (Pro), 2 TWO (Ultra), 3 NOT_PAID, 4 UNSUBSCRIBED_WITH_
# CREDITS, 5 ZERO, 6 EXEMPT, 7 GEMNOVA, 8 TIER1P5. Those without a paid plan count as free here.
PAYGATE_TIERS = {1: Tier.PRO, 2: Tier.ULTRA, 3: Tier.FREE, 4: Tier.FREE, 5: Tier.FREE, 8: Tier.PRO}
# The service tier the catalogue's costs are per (1 ENTRY, 2 INTERMEDIATE, 3 ADVANCED), when nzlxg's
# own slot is unreadable: Ultra sees the ADVANCED column (the only one with _ultra keys and 4K).
SERVICE_TIER_OF = {Tier.FREE: 1, Tier.PRO: 2, Tier.ULTRA: 3}


@dataclass(frozen=True, slots=True)
class Credits:
    """``nzlxg``: the balance (None when Flow omits it), the paygate tier, the service tier."""

    balance: int | None
    tier: Tier | None
    service_tier: int | None


@dataclass(frozen=True, slots=True)
class Usage:
    """One model key of the catalogue and what it is for."""

    key: str
    family: str
    image: bool
    costs: Mapping[int, int]
    options: tuple[frozenset[int], ...]
    aspects: frozenset[int]
    seconds: int | None
    resolutions: frozenset[int]

    def cost(self, service_tier: int) -> int | None:
        """Credits at that service tier; None where the tier is not offered the key."""
        return self.costs.get(service_tier)

    def fits(self, required: frozenset[int]) -> bool:
        """Some option asks for ``required`` and for no other task-defining input."""
        return any(required <= o and (o & MODE_DEFINING) <= required for o in self.options)


@dataclass(frozen=True, slots=True)
class FlowCatalogue:
    """An account's usages (video at ``payload[0][4]``, images at ``payload[0][5]``)."""

    usages: tuple[Usage, ...]

    def offered(self, service_tier: int) -> list[Usage]:
        """The usages the account's tier may use."""
        return [u for u in self.usages if u.cost(service_tier) is not None]

    def video(
        self, *, family: str, mode: VideoMode, seconds: int, aspect: int, service_tier: int
    ) -> Usage | None:
        """The cheapest usage of ``family`` for the task at 720p, or None when the account has none."""
        required = MODE_REQUIREMENTS[mode]
        found = [
            u
            for u in self.offered(service_tier)
            if not u.image
            and u.family == family
            and u.fits(required)
            and aspect in u.aspects
            and (mode in SOURCE_LENGTH_MODES or u.seconds == seconds)
            and (not u.resolutions or RESOLUTION_720P in u.resolutions)
        ]
        return _cheapest(found, service_tier)

    def upscaler(self, resolution: str, service_tier: int) -> Usage | None:
        """The cheapest upsampler to ``resolution`` (``720p``/``1080p``/``4K``) the tier may use."""
        required = frozenset({UPSCALE_REQUIREMENTS[resolution]})
        return _cheapest(
            [u for u in self.offered(service_tier) if not u.image and u.fits(required)], service_tier
        )


def _cheapest(usages: list[Usage], service_tier: int) -> Usage | None:
    return min(usages, key=lambda u: (u.cost(service_tier) or 0, u.key), default=None)


def offers_of(catalogue: FlowCatalogue, service_tier: int, aspects: Mapping[int, str]) -> frozenset[str]:
    """The routing tokens an account's catalogue offers at its tier (see :func:`video_need`)."""
    tokens: set[str] = set()
    for usage in catalogue.offered(service_tier):
        if usage.image:
            tokens.add(image_need(usage.key))
            continue
        for resolution, requirement in UPSCALE_REQUIREMENTS.items():
            if usage.fits(frozenset({requirement})):
                tokens.add(upscale_need(resolution))
        if usage.resolutions and RESOLUTION_720P not in usage.resolutions:
            continue
        for mode, required in MODE_REQUIREMENTS.items():
            if usage.fits(required):
                tokens.update(
                    video_need(usage.family, mode, usage.seconds or 0, aspects[a])
                    for a in usage.aspects
                    if a in aspects
                )
    return frozenset(tokens)


def video_need(family: str, mode: VideoMode, seconds: int, aspect: str) -> str:
    """The token a video task needs; an extend or an edit matches whatever length its source had."""
    return f"video:{family}:{mode.value}:{0 if mode in SOURCE_LENGTH_MODES else seconds}:{aspect}"


def upscale_need(resolution: str) -> str:
    """The token an upscale to ``resolution`` needs."""
    return f"upscale:{resolution}"


def image_need(code: str) -> str:
    """The token an image model code needs."""
    return f"image:{code}"


def parse_credits(payload: object, *, service_tier_slot: int) -> Credits:
    """``[balance, paygate, n, n, null, balance]``; a zero balance may come as null (protobuf
    omits zero, btcfoxman), so the paygate tier is what proves the reply is the credits one."""
    paygate = at(payload, 1)
    if not isinstance(paygate, int) or isinstance(paygate, bool):
        raise UpstreamProtocolError("nzlxg: reply has no paygate tier", endpoint=RPC_CREDITS)
    balance, service = at(payload, 0), at(payload, service_tier_slot)
    return Credits(
        balance if _is_int(balance) else 0 if balance is None else None,
        PAYGATE_TIERS.get(paygate),
        service if _is_int(service) and service in (1, 2, 3) else None,
    )


def parse_catalogue(payload: object) -> FlowCatalogue:
    """Every usage of the video and image families; a reply without them is an unknown shape."""
    videos, images = at(payload, 0, 4), at(payload, 0, 5)
    if not isinstance(videos, list) or not isinstance(images, list):
        raise UpstreamProtocolError("HTrJv: reply has no model families", endpoint=RPC_CATALOGUE)
    usages = [*_usages(videos, image=False), *_usages(images, image=True)]
    if not usages:
        raise UpstreamProtocolError("HTrJv: catalogue lists no model", endpoint=RPC_CATALOGUE)
    return FlowCatalogue(tuple(usages))


def _usages(families: list[object], *, image: bool) -> Iterable[Usage]:
    for family in families:
        key, entries = at(family, 3), at(family, 1)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            usage = _usage(entry, family=key if isinstance(key, str) else "", image=image)
            if usage is not None:
                yield usage


def _usage(entry: object, *, family: str, image: bool) -> Usage | None:
    key = at(entry, 0)
    if not isinstance(key, str) or not key:
        return None
    options = at(entry, 8 if image else 7, 0)  # each modality has its own options slot
    seconds = at(entry, 16)
    return Usage(
        key=key,
        family=family,
        image=image,
        costs=_costs(at(entry, 4)),
        options=tuple(
            frozenset(n for n in reqs if _is_int(n))
            for option in (options if isinstance(options, list) else [])
            if isinstance(reqs := at(option, 0), list)
        ),
        aspects=_ints(at(entry, 12, 0)),
        seconds=seconds if _is_int(seconds) else None,
        resolutions=_ints(at(entry, 23, 0)),
    )


def _costs(value: object) -> dict[int, int]:
    """``[[tier, [[null, cost]]], [tier, [null, []]], …]``: the second form is "not offered"."""
    costs: dict[int, int] = {}
    for row in value if isinstance(value, list) else []:
        tier, cost = at(row, 0), at(row, 1, 0, 1)
        if _is_int(tier) and _is_int(cost) and cost >= 0:
            costs[tier] = cost
    return costs


def _ints(value: object) -> frozenset[int]:
    return frozenset(v for v in value if _is_int(v)) if isinstance(value, list) else frozenset()


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def legacy_offers(families: Iterable[str], image_codes: Iterable[str]) -> frozenset[str]:
    """What an account of the legacy REST path can do, in the same tokens: the Veo families in every
    task, length and aspect, both upscales, and the image codes it knows (the REST hosts predate
    Nano Banana 2.1, 2 Lite and Omni Flash, so they are not offered there)."""
    videos = {
        video_need(family, mode, seconds, aspect)
        for family in families
        for mode in LEGACY_MODES
        for seconds in (4, 6, 8)
        for aspect in ("9:16", "16:9")
    }
    images = {image_need(code) for code in (*image_codes, *IMAGE_UPSCALES.values())}
    return frozenset(videos | images | {upscale_need(r) for r in ("1080p", "4K")})
