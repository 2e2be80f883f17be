"""The catalogue file (``config/models.toml``): what each public model is, read and checked at start.

Data types of the catalogue and their loading only; the grammar that resolves a model string is
``gateway.catalog``. A bad entry is a ``ConfigError`` naming it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.config import ConfigError
from gateway.domain import Aspect, Kind, Tier

TIERS = {"free": Tier.FREE, "pro": Tier.PRO, "ultra": Tier.ULTRA}


@dataclass(frozen=True, slots=True)
class ParameterFamily:
    """One family of a model's parameters, its valid values and default."""

    name: str
    values: tuple[str, ...]
    default: str | None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A catalogue entry.

    ``upstream_models`` are the Flow model codes that serve it, in order of preference: an account
    uses the first its own Flow catalogue lists (Nano Banana 2.1 replaced 2 on migrated accounts),
    and an account whose catalogue is unknown the first. ``extend_speed`` is the speed an ``extend``
    without one uses (Flow's own Extend is Veo 3.1 Lite). For videos, ``upstream_of`` names Flow's model
    family per speed (``fast`` → ``veo_3_1_fast``), ``upstream_model`` being the default speed's.
    """

    id: str
    kind: Kind
    description: str
    upstream_model: str
    tier: Tier
    credits: int
    parameters: tuple[ParameterFamily, ...]
    aspects: tuple[Aspect, ...]
    tier_of: Mapping[str, Tier]
    credits_of: Mapping[str, int]
    upstream_models: tuple[str, ...] = ()
    upstream_of: Mapping[str, str] = field(default_factory=dict)
    extend_speed: str | None = None

    def valid_tokens(self) -> list[str]:
        """Every parameter token this model accepts, for error messages."""
        return [v for family in self.parameters for v in family.values]


FAMILY_VALUES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "orientation": (("9:16", "16:9"), "9:16"),
    "aspect": (("1:1", "4:3", "3:4", "9:16", "16:9"), None),
    "image_size": (("1K", "2K", "4K"), "1K"),
    "speed": (("fast", "relaxed", "lite"), None),
    "frames": (("fl",), None),
    "video_size": (("hd", "4K"), None),
    "duration": (("4", "6", "8", "10"), "8"),
    "extend": (("extend",), None),
    "edit": (("edit",), None),
}


@dataclass(frozen=True, slots=True)
class CatalogueFile:
    """The whole file: its models, the names people type for them (``[aliases]``: alias → model
    string) and the ready-made variants ``/v1/models`` lists beside the bases (``[listing]``)."""

    models: tuple[ModelInfo, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)
    variants: tuple[str, ...] = ()


def load_models(path: str | Path) -> list[ModelInfo]:
    """Every ``[models.*]`` entry of the file, in file order."""
    return list(load_catalogue_file(path).models)


def load_catalogue_file(path: str | Path) -> CatalogueFile:
    """The models, aliases and listed variants of the file; a ``ConfigError`` names a bad entry."""
    try:
        with Path(path).open("rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the model catalogue {path}: {exc}") from None
    entries = doc.get("models")
    if not isinstance(entries, dict) or not entries:
        raise ConfigError(f"{path}: no [models.*] entries")
    aliases, listing = doc.get("aliases", {}), doc.get("listing", {})
    if not isinstance(aliases, dict) or not all(isinstance(v, str) for v in aliases.values()):
        raise ConfigError(f"{path}: [aliases] must map names to model strings")
    variants = listing.get("variants", []) if isinstance(listing, dict) else None
    if not isinstance(variants, list) or not all(isinstance(v, str) for v in variants):
        raise ConfigError(f"{path}: [listing] variants must be a list of model strings")
    return CatalogueFile(
        tuple(_model(name, entry, path) for name, entry in entries.items()),
        {str(k): v for k, v in aliases.items()},
        tuple(variants),
    )


def _upstreams(entry: dict[str, Any]) -> tuple[str, ...]:
    upstream = entry["upstream"]
    upstreams = tuple(str(u) for u in upstream) if isinstance(upstream, list) else (str(upstream),)
    if not upstreams:
        raise ValueError("upstream must name at least one Flow model")
    return upstreams


def _model(name: str, entry: Any, path: str | Path) -> ModelInfo:
    where = f"{path}: [models.{name}]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a table")
    try:
        kind = Kind(entry["kind"])
        aspects = tuple(Aspect(a) for a in entry.get("aspects", ["9:16", "16:9"]))
        durations = tuple(str(d) for d in entry.get("durations", ("4", "6", "8")))
        families = [_family(f, aspects, durations) for f in entry.get("families", [])]
        tier_of = {str(k): TIERS[v] for k, v in entry.get("tier_of", {}).items()}
        upstreams = _upstreams(entry)
        return ModelInfo(
            id=name,
            kind=kind,
            description=str(entry.get("description", "")),
            upstream_model=upstreams[0],
            tier=TIERS[entry.get("tier", "free")],
            credits=int(entry.get("credits", 0)),
            parameters=tuple(families),
            aspects=aspects,
            tier_of=tier_of,
            credits_of={str(k): int(v) for k, v in entry.get("credits_of", {}).items()},
            upstream_models=upstreams,
            upstream_of={str(k): str(v) for k, v in entry.get("upstream_of", {}).items()},
            extend_speed=str(entry["extend_speed"]) if "extend_speed" in entry else None,
        )
    except KeyError as exc:
        raise ConfigError(f"{where}: missing or unknown value {exc}") from None
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _family(name: str, aspects: tuple[Aspect, ...], durations: tuple[str, ...]) -> ParameterFamily:
    values, default = FAMILY_VALUES[name]
    if name in ("orientation", "aspect"):
        values = tuple(v for v in values if Aspect(v) in aspects)
    if name == "duration":
        values = tuple(v for v in values if v in durations)
    return ParameterFamily(name, values, default)
