"""The admin API's operations (``/admin``, behind the admin key)."""

from __future__ import annotations

from dataclasses import replace

from aiohttp.typedefs import Handler

from gateway.admin import accounts, health, licences, tasks, upstream, usage, webhooks
from gateway.admin import bodies as b
from gateway.domain import AccountKind, DeliveryStatus, Kind, TaskStatus
from gateway.openapi import admin_objects as a
from gateway.openapi.objects import USAGE_TOTALS
from gateway.openapi.public import USAGE_PARAMS
from gateway.openapi.spec import CSV, JSON, Auth, Operation, Param, Reply, ok, query
from gateway.wire import Integer, Text

FLAG_FILTER = Text(enum=("true", "false"))


def one_of(values: tuple[str, ...]) -> Text:
    """A filter taking one of ``values`` (empty: no filter)."""
    return Text(enum=("", *values))


_AFTER = query("after", Text(), "The last id of the previous page.")


def limit(highest: int) -> Param:
    """A page size from 1 to ``highest``."""
    return query("limit", Integer(1, highest))


ACCOUNT = ok(a.ACCOUNT)
LICENCE = ok(a.LICENCE)
_USAGE_ADMIN = (
    *USAGE_PARAMS,
    query("licence_id", Text()),
    query("account_id", Text()),
)
_OPERATIONS: dict[Handler, Operation] = {
    accounts.list_accounts: Operation(
        "List accounts",
        "Admin: accounts",
        (ok(a.ACCOUNT_LIST),),
        params=(
            query("state", Text()),
            query("kind", one_of(tuple(AccountKind))),
            query("group", Text()),
            limit(accounts.MAX_PAGE),
            _AFTER,
        ),
    ),
    accounts.add_account: Operation(
        "Add an account", "Admin: accounts", (ok(a.ACCOUNT, status=201),), body=b.ACCOUNT, body_required=True
    ),
    accounts.import_accounts: Operation(
        "Import accounts",
        "Admin: accounts",
        (ok(a.ACCOUNT_IMPORTED),),
        body=b.ACCOUNT_IMPORT,
        body_required=True,
        text_body="A file of credentials, one per line (``#`` comments), with ``?kind=&groups=``.",
        params=(query("kind", Text(enum=tuple(AccountKind))), query("groups", Text(), "Comma-separated.")),
    ),
    accounts.get_account: Operation("Retrieve an account", "Admin: accounts", (ACCOUNT,)),
    accounts.change_account: Operation(
        "Change an account", "Admin: accounts", (ACCOUNT,), body=b.ACCOUNT, body_required=True
    ),
    accounts.remove_account: Operation("Remove an account", "Admin: accounts", (ok(a.ACCOUNT_DELETED),)),
    accounts.disable_account: Operation("Disable an account", "Admin: accounts", (ACCOUNT,)),
    accounts.enable_account: Operation("Enable an account", "Admin: accounts", (ACCOUNT,)),
    accounts.list_workers: Operation("Connected browser workers", "Admin: accounts", (ok(a.LISTING),)),
    accounts.pool_summary: Operation("The pool at a glance", "Admin: health", (ok(a.POOL),)),
    upstream.upstream_summary: Operation("What was noticed about Flow", "Admin: health", (ok(a.UPSTREAM),)),
    upstream.run_doctor: Operation(
        "Probe every worker account (reads only)", "Admin: health", (ok(a.LISTING),)
    ),
    licences.list_licences: Operation(
        "List licences",
        "Admin: licences",
        (ok(a.LICENCE_LIST),),
        params=(
            query("enabled", FLAG_FILTER),
            query("revoked", FLAG_FILTER),
            limit(licences.MAX_PAGE),
            _AFTER,
        ),
    ),
    licences.create_licence: Operation(
        "Create a licence",
        "Admin: licences",
        (ok(a.ISSUED_LICENCE, "The licence and its key (shown once).", status=201),),
        body=b.LICENCE,
        body_required=True,
    ),
    licences.get_licence: Operation("Retrieve a licence", "Admin: licences", (LICENCE,)),
    licences.update_licence: Operation(
        "Change a licence", "Admin: licences", (LICENCE,), body=b.LICENCE, body_required=True
    ),
    licences.revoke_licence: Operation("Revoke a licence", "Admin: licences", (LICENCE,)),
    licences.rotate_licence: Operation(
        "Rotate a licence's key",
        "Admin: licences",
        (ok(a.ISSUED_LICENCE, "The new key (shown once)."),),
        body=b.ROTATION,
    ),
    licences.enable_licence: Operation("Enable a licence", "Admin: licences", (LICENCE,)),
    licences.disable_licence: Operation("Disable a licence", "Admin: licences", (LICENCE,)),
    licences.list_audit: Operation(
        "The audit trail",
        "Admin: audit",
        (ok(a.AUDIT_LIST),),
        params=(
            query("after", Integer(0, 2**62), "The last ``seq`` seen."),
            limit(licences.MAX_PAGE),
            query("target", Text(), "One object's entries."),
        ),
    ),
    usage.usage_totals: Operation(
        "Usage summed by group",
        "Admin: usage",
        (Reply(200, "The sums.", ((JSON, USAGE_TOTALS), (CSV, None))),),
        params=_USAGE_ADMIN,
    ),
    usage.usage_records: Operation(
        "Usage records",
        "Admin: usage",
        (Reply(200, "One row per generation.", ((JSON, a.USAGE_RECORDS), (CSV, None))),),
        params=_USAGE_ADMIN,
    ),
    health.health: Operation(
        "Health of everything the gateway depends on", "Admin: health", (ok(a.ADMIN_HEALTH),)
    ),
    tasks.list_tasks: Operation(
        "Every licence's tasks",
        "Admin: tasks",
        (ok(a.TASK_LIST),),
        params=(
            query("owner", Text(), "A licence id."),
            query("kind", one_of(tuple(Kind))),
            query("status", one_of(tuple(TaskStatus))),
            limit(tasks.MAX_PAGE),
            query("after", Text(), "A task id."),
        ),
    ),
    tasks.get_task: Operation("Inspect a task", "Admin: tasks", (ok(a.TASK),)),
    tasks.cancel_task: Operation(
        "Cancel a task before it was submitted",
        "Admin: tasks",
        (ok(a.TASK),),
        description="409 once it was submitted.",
    ),
    webhooks.list_webhooks: Operation(
        "Webhook deliveries",
        "Admin: webhooks",
        (ok(a.DELIVERY_LIST),),
        params=(
            query("task_id", Text()),
            query("licence_id", Text()),
            query("status", one_of(tuple(DeliveryStatus))),
            limit(webhooks.MAX_PAGE),
        ),
    ),
    webhooks.get_webhook: Operation(
        "One delivery, with its body", "Admin: webhooks", (ok(a.DELIVERY_WITH_BODY),)
    ),
    webhooks.retry_webhook: Operation("Send a delivery again", "Admin: webhooks", (ok(a.DELIVERY),)),
}
OPERATIONS = {handler: replace(op, auth=Auth.ADMIN) for handler, op in _OPERATIONS.items()}
