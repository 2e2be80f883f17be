"""At start, the licences' counters are rebuilt from the usage records (the store is the truth).

Settled use of this month counts into the month (and today's into the day). A reservation still
open is held again when its task is still unfinished (the task engine resumes it and will settle
it); one whose task finished meanwhile (its settlement was lost with the process) settles from the
task; any other (a synchronous request cut off by the restart, a task deleted) is given back, so
nothing stays reserved for work that no longer exists.

Replicas on Redis share counters that outlive any one of them: they are rebuilt once, by the first
replica to start (loading them is one script that does nothing when they exist, so two replicas
starting at once cannot count anything twice). A replica starting later only settles the
reservations of tasks that finished without settling; it gives nothing else back, since another
replica's request may be under way (a synchronous request's hold expires instead when its replica
dies; a task's is settled wherever the task ends).
"""

from __future__ import annotations

import structlog

from gateway.domain import UsageOutcome, UsageRecord
from gateway.service.quota.book import LocalBook
from gateway.service.quota.quota import Quota
from gateway.service.quota.rules import month_start
from gateway.service.quota.settlement import Settlement, settlement_of
from gateway.store.base import Store, UsageQuery

log = structlog.get_logger("gateway.service.quota")
PAGE = 1000
RESERVED = UsageOutcome.RESERVED.value


async def rebuild(quota: Quota, store: Store, now: float) -> None:
    """Count this month's settled use and every open reservation in again (call before tasks resume)."""
    rebuilt = LocalBook()
    rebuilt.counters.start(now)
    for total in await store.usage_totals(UsageQuery(since=month_start(now)), ("licence_id", "day")):
        licence_id, day = total.key
        rebuilt.counters.spent(
            licence_id, day, images=total.images, videos=total.videos, credits=total.credits
        )
    reserved = await _reserved(store)
    for record in reserved:
        rebuilt.hold_again(record)
    loaded = await quota.book.load(rebuilt)
    unfinished = {t.id for t in await store.unfinished_tasks()}
    released = 0
    for record in reserved:
        if record.task_id and record.task_id in unfinished:
            continue
        task = await store.get_task(record.task_id) if record.task_id else None
        if task is not None and task.status.finished:
            await quota.settle(record.id, settlement_of(task))
        elif loaded:
            await quota.settle(record.id, Settlement(UsageOutcome.FAILED, error_code="interrupted"))
            released += 1
    log.info("usage_rebuilt", loaded=loaded, reserved=len(reserved) - released, released=released)


async def _reserved(store: Store) -> list[UsageRecord]:
    """Every record still reserved, whenever it was made (the store indexes these few)."""
    found: list[UsageRecord] = []
    while True:
        after = found[-1].id if found else ""
        page = await store.list_usage(UsageQuery(outcome=RESERVED, after=after, limit=PAGE))
        found.extend(page)
        if len(page) < PAGE:
            return found
