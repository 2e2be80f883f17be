"""The simulator's own control API under ``/_sim/`` (JSON): stats, faults, accounts, reset."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from aiohttp import web

from gateway.simulator.config import SimAccount

if TYPE_CHECKING:
    from gateway.simulator.simulator import Simulator


def _json(doc: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(doc), status=status, content_type="application/json")


def add_routes(app: web.Application, sim: Simulator) -> None:
    """Register the control routes for ``sim``."""

    async def stats(_: web.Request) -> web.Response:
        return _json(sim.stats.snapshot())

    async def add_fault(request: web.Request) -> web.Response:
        doc = await request.json()
        try:
            fault = sim.faults.add(
                route=doc["route"],
                kind=doc["kind"],
                count=doc.get("count", 1),
                rate=doc.get("rate"),
                account=doc.get("account"),
                retry_after=doc.get("retry_after"),
            )
        except (KeyError, ValueError, TypeError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"route": fault.route, "kind": fault.kind, "count": fault.count, "rate": fault.rate})

    async def clear_faults(_: web.Request) -> web.Response:
        sim.faults.clear()
        return _json({"cleared": True})

    async def add_account(request: web.Request) -> web.Response:
        doc = await request.json()
        try:
            sim.add_account(SimAccount(**doc))
        except (TypeError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"added": doc.get("email")})

    async def accounts(_: web.Request) -> web.Response:
        return _json(
            [
                {"email": a.spec.email, "tier": a.spec.tier, "credits": a.credits, "revoked": a.revoked}
                for a in sim.world.accounts.values()
            ]
        )

    async def reset(_: web.Request) -> web.Response:
        sim.reset()
        return _json({"reset": True})

    app.router.add_get("/_sim/stats", stats)
    app.router.add_post("/_sim/faults", add_fault)
    app.router.add_delete("/_sim/faults", clear_faults)
    app.router.add_post("/_sim/accounts", add_account)
    app.router.add_get("/_sim/accounts", accounts)
    app.router.add_post("/_sim/reset", reset)
