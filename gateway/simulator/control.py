"""The simulator's own control API under ``/_sim/`` (JSON): stats, faults, accounts, reset.

``GET /_sim/stats``; ``GET|POST|DELETE /_sim/faults`` (every kind of ``faults.KINDS``);
``GET|POST /_sim/accounts``; ``POST /_sim/accounts/revoke`` ``{"session_token"}``;
``POST /_sim/reset``. Not part of Flow: no auth, no faults, no latency, not counted in the stats.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from gateway.simulator.config import SimAccount

if TYPE_CHECKING:
    from gateway.simulator.simulator import Simulator


def _json(doc: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(doc), status=status, content_type="application/json")


class Control:
    """The ``/_sim/`` handlers for one simulator."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def stats(self, _: web.Request) -> web.Response:
        """``GET /_sim/stats``: counters, in-flight gauges and the recent-call log."""
        return _json(self.sim.stats.snapshot())

    async def add_fault(self, request: web.Request) -> web.Response:
        """``POST /_sim/faults``: ``{route, kind}`` and optionally ``count``, ``rate``, ``account``,
        ``retry_after``, ``reason``, ``form``, ``code``, ``delay`` (see ``Faults.add``; the wire kinds
        ``truncate``, ``reset``, ``garbage``, ``slow_body``, ``cdn_error_page`` included); 400 when one
        is refused."""
        doc = await _body(request)
        try:
            fault = self.sim.faults.add(
                route=doc["route"],
                kind=doc["kind"],
                count=doc.get("count", 1),
                rate=doc.get("rate"),
                account=doc.get("account"),
                retry_after=doc.get("retry_after"),
                reason=doc.get("reason"),
                form=doc.get("form"),
                code=doc.get("code"),
                delay=doc.get("delay"),
            )
        except (KeyError, ValueError, TypeError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json(fault.describe())

    async def faults(self, _: web.Request) -> web.Response:
        """``GET /_sim/faults``: the rules in force."""
        return _json([fault.describe() for fault in self.sim.faults.rules()])

    async def clear_faults(self, _: web.Request) -> web.Response:
        """``DELETE /_sim/faults``."""
        self.sim.faults.clear()
        return _json({"cleared": True})

    async def add_account(self, request: web.Request) -> web.Response:
        """``POST /_sim/accounts`` ``{session_token, email, tier?, credits?, cohort?}``."""
        doc = await _body(request)
        try:
            self.sim.add_account(SimAccount.from_mapping(doc))
        except (TypeError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"added": doc.get("email")})

    async def revoke(self, request: web.Request) -> web.Response:
        """``POST /_sim/accounts/revoke`` ``{session_token}``."""
        doc = await _body(request)
        try:
            self.sim.revoke_session(str(doc["session_token"]))
        except KeyError as exc:
            return _json({"error": f"unknown session token {exc}"}, 404)
        return _json({"revoked": True})

    async def accounts(self, _: web.Request) -> web.Response:
        """``GET /_sim/accounts`` (no session tokens)."""
        return _json(
            [
                {
                    "email": a.spec.email,
                    "tier": a.spec.tier,
                    "cohort": a.spec.cohort,
                    "credits": a.credits,
                    "revoked": a.revoked,
                }
                for a in self.sim.world.accounts.values()
            ]
        )

    async def reset(self, _: web.Request) -> web.Response:
        """``POST /_sim/reset``: forget faults and statistics."""
        self.sim.reset()
        return _json({"reset": True})


def add_routes(app: web.Application, sim: Simulator) -> None:
    """Register the control routes for ``sim``."""
    control = Control(sim)
    app.router.add_get("/_sim/stats", control.stats)
    app.router.add_get("/_sim/faults", control.faults)
    app.router.add_post("/_sim/faults", control.add_fault)
    app.router.add_delete("/_sim/faults", control.clear_faults)
    app.router.add_post("/_sim/accounts", control.add_account)
    app.router.add_get("/_sim/accounts", control.accounts)
    app.router.add_post("/_sim/accounts/revoke", control.revoke)
    app.router.add_post("/_sim/reset", control.reset)


async def _body(request: web.Request) -> dict[str, Any]:
    """The JSON object body, or 400."""
    try:
        doc = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error": "body must be JSON"}', content_type="application/json"
        ) from None
    if not isinstance(doc, dict):
        raise web.HTTPBadRequest(text='{"error": "body must be an object"}', content_type="application/json")
    return doc
