"""Licence enforcement and usage: the one place that admits, reserves, settles and records.

Admission (before any upstream work or captcha): the model must match the licence's patterns and
the account groups be among its own (403), then requests per minute and generations in progress
(429 ``rate_limit_exceeded``, ``Retry-After``), then the daily caps and the daily and monthly
budgets in Flow credits (429 ``insufficient_quota``, ``x-should-retry: false``). A limit of 0 is
off. Credits come from the catalogue (the resolved spec's cost, times the images of an order) and
are reserved at admission; settlement replaces the reservation with the cost of what was delivered
(a failure, a refusal, a cancellation or a client gone before submission costs nothing). Every
generation is a :class:`UsageRecord`, written behind (``ledger.py``); at start the counters are
rebuilt from the records (``rebuild.py``). Revoked, disabled and expired licences never get here:
the licence middleware refuses them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from gateway.domain import (
    GenerationSpec,
    Kind,
    LicenceDefinition,
    TaskRecord,
    UsageOutcome,
    UsageRecord,
)
from gateway.errors import ClientClosedError, GatewayError
from gateway.obs.metrics import GatewayMetrics
from gateway.service.generation import ImageResult
from gateway.service.quota.counters import Counters, Demand, Hold, Tally, Window
from gateway.service.quota.gate import Admission
from gateway.service.quota.ledger import WRITE_DELAY, UsageLedger
from gateway.service.quota.rules import check_model, day_of, groups_for, month_of
from gateway.service.quota.settlement import ALL, Settlement, base_model, settlement_of
from gateway.service.videos import new_task_id
from gateway.store.base import UsageQuery, UsageStore, UsageTotal

TASK_PREFIX = {Kind.VIDEO: "video", Kind.IMAGE: "imgtask"}
REQUEST_PREFIX = "use"  # the usage of a synchronous request (it has no task of its own)


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a licence stands now: today's and this month's use, work in progress, its rate window."""

    day: str
    month: str
    today: Tally
    month_credits: int
    in_progress: int
    window: Window


