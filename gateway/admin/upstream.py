"""``/admin/upstream``: what the gateway has noticed about Flow itself: replies whose shape the
evidence does not know (the drift canary), features paused pool-wide, and the disputed points of
the evidence with the config key that decides each. ``POST /admin/doctor`` runs the read-only
probes of every connected browser worker's account."""

from __future__ import annotations

import dataclasses
import time

from aiohttp import web

from gateway import keys
from gateway.admin.render import json_response
from gateway.upstream.flow import evidence


async def upstream_summary(request: web.Request) -> web.Response:
    """``GET /admin/upstream``."""
    now = time.time()
    pool = request.app[keys.POOL]
    return json_response(
        {
            "shape_mismatches": request.app[keys.CANARY].report(),
            "paused_features": {f: until for f, until in pool.table.paused.items() if until > now},
            "disputed": [
                {"what": d.what, "config": d.config, "default": d.choice} for d in evidence.load().disputed
            ],
        }
    )


async def run_doctor(request: web.Request) -> web.Response:
    """``POST /admin/doctor``: one check per connected worker account (reads only; nothing is spent)."""
    checks = await request.app[keys.DOCTOR].run()
    return json_response({"object": "list", "data": [dataclasses.asdict(c) for c in checks]})
