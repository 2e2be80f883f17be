"""The admin route table (at ``/admin``, outside the public ``/v1`` tree; the admin key guards it)."""

from __future__ import annotations

from aiohttp import web

from gateway.admin import accounts, upstream

ID = "/admin/accounts/{account_id}"


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
    app.router.add_get("/admin/pool", accounts.pool_summary)
    app.router.add_get("/admin/upstream", upstream.upstream_summary)
    app.router.add_post("/admin/doctor", upstream.run_doctor)
