"""``/healthz`` (the process answers) and ``/readyz`` (the store answers and some account can serve).

An upstream incident (most accounts failing together) is reported in ``/readyz``'s body but does not
make the replica unready: every replica sees the same Flow, and a load balancer taking them all out
would turn the gateway's clear 503 (with when to retry) into connection errors.
"""

from __future__ import annotations

import time

from aiohttp import web

from gateway import keys
from gateway.api.render import json_response
from gateway.pool.policy import SERVING


async def healthz(_: web.Request) -> web.Response:
    """Liveness."""
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: 503 while the store is down or no account is in a serving state."""
    store_ok = await request.app[keys.STORE].ping()
    accounts = request.app[keys.POOL].table.snapshot()
    serving = sum(1 for a in accounts if a.state in SERVING)
    ready = store_ok and serving > 0
    body: dict[str, object] = {
        "status": "ready" if ready else "not_ready",
        "store": store_ok,
        "accounts_serving": serving,
    }
    incident = request.app[keys.POOL].table.incident
    if incident.active(time.time()):
        body["upstream_incident"] = {
            "since": incident.since,
            "until": incident.until,
            "accounts_failing": len(incident.failing),
        }
    return json_response(body, status=200 if ready else 503)