class Quota:
    """Admits generations against licences and keeps their usage."""

    def __init__(
        self,
        *,
        store: UsageStore,
        metrics: GatewayMetrics | None = None,
        transport_of: Callable[[str], str] = lambda _: "",
        clock: Callable[[], float] = time.time,
        write_delay: float = WRITE_DELAY,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._transport_of = transport_of
        self._clock = clock
        self.counters = Counters()
        self.ledger = UsageLedger(store, delay=write_delay)
        self._reserved: dict[str, UsageRecord] = {}  # generations admitted and not settled

    def gate(self, licence: LicenceDefinition) -> LicenceGate:
        """The gate of one request made under ``licence``."""
        return LicenceGate(self, licence)

    def admit_tasks(
        self, licence: LicenceDefinition, spec: GenerationSpec, *, copies: int = 1, count: int = 1
    ) -> Admission:
        """Reserve ``copies`` tasks of ``spec`` (``count`` images each); their ids are reserved here."""
        ids = [new_task_id(TASK_PREFIX[spec.kind]) for _ in range(copies)]
        return self._admit(licence, spec, ids, count=count, tasks=ids)

    def admit_request(self, licence: LicenceDefinition, spec: GenerationSpec, *, count: int = 1) -> Admission:
        """Reserve one synchronous generation of ``count`` images (settled by :meth:`metered`)."""
        return self._admit(licence, spec, [new_task_id(REQUEST_PREFIX)], count=count, tasks=[""])

    def release(self, ids: Sequence[str]) -> None:
        """Give back what was reserved for work that never started."""
        for work_id in ids:
            self.settle(work_id, Settlement(UsageOutcome.CANCELLED, error_code="not_started"))

    def settle(self, work_id: str, settlement: Settlement) -> UsageRecord | None:
        """Replace a reservation with what was spent; None when ``work_id`` holds none (never admitted
        here, or settled already)."""
        record = self._reserved.pop(work_id, None)
        if record is None:
            return None
        succeeded = settlement.outcome in (UsageOutcome.SUCCEEDED, UsageOutcome.ABANDONED)
        delivered = min(settlement.delivered, record.count) if succeeded else 0
        credits = delivered * (record.credits_reserved // max(1, record.count))
        self.counters.settle(work_id, delivered=delivered, credits=credits)
        settled = replace(
            record,
            count=delivered if succeeded else record.count,
            credits_settled=credits,
            outcome=settlement.outcome,
            error_code=settlement.error_code,
            account_id=settlement.account_id,
            transport=self._transport_of(settlement.account_id) if settlement.account_id else "",
            queue_wait=round(max(0.0, settlement.queue_wait), 3),
            upstream_seconds=round(max(0.0, settlement.upstream_seconds), 3),
            settled_at=self._clock(),
        )
        self.ledger.put(settled)
        if self._metrics is not None:
            self._metrics.observe_usage(
                settled.licence_id, base_model(settled.model), settled.kind, settled.outcome.value, credits
            )
        return settled

    def task_finished(self, record: TaskRecord) -> None:
        """The task engine's listener: a task that ended settles its usage."""
        self.settle(record.id, settlement_of(record))

    def task_deleted(self, record: TaskRecord) -> None:
        """A task deleted before it finished gives its reservation back, unless Flow already took
        the job: Flow bills it whether or not anyone waits for it, so the licence pays what was
        reserved (else deleting right after submitting would be a way round every budget)."""
        if record.submitted_at or record.job is not None:
            self.settle(record.id, Settlement(UsageOutcome.ABANDONED, delivered=ALL, error_code="deleted"))
        else:
            self.settle(record.id, Settlement(UsageOutcome.CANCELLED, error_code="deleted"))

    async def metered(self, admission: Admission, work: Awaitable[list[ImageResult]]) -> list[ImageResult]:
        """Run a synchronous image order, settling its usage on how it ends (re-raising failures)."""
        (work_id,) = admission.ids
        started = time.monotonic()
        try:
            results = await work
        except ClientClosedError as exc:
            self.settle(work_id, Settlement(UsageOutcome.CANCELLED, error_code=exc.code))
            raise
        except GatewayError as exc:
            self.settle(work_id, Settlement(UsageOutcome.FAILED, error_code=exc.code))
            raise
        except asyncio.CancelledError:  # abandoned: its client left before it was sent
            self.settle(work_id, Settlement(UsageOutcome.CANCELLED, error_code="client_closed"))
            raise
        except BaseException:  # a bug: the request fails with a 500, and holds nothing either
            self.settle(work_id, Settlement(UsageOutcome.FAILED, error_code="internal_error"))
            raise
        first = results[0] if results else None
        waited = first.queue_wait if first else 0.0
        self.settle(
            work_id,
            Settlement(
                UsageOutcome.SUCCEEDED,
                delivered=len(results),
                account_id=first.account_id if first else "",
                queue_wait=waited,
                upstream_seconds=time.monotonic() - started - waited,
            ),
        )
        return results

    def standing(self, licence: LicenceDefinition) -> Standing:
        """The licence's use today and this month, its work in progress and its rate window."""
        now = self._clock()
        return Standing(
            day=day_of(now),
            month=month_of(now),
            today=self.counters.today(licence.id, now),
            month_credits=self.counters.month(licence.id, now),
            in_progress=self.counters.in_progress(licence.id),
            window=self.counters.window(licence, now),
        )

    def window(self, licence: LicenceDefinition) -> Window:
        """The licence's requests-per-minute state now."""
        return self.counters.window(licence, self._clock())

    async def totals(self, query: UsageQuery, group_by: tuple[str, ...]) -> list[UsageTotal]:
        """Usage summed per group, including the records not written yet."""
        await self.ledger.flush()
        return await self._store.usage_totals(query, group_by)

    async def records(self, query: UsageQuery) -> list[UsageRecord]:
        """Usage records, including those not written yet."""
        await self.ledger.flush()
        return await self._store.list_usage(query)

    def reserved(self) -> list[UsageRecord]:
        """Every reservation not settled yet."""
        return list(self._reserved.values())

    def hold_again(self, record: UsageRecord) -> None:
        """Count a reservation read back from the store (at start) as held again."""
        month = record.day[:7]  # YYYY-MM of the YYYY-MM-DD it was reserved on
        kind, credits = Kind(record.kind), record.credits_reserved
        hold = Hold(record.licence_id, kind, record.day, month, record.count, credits)
        self._reserved[record.id] = record
        self.counters.hold(record.id, hold)

    async def flush(self) -> None:
        """Write every usage record held back (tests; shutdown uses :meth:`close`)."""
        await self.ledger.flush()

    async def close(self) -> None:
        """Write what is left (shutdown)."""
        await self.ledger.close()

    def _admit(
        self,
        licence: LicenceDefinition,
        spec: GenerationSpec,
        ids: Sequence[str],
        *,
        count: int,
        tasks: Sequence[str],
    ) -> Admission:
        now = self._clock()
        try:
            check_model(licence, spec)
            groups = groups_for(licence, spec)
            demand = Demand(spec.kind, copies=len(ids), count=count, credits_each=spec.credits)
            self.counters.admit(licence, demand, ids, now)
        except GatewayError as exc:
            if self._metrics is not None:
                self._metrics.observe_refusal(licence.id, exc.code)
            raise
        for work_id, task_id in zip(ids, tasks, strict=True):
            record = UsageRecord(
                id=work_id,
                licence_id=licence.id,
                kind=spec.kind.value,
                model=spec.name,
                created_at=now,
                day=day_of(now),
                task_id=task_id,
                count=count,
                credits_reserved=count * spec.credits,
            )
            self._reserved[work_id] = record
            self.ledger.put(record)
        return Admission(tuple(ids), groups, licence.priority, spec.credits, release=self.release)


class LicenceGate:
    """One request's gate: the quota's rules for its licence (what it admitted stays readable)."""

    def __init__(self, quota: Quota, licence: LicenceDefinition) -> None:
        self._quota = quota
        self.licence = licence
        self.admissions: list[Admission] = []

    def admit(self, spec: GenerationSpec, *, copies: int = 1, count: int = 1) -> Admission:
        """Reserve ``copies`` tasks of ``spec``, or raise the refusal."""
        admission = self._quota.admit_tasks(self.licence, spec, copies=copies, count=count)
        self.admissions.append(admission)
        return admission

    @property
    def credits_each(self) -> int:
        """What one generation admitted through this gate costs (0 before any)."""
        return self.admissions[-1].credits_each if self.admissions else 0
