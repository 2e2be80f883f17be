"""The webhook extension of the public API: where a request's task is reported when it ends.

A client names a URL with ``webhook_url`` in the body (the OpenAI SDK sends it through
``extra_body``) or the ``x-flow-webhook-url`` header, on the routes that create a task: videos and
asynchronous images. It is checked at once (form, then the address its host resolves to: the SSRF
rules of image URLs) so a bad one is a 400 naming ``webhook_url``, and kept in the task's order.
A synchronous request has nothing to notify about: naming a URL there is a 400 too (nothing is
silently ignored). What a webhook sends is ``task_events``' business.
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.api.forms import Form
from gateway.api.render import public_base
from gateway.errors import InvalidRequestError
from gateway.service.webhook_urls import CODE, PARAM
from gateway.service.webhooks import WEBHOOK_URL

WEBHOOK_HEADER = "x-flow-webhook-url"
PUBLIC_BASE = "public_base"  # order key: the origin an image task's webhook builds its URLs on


def _named(request: web.Request, form: Form) -> str | None:
    """The URL the request names (the body's field wins over the header), or None."""
    value: object = None
    if form.json is not None:
        value = form.json.get(PARAM)
    elif PARAM in form.fields:
        value = form.fields[PARAM][0]
    if value is None:
        value = request.headers.get(WEBHOOK_HEADER)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError("webhook_url must be a non-empty URL string", param=PARAM, code=CODE)
    return value.strip()


async def webhook_url_of(request: web.Request, form: Form) -> str:
    """The request's webhook URL once checked (400 ``invalid_webhook_url``); "" when it names none,
    so that the licence's ``webhook_url`` applies."""
    named = _named(request, form)
    return await request.app[keys.WEBHOOKS].check_url(named) if named else ""


async def image_task_webhook(request: web.Request, form: Form) -> dict[str, str]:
    """The order keys of an asynchronous image task: its webhook URL ("" for the licence's), and
    the public origin its images' URLs are built on when the webhook is sent."""
    return {WEBHOOK_URL: await webhook_url_of(request, form), PUBLIC_BASE: public_base(request)}


def refuse_webhook_url(request: web.Request, form: Form) -> None:
    """A synchronous request that names a webhook: 400 (its answer is the result)."""
    if _named(request, form) is not None:
        raise InvalidRequestError(
            'webhook_url applies to asynchronous requests ("async": true); this one answers with its result',
            param=PARAM,
            code=CODE,
        )
