"""The evidence fixtures: Flow's request and reply shapes as public live captures show them.

The JSON files beside this module are transcriptions (see their README); this module only loads
them. The codec's tests, the simulator's conformance tests and the run-time drift canary all read
the same cases, so none of them can drift from the evidence without a test or a counter noticing.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources

from gateway.upstream.flow.shapes import sample

ANY_RPC = "*"


@dataclass(frozen=True, slots=True)
class EvidenceCase:
    """One transcribed request, reply, error status or frame."""

    file: str
    rpcs: tuple[str, ...]
    kind: str
    name: str
    pattern: object
    example: object
    sources: tuple[str, ...]
    expect: Mapping[str, object] = field(default_factory=dict)
    note: str = ""

    def applies_to(self, rpcid: str) -> bool:
        """True for a case of this rpcid (or of any rpcid)."""
        return rpcid in self.rpcs or ANY_RPC in self.rpcs


@dataclass(frozen=True, slots=True)
class Disputed:
    """A point where sources disagree, and the config key that makes the choice."""

    file: str
    what: str
    choice: object
    config: str


@dataclass(frozen=True, slots=True)
class Evidence:
    """Every case and disputed point of the fixtures."""

    cases: tuple[EvidenceCase, ...]
    disputed: tuple[Disputed, ...]

    def of(self, kind: str, rpcid: str | None = None) -> tuple[EvidenceCase, ...]:
        """The cases of one kind (``request``, ``reply``, ``error``, ``frame``), for ``rpcid`` if given."""
        return tuple(c for c in self.cases if c.kind == kind and (rpcid is None or c.applies_to(rpcid)))

    def rpcs(self, kind: str) -> frozenset[str]:
        """Every rpcid with at least one case of ``kind``."""
        return frozenset(r for c in self.cases if c.kind == kind for r in c.rpcs if r != ANY_RPC)


@functools.cache
def load() -> Evidence:
    """The fixtures shipped with the package (read once)."""
    cases: list[EvidenceCase] = []
    disputed: list[Disputed] = []
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        doc = json.loads(entry.read_text(encoding="utf-8"))
        cases.extend(_case(entry.name, raw) for raw in doc["cases"])
        disputed.extend(
            Disputed(entry.name, d["what"], d["choice"], d["config"]) for d in doc.get("disputed", ())
        )
    return Evidence(tuple(cases), tuple(disputed))


def _case(file: str, raw: Mapping[str, object]) -> EvidenceCase:
    rpc = raw["rpc"]
    pattern = raw["pattern"]
    return EvidenceCase(
        file=file,
        rpcs=tuple(rpc) if isinstance(rpc, list) else (str(rpc),),
        kind=str(raw["kind"]),
        name=str(raw["name"]),
        pattern=pattern,
        example=raw["sample"] if "sample" in raw else sample(pattern),
        sources=tuple(str(s) for s in raw.get("sources", ())),  # type: ignore[attr-defined]
        expect=dict(raw.get("expect", {})),  # type: ignore[call-overload]
        note=str(raw.get("note", "")),
    )
