"""flow.google.com pages: a project page carrying ``WIZ_global_data`` and a fake ``grecaptcha.enterprise``.

Signed-out visitors land on ``/about``; a project the account does not own on ``/404?reason=project``
(flow-migration.md §1.3). The fake reCAPTCHA mints through ``/recaptcha/enterprise/mint`` on this
origin, bound to the signed-in account, the action (IMAGE_GENERATION, VIDEO_GENERATION, or
UPLOAD_IMAGE, the other reading of an upload's action) and the browser's user agent, single use.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from gateway.simulator.call import Call, Route
from gateway.simulator.captcha import SITE_KEY
from gateway.simulator.errors import GoogleError, json_reply
from gateway.simulator.state import ACTIONS

BUILD_LABEL = "boq_labs-ai-sandbox-frontend_20261101.00_p0"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Flow</title>
<script>window.WIZ_global_data = {wiz};</script>
<script>
window.grecaptcha = {{enterprise: {{
  ready: function (cb) {{ cb(); }},
  execute: async function (siteKey, options) {{
    const reply = await fetch("/recaptcha/enterprise/mint", {{
      method: "POST", credentials: "include", headers: {{"content-type": "application/json"}},
      body: JSON.stringify({{siteKey: siteKey, action: options && options.action}})}});
    if (!reply.ok) {{ throw new Error("reCAPTCHA mint failed: " + reply.status); }}
    return (await reply.json()).token;
  }}
}}}};
</script></head>
<body><main id="flow" data-project="{project}">Flow project {project}</main></body></html>
"""


async def project_page(call: Call) -> web.StreamResponse:
    """``/project/{id}``: the signed-in editor shell."""
    if call.account is None:
        return web.Response(status=302, headers={"Location": "/about"})
    project_id = call.request.match_info["project_id"]
    if project_id not in call.account.projects:
        return web.Response(status=302, headers={"Location": "/404?reason=project"})
    at, sid = call.world.page_session(call.account)
    wiz = {
        "SNlM0e": at,
        "FdrFJe": sid,
        "cfb2h": BUILD_LABEL,
        "S06Grb": str(abs(hash(call.account.spec.email))),
        "oPEP7c": call.account.spec.email,
        "xZbWve": SITE_KEY,
    }
    html = PAGE.format(wiz=orjson.dumps(wiz).decode(), project=project_id)
    return web.Response(text=html, content_type="text/html")


async def about(call: Call) -> web.StreamResponse:
    """The landing page of signed-out visitors (no ``at`` in it)."""
    wiz = {"SNlM0e": "", "FdrFJe": "", "cfb2h": BUILD_LABEL, "S06Grb": ""}
    del call
    return web.Response(
        text=PAGE.format(wiz=orjson.dumps(wiz).decode(), project=""), content_type="text/html"
    )


async def mint(call: Call) -> web.StreamResponse:
    """The fake reCAPTCHA backend the page's ``execute`` calls."""
    if call.account is None:
        raise GoogleError(401, "UNAUTHENTICATED", "not signed in")
    body = await call.body()
    if body.get("siteKey") != SITE_KEY or body.get("action") not in ACTIONS:
        raise GoogleError(400, "INVALID_ARGUMENT", "bad site key or action")
    token = call.world.mint_token(
        str(body["action"]), call.user_agent(), owner=call.account.spec.session_token
    )
    return json_reply({"token": token})


ROUTES = (
    Route("GET", "/project/{project_id}", "page.project", "google", project_page),
    Route("GET", "/about", "page.about", "none", about),
    Route("POST", "/recaptcha/enterprise/mint", "recaptcha.mint", "google", mint),
)
