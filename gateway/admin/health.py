"""``GET /admin/health``: one glance at everything the gateway depends on.

``/readyz`` answers a load balancer (yes or no); this answers an operator: the store, each
transport's accounts (how many serve, and why the others do not), the captcha solver's recent
solves, the connected browser workers, an upstream incident, replies of unknown shape, webhook
deliveries waiting, and the tasks in flight. ``status`` is ``ok``, ``degraded`` (serving, but
something needs a look) or ``down`` (nothing can be served).
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter

from aiohttp import web

from gateway import keys
from gateway.admin.render import json_response
from gateway.pool.policy import SERVING
from gateway.pool.records import AccountView


def _transports(views: list[AccountView]) -> dict[str, dict[str, object]]:
    """Accounts per transport kind: how many serve, by state, and the commonest reasons not to."""
    out: dict[str, dict[str, object]] = {}
    for kind in sorted({v.kind for v in views}):
        mine = [v for v in views if v.kind == kind]
        reasons = Counter(v.reason for v in mine if v.state not in SERVING and v.reason)
        out[kind] = {
            "accounts": len(mine),
            "serving": sum(1 for v in mine if v.state in SERVING),
            "states": dict(Counter(v.state for v in mine)),
            "reasons": dict(reasons.most_common(5)),
        }
    return out


async def health(request: web.Request) -> web.Response:
    """``GET /admin/health``."""
    app, now = request.app, time.time()
    store_ok = await app[keys.STORE].ping()
    pool = app[keys.POOL]
    views = pool.table.snapshot()
    transports = _transports(views)
    serving = sum(1 for v in views if v.state in SERVING)
    solver = app[keys.SOLVER].health() if keys.SOLVER in app else None
    incident = pool.table.incident
    mismatches = app[keys.CANARY].report()
    problems = []
    if solver is not None and solver.state == "failing":
        problems.append("captcha solver failing")
    if incident.active(now):
        problems.append("upstream incident")
    if mismatches:
        problems.append("upstream replies of unknown shape")
    problems += [f"{kind}: no account serving" for kind, t in transports.items() if t["serving"] == 0]
    status = "down" if not store_ok or serving == 0 else ("degraded" if problems else "ok")
    engine = app[keys.TASKS]
    return json_response(
        {
            "status": status,
            "problems": problems,
            "store": {"ok": store_ok},
            "transports": transports,
            "captcha": dataclasses.asdict(solver) if solver is not None else None,
            "workers": app[keys.WORKERS].totals(),
            "upstream_incident": (
                {"since": incident.since, "until": incident.until, "accounts_failing": len(incident.failing)}
                if incident.active(now)
                else None
            ),
            "shape_mismatches": len(mismatches),
            "webhooks": {"backlog": await app[keys.STORE].outbox_backlog()},
            "tasks": {
                "running": engine.running,
                "by_stage": {f"{k}:{s}": n for (k, s), n in sorted(engine.live_counts().items())},
            },
        }
    )
