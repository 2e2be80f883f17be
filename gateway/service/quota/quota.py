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

The counters are a :class:`Book` (``book.py``): this process's by default, or shared by replicas
on Redis (``shared.py``), whose admission and settlement are one Redis script each; so admitting
and settling are coroutines. Settlements from code that cannot wait, or that meet a store away,
are written by the :class:`Settler` (retried, never twice).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

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
from gateway.service.quota.book import Book, LocalBook, Standing, price_of
from gateway.service.quota.counters import Demand, Window
from gateway.service.quota.gate import Admission
from gateway.service.quota.keeper import Keeper
from gateway.service.quota.ledger import WRITE_DELAY, UsageLedger
from gateway.service.quota.rules import check_model, day_of, groups_for
from gateway.service.quota.settlement import ALL, Settlement, base_model, settlement_of
from gateway.service.quota.settler import Settler, new_nonce
from gateway.service.videos import new_task_id
from gateway.store.base import UsageQuery, UsageStore, UsageTotal

TASK_PREFIX = {Kind.VIDEO: "video", Kind.IMAGE: "imgtask"}
REQUEST_PREFIX = "use"  # the usage of a synchronous request (it has no task of its own)


class Quota:
    """Admits generations against licences and keeps their usage."""

    def __init__(  # noqa: PLR0913 - keyword-only collaborators, each with a default but the store
        self,
        *,
        store: UsageStore,
        metrics: GatewayMetrics | None = None,
        transport_of: Callable[[str], str] = lambda _: "",
        clock: Callable[[], float] = time.time,
        write_delay: float = WRITE_DELAY,
        book: Book | None = None,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._transport_of = transport_of
        self._clock = clock
        self.book: Book = book if book is not None else LocalBook()
        self.ledger = UsageLedger(store, delay=write_delay)
        self.settler = Settler(self.settle)
        self._keeper = Keeper(self.keep_once, self.book.upkeep) if self.book.upkeep else None

    def gate(self, licence: LicenceDefinition) -> LicenceGate:
        """The gate of one request made under ``licence``."""
        return LicenceGate(self, licence)

    async def admit_tasks(
        self, licence: LicenceDefinition, spec: GenerationSpec, *, copies: int = 1, count: int = 1
    ) -> Admission:
        """Reserve ``copies`` tasks of ``spec`` (``count`` images each); their ids are reserved here."""
        ids = [new_task_id(TASK_PREFIX[spec.kind]) for _ in range(copies)]
        return await self._admit(licence, spec, ids, count=count, tasks=ids)

    async def admit_request(
        self, licence: LicenceDefinition, spec: GenerationSpec, *, count: int = 1
    ) -> Admission:
        """Reserve one synchronous generation of ``count`` images (settled by :meth:`metered`)."""
        return await self._admit(licence, spec, [new_task_id(REQUEST_PREFIX)], count=count, tasks=[""])

    def release(self, ids: Sequence[str]) -> None:
        """Give back what was reserved for work that never started."""
        for work_id in ids:
            self.settler.put(work_id, Settlement(UsageOutcome.CANCELLED, error_code="not_started"))

    async def settle(self, work_id: str, settlement: Settlement, nonce: str = "") -> UsageRecord | None:
        """Replace a reservation with what was spent; None when ``work_id`` holds none (never admitted,
        or settled already). ``nonce``: as a retry of the settlement that used it."""
        succeeded = settlement.outcome in (UsageOutcome.SUCCEEDED, UsageOutcome.ABANDONED)
        delivered = settlement.delivered if succeeded else 0
        found = await self.book.settle(work_id, delivered, nonce or new_nonce())
        if found is None:
            return None
        record, made = found
        return self._settled(record, settlement, made)

    def _settled(self, record: UsageRecord, settlement: Settlement, delivered: int) -> UsageRecord:
        """The usage record of a settled reservation, written behind and counted in the metrics."""
        succeeded = settlement.outcome in (UsageOutcome.SUCCEEDED, UsageOutcome.ABANDONED)
        credits = delivered * price_of(record)
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
        self.settler.put(record.id, settlement_of(record))

    def task_deleted(self, record: TaskRecord) -> None:
        """A task deleted before it finished gives its reservation back, unless Flow already took
        the job: Flow bills it whether or not anyone waits for it, so the licence pays what was
        reserved (else deleting right after submitting would be a way round every budget)."""
        if record.submitted_at or record.job is not None:
            settlement = Settlement(UsageOutcome.ABANDONED, delivered=ALL, error_code="deleted")
        else:
            settlement = Settlement(UsageOutcome.CANCELLED, error_code="deleted")
        self.settler.put(record.id, settlement)

    async def metered(self, admission: Admission, work: Awaitable[list[ImageResult]]) -> list[ImageResult]:
        """Run a synchronous image order, settling its usage on how it ends (re-raising failures)."""
        (work_id,) = admission.ids
        started = time.monotonic()
        try:
            results = await work
        except ClientClosedError as exc:
            await self.settler.now(work_id, Settlement(UsageOutcome.CANCELLED, error_code=exc.code))
            raise
        except GatewayError as exc:
            await self.settler.now(work_id, Settlement(UsageOutcome.FAILED, error_code=exc.code))
            raise
        except asyncio.CancelledError:  # abandoned: its client left before it was sent (no await here)
            self.settler.put(work_id, Settlement(UsageOutcome.CANCELLED, error_code="client_closed"))
            raise
        except BaseException:  # a bug: the request fails with a 500, and holds nothing either
            self.settler.put(work_id, Settlement(UsageOutcome.FAILED, error_code="internal_error"))
            raise
        first = results[0] if results else None
        waited = first.queue_wait if first else 0.0
        await self.settler.now(
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

    async def standing(self, licence: LicenceDefinition) -> Standing:
        """The licence's use today and this month, its work in progress and its rate window."""
        return await self.book.standing(licence, self._clock())

    async def window(self, licence: LicenceDefinition) -> Window:
        """The licence's requests-per-minute state now."""
        return await self.book.window(licence, self._clock())

    async def totals(self, query: UsageQuery, group_by: tuple[str, ...]) -> list[UsageTotal]:
        """Usage summed per group, including the records not written yet."""
        await self.ledger.flush()
        return await self._store.usage_totals(query, group_by)

    async def records(self, query: UsageQuery) -> list[UsageRecord]:
        """Usage records, including those not written yet."""
        await self.ledger.flush()
        return await self._store.list_usage(query)

    def start(self) -> None:
        """Begin the book's upkeep, if it needs any (shared counters: renewing and reaping holds)."""
        if self._keeper is not None:
            self._keeper.start()

    async def flush(self) -> None:
        """Write every settlement and usage record held back (tests; shutdown uses :meth:`close`)."""
        await self.settler.flush()
        await self.ledger.flush()

    async def close(self) -> None:
        """Stop the upkeep, write what is left (shutdown)."""
        if self._keeper is not None:
            await self._keeper.stop()
        await self.settler.close()
        await self.ledger.close()

    async def keep_once(self) -> None:
        """One upkeep round: reservations nobody kept (their replica died mid-request) settle as
        interrupted."""
        for record in await self.book.keep():
            self._settled(record, Settlement(UsageOutcome.FAILED, error_code="interrupted"), 0)

    async def _admit(
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
            records = [
                UsageRecord(
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
                for work_id, task_id in zip(ids, tasks, strict=True)
            ]
            await self.book.admit(licence, demand, records, now)
        except GatewayError as exc:
            if self._metrics is not None:
                self._metrics.observe_refusal(licence.id, exc.code)
            raise
        for record in records:
            self.ledger.put(record)
        return Admission(tuple(ids), groups, licence.priority, spec.credits, release=self.release)


class LicenceGate:
    """One request's gate: the quota's rules for its licence (what it admitted stays readable)."""

    def __init__(self, quota: Quota, licence: LicenceDefinition) -> None:
        self._quota = quota
        self.licence = licence
        self.admissions: list[Admission] = []

    async def admit(self, spec: GenerationSpec, *, copies: int = 1, count: int = 1) -> Admission:
        """Reserve ``copies`` tasks of ``spec``, or raise the refusal."""
        admission = await self._quota.admit_tasks(self.licence, spec, copies=copies, count=count)
        self.admissions.append(admission)
        return admission

    @property
    def credits_each(self) -> int:
        """What one generation admitted through this gate costs (0 before any)."""
        return self.admissions[-1].credits_each if self.admissions else 0
