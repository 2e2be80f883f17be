"""Licences, their usage, the admin audit trail and webhook deliveries: value types only.

A licence is what a client presents (its key, kept only as a SHA-256) and what it may do: models,
account groups, rates, caps and budgets in Flow credits. Usage is one record per generation, from
the reservation of its credits to their settlement. The audit trail records every change made
through the admin API or the CLI (never a secret). A webhook delivery is one POST owed to a client,
kept until it lands or is given up.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class ProgressMode(enum.StrEnum):
    """Where a chat stream puts its progress lines (``""`` on a licence: the server's default)."""

    REASONING = "reasoning"
    CONTENT = "content"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class LicenceDefinition:
    """A client licence as the store keeps it. Limits of 0 (and empty lists) mean "no limit".

    ``previous_key_sha256`` still authenticates until ``previous_key_until`` (a rotation's grace).
    ``revoked_at`` > 0: the key no longer works; the row stays for its usage history.
    ``source``: ``config`` (the config file owns it and wins at every start) or ``admin``.
    """

    id: str
    name: str
    key_sha256: str
    notes: str = ""
    owner: str = ""
    expires_at: float = 0.0
    models: tuple[str, ...] = ()  # patterns over public model names and variants (fnmatch)
    groups: tuple[str, ...] = ()  # account groups it may use; empty: any
    default_group: str = ""  # used when a request names none
    rpm: int = 0
    max_concurrency: int = 0  # generations at once (images and videos in progress)
    daily_images: int = 0
    daily_videos: int = 0
    daily_credits: int = 0
    monthly_credits: int = 0
    progress: str = ""  # a ProgressMode value, or "" for the server's [tasks] chat_progress
    webhook_url: str = ""
    webhook_secret: str = ""  # signs this licence's webhooks (shown once, never listed)
    priority: int = 0  # higher waits less when the pool is busy
    enabled: bool = True
    revoked_at: float = 0.0
    previous_key_sha256: str = ""
    previous_key_until: float = 0.0
    source: str = "admin"
    created_at: float = 0.0
    updated_at: float = 0.0
    key_hint: str = ""  # enough of the key to recognise it (``sk-flow-Ab…yz``); never enough to use it


class UsageOutcome(enum.StrEnum):
    """Where a generation's credits stand."""

    RESERVED = "reserved"  # admitted, credits held against the budget
    SUCCEEDED = "succeeded"  # settled at its cost
    FAILED = "failed"  # settled at 0: a failed or refused generation costs nothing
    CANCELLED = "cancelled"  # released before any upstream work (client left, cancelled)
    ABANDONED = "abandoned"  # deleted after Flow took the job: settled at its cost (Flow bills it)


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One generation's use of a licence, from admission to settlement."""

    id: str
    licence_id: str
    kind: str  # "image" | "video"
    model: str  # the public name with its variant, as requested (e.g. veo_3_1-landscape-fast)
    created_at: float
    day: str  # UTC date of created_at, YYYY-MM-DD (budgets and grouping)
    task_id: str = ""
    count: int = 1  # images in the order; once succeeded, the images delivered (a video: 1)
    credits_reserved: int = 0
    credits_settled: int = 0
    outcome: UsageOutcome = UsageOutcome.RESERVED
    error_code: str = ""
    account_id: str = ""
    transport: str = ""  # "rest" | "worker"
    queue_wait: float = 0.0  # seconds waiting for an account
    upstream_seconds: float = 0.0
    settled_at: float = 0.0


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change made by an operator: who, what, when, and the object before and after (secrets
    never included: keys and tokens appear at most as a hint)."""

    at: float
    actor: str  # "admin-api" | "cli" | "config"
    action: str  # e.g. "licence.create", "licence.rotate", "account.disable"
    target: str  # the object's id
    before: dict[str, object] | None = None
    after: dict[str, object] | None = None
    seq: int = 0  # assigned by the store, increasing


class DeliveryStatus(enum.StrEnum):
    """A webhook delivery's state."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # given up after the last attempt


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One POST owed to a client: a finished task's object, signed when sent."""

    id: str  # also the ``webhook-id`` header: receivers use it to drop duplicates
    licence_id: str
    task_id: str
    url: str
    event: str  # e.g. "video.completed", "image.failed"
    body: bytes
    created_at: float
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    next_at: float = 0.0
    last_status: int = 0  # the receiver's HTTP status, 0 when it could not be reached
    last_error: str = ""
    delivered_at: float = 0.0
    history: tuple[tuple[float, int, str], ...] = field(default_factory=tuple)  # (at, status, error)
