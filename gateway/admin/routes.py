"""The admin route table (at ``/admin``, outside the public ``/v1`` tree; the admin key guards it)."""

from __future__ import annotations

from aiohttp import web

from gateway.admin import accounts, enrolments, health, licences, tasks, upstream, usage, webhooks

ID = "/admin/accounts/{account_id}"
LICENCE = "/admin/licences/{licence_id}"


def add_admin_routes(app: web.Application) -> None:
    """Register every admin route."""
    app.router.add_get("/admin/accounts", accounts.list_accounts)
    app.router.add_post("/admin/accounts", accounts.add_account)
    app.router.add_post("/admin/accounts/import", accounts.import_accounts)
    app.router.add_get(ID, accounts.get_account)
    app.router.add_patch(ID, accounts.change_account)
    app.router.add_delete(ID, accounts.remove_account)
    app.router.add_post(ID + "/disable", accounts.disable_account)
    app.router.add_post(ID + "/enable", accounts.enable_account)
    app.router.add_get("/admin/workers", accounts.list_workers)
    app.router.add_get("/admin/workers/enrolments", enrolments.list_enrolments)
    app.router.add_post("/admin/workers/enrolments", enrolments.create_enrolment)
    app.router.add_delete("/admin/workers/enrolments/{enrolment_id}", enrolments.revoke_enrolment)
    app.router.add_get("/admin/pool", accounts.pool_summary)
    app.router.add_get("/admin/upstream", upstream.upstream_summary)
    app.router.add_post("/admin/doctor", upstream.run_doctor)
    app.router.add_get("/admin/licences", licences.list_licences)
    app.router.add_post("/admin/licences", licences.create_licence)
    app.router.add_get(LICENCE, licences.get_licence)
    app.router.add_patch(LICENCE, licences.update_licence)
    app.router.add_delete(LICENCE, licences.revoke_licence)
    app.router.add_post(LICENCE + "/rotate", licences.rotate_licence)
    app.router.add_post(LICENCE + "/enable", licences.enable_licence)
    app.router.add_post(LICENCE + "/disable", licences.disable_licence)
    app.router.add_get("/admin/audit", licences.list_audit)
    app.router.add_get("/admin/usage", usage.usage_totals)
    app.router.add_get("/admin/usage/records", usage.usage_records)
    app.router.add_get("/admin/health", health.health)
    app.router.add_get("/admin/tasks", tasks.list_tasks)
    app.router.add_get("/admin/tasks/{task_id}", tasks.get_task)
    app.router.add_post("/admin/tasks/{task_id}/cancel", tasks.cancel_task)
    app.router.add_get("/admin/webhooks", webhooks.list_webhooks)
    app.router.add_get("/admin/webhooks/{delivery_id}", webhooks.get_webhook)
    app.router.add_post("/admin/webhooks/{delivery_id}/retry", webhooks.retry_webhook)
