"""The admin API's response objects, described for the OpenAPI document (licences, audit, usage
and tasks in full; operational views, whose fields follow the pool and the workers, with their
main fields and open to more)."""

from __future__ import annotations

from gateway.domain import DeliveryStatus, Kind, TaskStatus
from gateway.openapi.objects import FLAG, INT, NUMBER, STRING, const, req
from gateway.wire import AnyValue, Array, Field, MapOf, Shape, Text

ANY_OBJECT = MapOf(AnyValue())


def page(name: str, description: str, item: Shape, *, cursor: str = "last_id") -> Shape:
    """A list of ``item`` with ``has_more`` and the cursor to page on with."""
    return Shape(
        name,
        description,
        (
            const("object", "list"),
            req("data", Array(item)),
            req("has_more", FLAG),
            req(cursor, STRING, nullable=True),
        ),
    )


ACCOUNT = Shape(
    "Account",
    "A Flow account: what was declared (secrets as a hint) and what the pool knows now.",
    (
        req("id", STRING),
        const("object", "flow.account"),
        req("kind", Text(enum=("rest", "worker"))),
        req("label", STRING),
        req("session_token", STRING, "A hint of the token, never the token."),
        req("groups", Array(STRING)),
        req("enabled", FLAG),
        req(
            "state",
            STRING,
            "``ready``, ``cooling_down``, ``needs_relogin``, ... (``unknown`` before the pool knows it).",
        ),
    ),
    open=True,
)
ACCOUNT_LIST = page("AccountList", "Accounts, oldest first.", ACCOUNT)
ACCOUNT_DELETED = Shape(
    "AccountDeleted",
    "A removed account.",
    (req("id", STRING), const("object", "flow.account.deleted"), req("deleted", FLAG)),
)
ACCOUNT_IMPORTED = Shape(
    "AccountImportResult",
    "Ids added, and ids skipped because they already existed.",
    (const("object", "flow.account.import"), req("added", Array(STRING)), req("skipped", Array(STRING))),
)
LISTING = Shape(
    "Listing", "A list of operational records.", (const("object", "list"), req("data", Array(ANY_OBJECT)))
)
POOL = Shape(
    "PoolSummary",
    "Accounts by state, waiting requests, picks and outcomes.",
    (
        req("accounts", MapOf(INT)),
        req("waiting", INT),
        req("waits", INT),
        req("picks", MapOf(INT)),
        req("outcomes", MapOf(INT)),
        req("cooldowns", INT),
    ),
)
UPSTREAM = Shape(
    "UpstreamSummary",
    "Replies of unknown shape, features paused pool-wide, the evidence's disputed points.",
    (
        req("shape_mismatches", ANY_OBJECT),
        req("paused_features", MapOf(NUMBER)),
        req("disputed", Array(ANY_OBJECT)),
    ),
)
_LICENCE_FIELDS = (
    req("id", STRING),
    const("object", "flow.licence"),
    req("name", STRING),
    req("owner", STRING),
    req("notes", STRING),
    req("key_hint", STRING, "Enough of the key to tell two apart."),
    req("status", Text(enum=("active", "disabled", "expired", "revoked"))),
    req("enabled", FLAG),
    req("expires_at", NUMBER, nullable=True),
    req("revoked_at", NUMBER, nullable=True),
    req("previous_key_until", NUMBER, "Until when the key before a rotation still works.", nullable=True),
    req("models", Array(STRING)),
    req("groups", Array(STRING)),
    req("default_group", STRING),
    *(
        req(n, INT)
        for n in (
            "rpm",
            "max_concurrency",
            "daily_images",
            "daily_videos",
            "daily_credits",
            "monthly_credits",
        )
    ),
    req("progress", STRING),
    req("webhook_url", STRING),
    req("priority", INT),
    req("source", STRING, "``config`` (the config file owns it and wins at every start) or ``admin``."),
    req("created_at", NUMBER),
    req("updated_at", NUMBER),
)
LICENCE = Shape(
    "AdminLicence", "A licence: its limits and state, never its key or key hash.", _LICENCE_FIELDS
)
ISSUED_LICENCE = Shape(
    "IssuedLicence",
    "A licence just created or rotated, with its ``key`` (shown this once).",
    (
        *_LICENCE_FIELDS,
        req("key", STRING, "The licence key: shown once."),
        Field("webhook_secret", STRING, "The webhook signing secret, when one was issued: shown once."),
    ),
)
LICENCE_LIST = page("LicenceList", "Licences, oldest first.", LICENCE)
AUDIT_ENTRY = Shape(
    "AuditEntry",
    "One change: who, what, when, before and after (never a secret).",
    (
        const("object", "flow.audit_entry"),
        req("seq", INT),
        req("at", NUMBER),
        req("actor", STRING),
        req("action", STRING),
        req("target", STRING),
        req("before", ANY_OBJECT, nullable=True),
        req("after", ANY_OBJECT, nullable=True),
    ),
)
AUDIT_LIST = Shape(
    "AuditList",
    "Audit entries oldest first; page on with ``after`` = ``last_seq``.",
    (const("object", "list"), req("data", Array(AUDIT_ENTRY)), req("has_more", FLAG), req("last_seq", INT)),
)
USAGE_RECORD = Shape(
    "UsageRecord",
    "One generation's use of a licence.",
    (
        req("id", STRING),
        req("licence_id", STRING),
        req("kind", STRING),
        req("model", STRING),
        req("created_at", NUMBER),
        req("day", STRING),
        req("task_id", STRING),
        req("count", INT),
        req("credits_reserved", INT),
        req("credits_settled", INT),
        req("outcome", STRING),
        req("error_code", STRING),
        req("account_id", STRING),
        req("transport", STRING),
        req("queue_wait", NUMBER),
        req("upstream_seconds", NUMBER),
        req("settled_at", NUMBER),
    ),
)
USAGE_RECORDS = page(
    "UsageRecords", "Generations oldest first; page on with ``after`` (the last id).", USAGE_RECORD
)
ADMIN_HEALTH = Shape(
    "AdminHealth",
    "Everything the gateway depends on, at a glance.",
    (
        req("status", Text(enum=("ok", "degraded", "down"))),
        req("problems", Array(STRING)),
        req("store", ANY_OBJECT),
        req("transports", ANY_OBJECT),
        req("captcha", ANY_OBJECT, nullable=True),
        req("workers", ANY_OBJECT),
        req("upstream_incident", ANY_OBJECT, nullable=True),
        req("shape_mismatches", INT),
        req("tasks", ANY_OBJECT),
        req("webhooks", ANY_OBJECT, "The webhook outbox's backlog."),
    ),
)
TASK = Shape(
    "Task",
    "A task as the store keeps it (any licence's).",
    (
        req("id", STRING),
        const("object", "flow.task"),
        req("owner", STRING),
        req("kind", Text(enum=tuple(Kind))),
        req("model", STRING),
        req("status", Text(enum=tuple(TaskStatus))),
    ),
    open=True,
)
TASK_LIST = page("TaskList", "Tasks, newest first.", TASK)
_DELIVERY_FIELDS = (
    req("id", STRING),
    const("object", "webhook.delivery"),
    req("event", STRING),
    req("licence_id", STRING),
    req("task_id", STRING),
    req("url", STRING),
    req("status", Text(enum=tuple(DeliveryStatus))),
    req("attempts", INT),
    req("next_attempt_at", NUMBER, nullable=True),
    req("last_status", INT, nullable=True),
    req("last_error", STRING, nullable=True),
    req("created_at", NUMBER),
    req("delivered_at", NUMBER, nullable=True),
    req("history", Array(ANY_OBJECT)),
    req("body_bytes", INT),
)
DELIVERY = Shape("WebhookDelivery", "A webhook delivery and its attempts (never a secret).", _DELIVERY_FIELDS)
DELIVERY_WITH_BODY = Shape(
    "WebhookDeliveryWithBody",
    "A webhook delivery with the body it sends.",
    (*_DELIVERY_FIELDS, req("body", ANY_OBJECT)),
)
DELIVERY_LIST = Shape(
    "WebhookDeliveryList",
    "Deliveries, newest first.",
    (const("object", "list"), req("data", Array(DELIVERY))),
)
_ENROLMENT_FIELDS = (
    req("id", STRING),
    const("object", "worker.enrolment"),
    req("name", STRING),
    req("token_hint", STRING, "Enough of the token to tell two apart."),
    req("created_at", NUMBER),
    req("revoked_at", NUMBER, nullable=True),
    req("connected", INT, "How many of this replica's worker sockets use it now."),
)
ENROLMENT = Shape("WorkerEnrolment", "A browser worker's enrolment (never its token).", _ENROLMENT_FIELDS)
ISSUED_ENROLMENT = Shape(
    "IssuedWorkerEnrolment",
    "A new enrolment with its ``token`` (shown this once).",
    (*_ENROLMENT_FIELDS, req("token", STRING, "The worker's token: shown once.")),
)
ENROLMENT_LIST = Shape(
    "WorkerEnrolmentList",
    "Enrolments, oldest first, revoked ones included.",
    (const("object", "list"), req("data", Array(ENROLMENT))),
)
