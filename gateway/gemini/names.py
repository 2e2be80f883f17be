"""Google's model names, and the catalogue model string a request in Google's dialect stands for.

The names are data (``models.toml`` beside this module), read once at start and checked against the
catalogue: a name standing for a model the catalogue lacks stops the gateway with a ``ConfigError``.
A request's fields that pick a parameter family (``aspectRatio``, ``imageSize``, ``resolution``,
``durationSeconds``) arrive as :class:`Choice` values; they are checked against the model's catalogue
entry here only so that a bad value is refused naming Google's field; the catalogue's grammar still
resolves (and checks) the string built from them. Our own names (``veo_3_1-fast``) and the
catalogue's aliases pass through, the choices added as parameters.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

from aiohttp import web

from gateway.catalog import Catalog, ModelInfo
from gateway.config import ConfigError
from gateway.errors import GatewayError, InvalidRequestError

DATA_FILE = "models.toml"
# Values every model of the family's kind produces without the family (no parameter is added).
IMPLIED = {"image_size": "1K", "video_size": "sd"}
# How a chosen value is written as a parameter of the catalogue's grammar.
TOKENS = {"aspect": "{}", "image_size": "{}", "video_size": "{}", "duration": "{}s", "frames": "{}"}


@dataclass(frozen=True, slots=True)
class GoogleName:
    """One of Google's names: the catalogue model string it stands for and Google's defaults."""

    name: str
    model: str
    base: str
    aspect: str | None
    display: str


@dataclass(frozen=True, slots=True)
class Choice:
    """A request field that picks a parameter family, its value as the catalogue writes it
    (``16:9``, ``2K``, ``hd``, ``8``), and Google's name for the field (for errors)."""

    family: str
    value: str
    field: str


class GoogleNames:
    """Google's names over the catalogue (``app[NAMES]``, set with the routes)."""

    def __init__(self, names: Mapping[str, GoogleName], catalog: Catalog) -> None:
        self._names = dict(names)
        self._catalog = catalog
        self._infos = {m.id: m for m in catalog.models()}

    @classmethod
    def load(cls, catalog: Catalog, text: str | None = None) -> GoogleNames:
        """The names of ``models.toml`` (or of ``text``), each checked against ``catalog``."""
        raw = text if text is not None else resources.files(__package__).joinpath(DATA_FILE).read_text()
        try:
            entries = tomllib.loads(raw).get("google", {})
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"gateway/gemini/{DATA_FILE} is not valid TOML: {exc}") from None
        if not isinstance(entries, dict):
            raise ConfigError(f"gateway/gemini/{DATA_FILE}: [google] must be a table of names")
        return cls({name: _entry(name, entry, catalog) for name, entry in entries.items()}, catalog)

    def get(self, name: str) -> GoogleName | None:
        """The Google name, or None (then it may be one of ours)."""
        return self._names.get(name)

    def servable(self, servable: frozenset[str]) -> list[GoogleName]:
        """The Google names whose model the pool can serve now (``servable``: catalogue ids)."""
        return [n for n in self._names.values() if n.base in servable]

    def model_string(self, name: str, choices: Sequence[Choice]) -> str:
        """The catalogue model string for ``name`` with the request's ``choices``; a value the model
        does not offer is a 400 naming its field."""
        known = self._names.get(name)
        model, _, groups = (known.model if known else self._catalog.unalias(name)).partition("|")
        info = self._infos.get(known.base if known else _base_of(model))
        chosen = {c.family: c for c in choices}
        if known is not None and known.aspect and "aspect" not in chosen:
            chosen["aspect"] = Choice("aspect", known.aspect, "aspectRatio")
        tokens = []
        for choice in chosen.values():
            if info is not None and not _offered(info, choice):
                raise _not_offered(info, choice, shown=name)
            if IMPLIED.get(choice.family) != choice.value:
                tokens.append(TOKENS[choice.family].format(choice.value))
        text = "-".join([model, *tokens])
        return f"{text}|{groups}" if groups else text


def _base_of(model: str) -> str:
    return model.split("-", 1)[0]


def _values(info: ModelInfo, family: str) -> tuple[str, ...]:
    if family == "aspect":
        return tuple(a.value for a in info.aspects)
    return next((f.values for f in info.parameters if f.name == family), ())


def _offered(info: ModelInfo, choice: Choice) -> bool:
    return choice.value in _values(info, choice.family) or IMPLIED.get(choice.family) == choice.value


def _not_offered(info: ModelInfo, choice: Choice, *, shown: str) -> InvalidRequestError:
    implied = [IMPLIED[choice.family]] if choice.family in IMPLIED else []
    valid = ", ".join([*implied, *_values(info, choice.family)]) or "none"
    return InvalidRequestError(
        f"{shown} does not offer {choice.field} {choice.value!r} here; valid: {valid}",
        param=choice.field,
        code="invalid_value",
    )


def _entry(name: str, entry: object, catalog: Catalog) -> GoogleName:
    where = f"gateway/gemini/{DATA_FILE}: [google.{name!r}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("model"), str):
        raise ConfigError(f"{where} needs model = a model string of the catalogue")
    model, aspect = str(entry["model"]), entry.get("aspect")
    try:
        spec = catalog.resolve(model)
    except GatewayError as exc:
        raise ConfigError(f"{where}: {exc.message}") from None
    info = catalog.get(spec.model)
    if aspect is not None and aspect not in _values(info, "aspect"):
        raise ConfigError(f"{where}: {spec.model} has no aspect {aspect!r}")
    display = str(entry.get("display") or name)
    return GoogleName(name, model, spec.model, str(aspect) if aspect else None, display)


NAMES = web.AppKey("gateway.gemini.names", GoogleNames)
