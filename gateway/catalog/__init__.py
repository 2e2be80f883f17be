"""The model catalogue and the model-parameter grammar (api.md §2).

``MODEL[-param]*[|[group,...]]``: parameters in any order, at most one per family, each valid for
the model, or a 400 naming the bad token and listing the valid values. Request fields (``size``,
``seconds``, ``quality``) fill the families the name left open. The data (models, families, tiers,
costs) is ``config/models.toml``; this module owns only the grammar and is pure: no I/O after
``load``. Lookup tables are built at load so a resolve costs a few dict lookups.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from gateway.catalog.models_file import TIERS, ModelInfo, ParameterFamily, load_catalogue_file
from gateway.config import ConfigError, ModelsSettings
from gateway.domain import (
    Aspect,
    GenerationSpec,
    ImageResolution,
    Kind,
    VideoOptions,
    VideoResolution,
    VideoSpeed,
)
from gateway.errors import InvalidRequestError, ModelNotFoundError

__all__ = ["TIERS", "Catalog", "ModelInfo", "ParameterFamily"]

# Families that never change what an account must be entitled to (see GenerationSpec.feature).
UNGATED_FAMILIES = frozenset({"aspect", "duration", "extend"})
FAMILY_ORDER = (
    "orientation",
    "aspect",
    "image_size",
    "speed",
    "frames",
    "video_size",
    "duration",
    "extend",
    "edit",
)
# token (lower case) -> (family, canonical value)
TOKENS: dict[str, tuple[str, str]] = {
    "portrait": ("orientation", "9:16"),
    "landscape": ("orientation", "16:9"),
    "square": ("aspect", "1:1"),
    **{
        f"{w}{sep}{h}": ("aspect", f"{w}:{h}")
        for w, h in ((1, 1), (4, 3), (3, 4), (9, 16), (16, 9))
        for sep in "/:"
    },
    "fast": ("speed", "fast"),
    "relaxed": ("speed", "relaxed"),
    "lite": ("speed", "lite"),
    "fl": ("frames", "fl"),
    "1k": ("image_size", "1K"),
    "2k": ("image_size", "2K"),
    "hd": ("video_size", "hd"),
    "4s": ("duration", "4"),
    "6s": ("duration", "6"),
    "8s": ("duration", "8"),
    "10s": ("duration", "10"),
    "extend": ("extend", "extend"),
    "edit": ("edit", "edit"),
}
# How canonical values are written back in names and messages.
DISPLAY = {
    "9:16": "portrait",
    "16:9": "landscape",
    "1:1": "square",
    "4:3": "4/3",
    "3:4": "3/4",
    "4": "4s",
    "6": "6s",
    "8": "8s",
    "10": "10s",
}
ASPECT_DISPLAY = {"1:1": "square", "4:3": "4/3", "3:4": "3/4", "9:16": "9/16", "16:9": "16/9"}
_GROUPS = re.compile(r"^(?P<model>[^|]*)\|\[(?P<groups>[^\]]*)\]$")
_GROUP = re.compile(r"^[a-z0-9_-]{1,32}$")
_SIZE = re.compile(r"^\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*$")
QUALITY_UP = frozenset({"hd", "high"})
QUALITY_SAME = frozenset({"standard", "auto", "low", "medium"})


class Catalog:
    """Models by id, the names people type for them (aliases), the variants listed beside them, and
    the grammar that resolves a model string to a ``GenerationSpec``.

    An alias stands for a model string (``sora-2`` → ``veo_3_1-fast``) and may be followed by more
    parameters (``sora-2-landscape``); it is replaced before the grammar runs, so every route that
    resolves a model understands it. Aliases and variants are checked at load: each must resolve.
    """

    def __init__(
        self,
        models: Sequence[ModelInfo],
        *,
        aliases: Mapping[str, str] | None = None,
        variants: Sequence[str] = (),
    ) -> None:
        self._models = {m.id: m for m in models}
        self._aliases = {k.strip().lower(): v.strip() for k, v in (aliases or {}).items() if v.strip()}
        # Longest first, so ``gpt-image-1-mini`` is not read as ``gpt-image-1`` plus a ``mini`` token.
        self._prefixes = sorted(self._aliases, key=len, reverse=True)
        self._check_aliases()
        self._variants = tuple(dict.fromkeys(self._variant(v) for v in variants))

    @classmethod
    def load(cls, path: str | Path, *, names: ModelsSettings | None = None) -> Catalog:
        """Read ``models.toml`` (with the gateway config's ``[models]`` over its aliases and
        variants); a ``ConfigError`` names the bad entry."""
        found = load_catalogue_file(path)
        names = names or ModelsSettings()
        aliases = {**found.aliases, **names.aliases}
        variants = found.variants if names.variants is None else names.variants
        return cls(found.models, aliases=aliases, variants=variants)

    def models(self) -> Sequence[ModelInfo]:
        """Every model, in file order."""
        return list(self._models.values())

    def aliases(self) -> Mapping[str, str]:
        """Alias → the model string it stands for."""
        return dict(self._aliases)

    def variants(self) -> Sequence[GenerationSpec]:
        """The ready-made variants to list beside the bases, resolved (``spec.name`` is the id)."""
        return [self.resolve(name) for name in self._variants]

    def unalias(self, model: str) -> str:
        """``model`` with a leading alias replaced by what it stands for (unchanged otherwise)."""
        head, bar, groups = model.strip().partition("|")
        key = head.strip().lower()
        target = self._aliases.get(key)
        if target is None:
            alias = next((a for a in self._prefixes if key.startswith(f"{a}-")), None)
            if alias is None:
                return model
            target = self._aliases[alias] + head.strip()[len(alias) :]
        return f"{target}{bar}{groups}"

    def _check_aliases(self) -> None:
        for alias, target in self._aliases.items():
            if alias.split("-")[0] in self._models:
                raise ConfigError(f"alias {alias!r} would hide the model {alias.split('-')[0]!r}")
            if self.unalias(target) != target:  # one step only: a request is unaliased once
                raise ConfigError(f"alias {alias!r} → {target!r} names another alias; name the model")
            try:
                self.resolve(target)
            except (InvalidRequestError, ModelNotFoundError) as exc:
                raise ConfigError(f"alias {alias!r} → {target!r}: {exc.message}") from None

    def _variant(self, name: str) -> str:
        try:
            return self.resolve(name).name
        except (InvalidRequestError, ModelNotFoundError) as exc:
            raise ConfigError(f"listed variant {name!r}: {exc.message}") from None

    def get(self, model_id: str) -> ModelInfo:
        """A model by id, or 404 ``model_not_found``."""
        info = self._models.get(model_id)
        if info is None:
            raise ModelNotFoundError(f"The model `{model_id}` does not exist.", param="model")
        return info

    def resolve(
        self,
        model: str,
        *,
        size: str | None = None,
        seconds: str | int | None = None,
        quality: str | None = None,
        groups: Sequence[str] = (),
    ) -> GenerationSpec:
        """The spec for a model string plus request fields (the name wins over the fields)."""
        base, params, name_groups = _split(self.unalias(model))
        info = self.get(base)
        chosen = _parse_params(info, params)
        if "extend" in chosen and "speed" not in chosen and info.extend_speed:
            chosen["speed"] = info.extend_speed  # Flow's own Extend runs on Lite unless told otherwise
        _apply_fields(info, chosen, size=size, seconds=seconds, quality=quality)
        return _spec(info, chosen, name_groups if name_groups is not None else _clean_groups(groups))


def _split(model: str) -> tuple[str, list[str], tuple[str, ...] | None]:
    text = model.strip()
    if not text:
        raise InvalidRequestError("model is required", param="model", code="missing_required_parameter")
    groups: tuple[str, ...] | None = None
    if "|" in text:
        match = _GROUPS.match(text)
        if match is None:
            raise InvalidRequestError(
                f"malformed account group suffix in {model!r}; use MODEL|[group,...]",
                param="model",
                code="model_parameter_invalid",
            )
        text, groups = match.group("model"), _clean_groups(match.group("groups").split(","))
        if not groups:
            raise InvalidRequestError(
                "empty account group list", param="model", code="model_parameter_invalid"
            )
    base, *params = text.split("-")
    return base, params, groups


def _clean_groups(groups: Sequence[str]) -> tuple[str, ...]:
    out = []
    for group in groups:
        name = group.strip().lower()
        if not name:
            continue
        if not _GROUP.match(name):
            raise InvalidRequestError(
                f"invalid account group {group!r} (a-z, 0-9, _ and -, up to 32)",
                param="model",
                code="model_parameter_invalid",
            )
        out.append(name)
    return tuple(dict.fromkeys(out))


def _parse_params(info: ModelInfo, params: list[str]) -> dict[str, str]:
    families = {f.name: f for f in info.parameters}
    chosen: dict[str, str] = {}
    for token in params:
        family, value = _token(info, token)
        axis = "aspect" if family in ("orientation", "aspect") else family
        if family not in families or value not in families[family].values:
            raise _bad_param(info, token)
        if axis in chosen:
            raise InvalidRequestError(
                f"'{token}' conflicts with another {axis.replace('_', ' ')} parameter of {info.id}; "
                f"give at most one of: {', '.join(_axis_values(info, axis))}",
                param="model",
                code="model_parameter_invalid",
            )
        chosen[axis] = value
    return chosen


def _token(info: ModelInfo, token: str) -> tuple[str, str]:
    lowered = token.strip().lower()
    if lowered == "4k":
        return ("video_size", "4K") if info.kind is Kind.VIDEO else ("image_size", "4K")
    found = TOKENS.get(lowered)
    if found is None or not token:
        raise _bad_param(info, token)
    return found


def _bad_param(info: ModelInfo, token: str) -> InvalidRequestError:
    shown = token if token else "(empty)"
    return InvalidRequestError(
        f"'{shown}' is not a parameter of {info.id}; valid parameters: {', '.join(_display_tokens(info))}",
        param="model",
        code="model_parameter_invalid",
    )


def _shown(family: str, value: str) -> str:
    return ASPECT_DISPLAY[value] if family == "aspect" else DISPLAY.get(value, value)


def _display_tokens(info: ModelInfo) -> list[str]:
    return [_shown(f.name, v) for f in info.parameters for v in f.values]


def _axis_values(info: ModelInfo, axis: str) -> list[str]:
    names = ("orientation", "aspect") if axis == "aspect" else (axis,)
    return [_shown(f.name, v) for f in info.parameters if f.name in names for v in f.values]


def _apply_fields(
    info: ModelInfo,
    chosen: dict[str, str],
    *,
    size: str | None,
    seconds: str | int | None,
    quality: str | None,
) -> None:
    if size and size.strip().lower() != "auto" and "aspect" not in chosen:
        chosen["aspect"] = _nearest_aspect(info, size).value
    if seconds is not None and seconds != "":
        value = _seconds(info, seconds)
        chosen.setdefault("duration", value)
    if quality:
        _apply_quality(info, chosen, quality.strip().lower())


def _nearest_aspect(info: ModelInfo, size: str) -> Aspect:
    match = _SIZE.match(size)
    if match is None or int(match.group(1)) == 0 or int(match.group(2)) == 0:
        raise InvalidRequestError(
            f"size must be WIDTHxHEIGHT such as 1024x1024 or 1280x720, got {size!r}",
            param="size",
            code="invalid_value",
        )
    ratio = math.log(int(match.group(1)) / int(match.group(2)))
    return min(info.aspects, key=lambda a: (abs(math.log(a.ratio) - ratio), info.aspects.index(a)))


def _seconds(info: ModelInfo, seconds: str | int) -> str:
    durations = next((f.values for f in info.parameters if f.name == "duration"), ())
    if not durations:
        raise InvalidRequestError(
            f"seconds does not apply to {info.id}", param="seconds", code="invalid_value"
        )
    value = str(seconds).strip().removesuffix("s")
    if value not in durations:
        raise InvalidRequestError(
            f"seconds must be one of {', '.join(durations)}; got {seconds!r}",
            param="seconds",
            code="invalid_value",
        )
    return value


def _apply_quality(info: ModelInfo, chosen: dict[str, str], quality: str) -> None:
    if quality in QUALITY_SAME:
        return
    if quality not in QUALITY_UP:
        raise InvalidRequestError(
            "quality must be one of standard, auto, low, medium, high, hd",
            param="quality",
            code="invalid_value",
        )
    names = {f.name for f in info.parameters}
    if "image_size" in names:
        chosen.setdefault("image_size", "2K")
    elif "video_size" in names:
        chosen.setdefault("video_size", "hd")


def _spec(info: ModelInfo, chosen: dict[str, str], groups: tuple[str, ...]) -> GenerationSpec:
    values = set(chosen.values())
    tier = max([info.tier, *(info.tier_of[v] for v in values if v in info.tier_of)], key=lambda t: t.rank)
    credits = max(0, info.credits + sum(info.credits_of.get(v, 0) for v in values))
    aspect = Aspect(chosen.get("aspect", info.aspects[0].value))
    parts = [info.id, *(DISPLAY.get(chosen[f], chosen[f]) for f in FAMILY_ORDER if f in chosen)]
    feature = "-".join(
        [info.id, *(chosen[f] for f in FAMILY_ORDER if f in chosen and f not in UNGATED_FAMILIES)]
    )
    video = None
    upstream = info.upstream_of.get(chosen.get("speed", ""), info.upstream_model)
    if info.kind is Kind.VIDEO:
        video = VideoOptions(
            speed=VideoSpeed(chosen.get("speed", "quality")),
            frames="frames" in chosen,
            seconds=int(chosen.get("duration", "8")),
            resolution={"hd": VideoResolution.HD, "4K": VideoResolution.UHD}.get(
                chosen.get("video_size", ""), VideoResolution.SD
            ),
            extend="extend" in chosen,
            edit="edit" in chosen,
        )
    return GenerationSpec(
        model=info.id,
        kind=info.kind,
        upstream_model=upstream,
        upstream_models=(upstream,) if info.kind is Kind.VIDEO else info.upstream_models,
        aspect=aspect,
        tier=tier,
        credits=credits,
        name="-".join(parts),
        groups=groups,
        resolution=ImageResolution(chosen.get("image_size", "1K")),
        video=video,
        feature=feature,
    )
