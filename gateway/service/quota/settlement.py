"""How a generation's end settles its usage: the outcome, what it delivered, where, how long.

A task's end is read from its record (``settlement_of``); a synchronous request's from how its
call ended (``Quota.metered``). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.domain import Kind, TaskRecord, TaskStatus, UsageOutcome

# Task error codes that mean the work was called off rather than failed (the admin's cancel before
# submission, a deletion, work never started, a client gone before its request was sent).
CANCELLED_CODES = frozenset({"cancelled", "deleted", "not_started", "client_closed"})
ALL = 1 << 30  # "everything reserved" as ``delivered``: settling caps it at the reservation's count


@dataclass(frozen=True, slots=True)
class Settlement:
    """How a generation ended: its outcome, what it delivered, where and how long it took."""

    outcome: UsageOutcome
    delivered: int = 0  # images delivered (a video: 1 when it succeeded)
    error_code: str = ""
    account_id: str = ""
    queue_wait: float = 0.0
    upstream_seconds: float = 0.0


def settlement_of(record: TaskRecord) -> Settlement:
    """How a finished task settles: completed at the cost of what it made, else at nothing (a task
    cancelled before it was submitted counts as cancelled, any other end as failed)."""
    submitted = record.submitted_at
    ended = record.completed_at or record.updated_at
    if record.status is TaskStatus.COMPLETED:
        outcome, made = UsageOutcome.SUCCEEDED, len(record.results) if record.kind is Kind.IMAGE else 1
    elif record.error_code in CANCELLED_CODES:
        outcome, made = UsageOutcome.CANCELLED, 0
    else:
        outcome, made = UsageOutcome.FAILED, 0
    return Settlement(
        outcome,
        delivered=made,
        error_code="" if outcome is UsageOutcome.SUCCEEDED else record.error_code,
        account_id=record.account_id,
        queue_wait=submitted - record.created_at if submitted else 0.0,
        upstream_seconds=ended - submitted if submitted else 0.0,
    )


def base_model(name: str) -> str:
    """The model id of a canonical name (``veo_3_1-landscape-fast`` -> ``veo_3_1``): the catalogue's
    grammar joins a model id and its parameters with ``-``, and ids have none."""
    return name.split("-", 1)[0]
