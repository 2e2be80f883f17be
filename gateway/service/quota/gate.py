"""The seam between the services that start generations and the licence rules: a gate.

A service resolves what was ordered (the spec), then asks the request's gate to admit it before it
fetches, keeps or submits anything. The gate refuses (raising the 403 or 429) or grants an
:class:`Admission`: the ids the new work is to have (its usage records share them), the account
groups to lease from and the priority to wait with. ``claim`` applies it to each task record the
service creates. Used as a context manager, an admission gives back what was reserved for work
never created (the request failed in between), so a failed request holds no budget. The rules
themselves are not here (``rules.py``, ``counters.py``, ``quota.py``): this is what services import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Protocol, Self

from gateway.domain import GenerationSpec, TaskRecord

Release = Callable[[Sequence[str]], None]


@dataclass(slots=True)
class Admission:
    """What a gate granted for a spec: reserved ids (none: the work names itself), account groups
    and the priority its leases wait with."""

    ids: tuple[str, ...]
    groups: tuple[str, ...]
    priority: int = 0
    credits_each: int = 0  # what one image (images) or one video costs, as reserved
    release: Release | None = field(default=None, repr=False)
    _claimed: int = field(default=0, repr=False)

    def claim(self, record: TaskRecord) -> TaskRecord:
        """``record`` as this admission's next piece of work: its reserved id, the account groups
        and the priority (runners read both from the order). Without reserved ids, unchanged."""
        if self._claimed >= len(self.ids):
            return record
        work_id = self.ids[self._claimed]
        self._claimed += 1
        order = {**record.order, "groups": ",".join(self.groups), "priority": self.priority}
        return replace(record, id=work_id, order=order)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        unclaimed = self.ids[self._claimed :]
        if kind is not None and unclaimed and self.release is not None:
            self.release(unclaimed)


class Gate(Protocol):
    """Admits or refuses one request's generations."""

    async def admit(self, spec: GenerationSpec, *, copies: int = 1, count: int = 1) -> Admission:
        """Reserve ``copies`` generations of ``count`` images each (1 for a video), or raise why not
        (a coroutine: replicas on Redis share the counters it checks)."""
        ...


class OpenGate:
    """Admits everything and reserves nothing (work started outside a licence: tests, tools)."""

    async def admit(self, spec: GenerationSpec, *, copies: int = 1, count: int = 1) -> Admission:
        """Granted, with the spec's own groups; the work keeps the ids it makes."""
        return Admission((), spec.groups, credits_each=spec.credits)


OPEN = OpenGate()
