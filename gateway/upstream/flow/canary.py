"""The drift canary: every flow.google.com reply checked against the evidence's shapes.

A payload that matches no reply pattern of its RPC, or an error status no error pattern knows (or
with a detail the reason decoder cannot read), is a sign that Flow changed before users notice. It
is counted per RPC, logged once per distinct skeleton (the reply with every value replaced by its
type: never ids, prompts or URLs) and kept for the admin API. Nothing is refused because of it: the
codec reads what it can, and its own errors stay what they are.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import structlog

from gateway.upstream.flow.evidence import Evidence
from gateway.upstream.flow.shapes import mismatch, skeleton

log = structlog.get_logger("gateway.upstream.canary")
MAX_SKELETONS = 64  # distinct skeletons remembered for logging once (per process)


@dataclass(slots=True)
class Drift:
    """What the canary saw of one RPC: how many mismatches, the last one's path and skeleton."""

    count: int = 0
    last_at: float = 0.0
    path: str = ""
    skeleton: object = None


class ShapeCanary:
    """Checks replies; ``on_mismatch(rpcid)`` is told each mismatch (the metric)."""

    def __init__(
        self,
        evidence: Evidence,
        *,
        on_mismatch: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._evidence = evidence
        self._on_mismatch = on_mismatch
        self._clock = clock
        self._seen: set[str] = set()
        self.drifts: dict[str, Drift] = {}

    def check_reply(self, rpcid: str, payload: object) -> bool:
        """True when ``payload`` has the shape of one of the RPC's reply cases (or none is known)."""
        cases = self._evidence.of("reply", rpcid)
        if not cases:
            return True
        problems = [mismatch(payload, case.pattern) for case in cases]
        if None in problems:
            return True
        self._note(rpcid, payload, str(problems[0]))
        return False

    def check_error(self, rpcid: str, status: object, *, undecoded: bool) -> bool:
        """True when an error status has a known shape and every detail was read."""
        known = any(mismatch(status, case.pattern) is None for case in self._evidence.of("error"))
        if known and not undecoded:
            return True
        self._note(
            rpcid, status, "an error detail the reason decoder cannot read" if known else "error status"
        )
        return False

    def _note(self, rpcid: str, value: object, path: str) -> None:
        shape = skeleton(value)
        drift = self.drifts.setdefault(rpcid, Drift())
        drift.count += 1
        drift.last_at, drift.path, drift.skeleton = self._clock(), path, shape
        if self._on_mismatch is not None:
            self._on_mismatch(rpcid)
        digest = hashlib.sha256(orjson.dumps([rpcid, shape])).hexdigest()
        if digest not in self._seen and len(self._seen) < MAX_SKELETONS:
            self._seen.add(digest)
            log.warning("upstream_shape_mismatch", rpc=rpcid, at=path, skeleton=orjson.dumps(shape).decode())

    def report(self) -> dict[str, dict[str, object]]:
        """Per RPC: mismatches, the last one's time, path and skeleton (for the admin API)."""
        return {
            rpc: {"count": d.count, "last_at": d.last_at, "path": d.path, "skeleton": d.skeleton}
            for rpc, d in sorted(self.drifts.items())
        }
