"""A request's admission against its licence: the gate handed to the services, and the admission of
a synchronous image order (which has no task to carry it), with the ``usage`` its response reports.

Flow bills credits, not tokens, so a response's ``usage`` carries the Flow credits the request
spent (``flow_credits``, an extension field SDKs keep) and token counts of 0: nothing was counted in
tokens, and inventing a count from text lengths would bill and chart something that never happened.
"""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from gateway import keys
from gateway.service.images import ImageOrder
from gateway.service.quota.gate import Admission
from gateway.service.quota.quota import LicenceGate


def gate_of(request: web.Request) -> LicenceGate:
    """The gate the services admit this request's generations through."""
    return request.app[keys.QUOTA].gate(request[keys.LICENCE])


async def admit_images(request: web.Request, order: ImageOrder) -> tuple[ImageOrder, Admission]:
    """Admit a synchronous image order (before anything is fetched or sent); the order to run, with
    the licence's account groups and priority applied."""
    spec = request.app[keys.IMAGES].resolve(order)
    admission = await request.app[keys.QUOTA].admit_request(request[keys.LICENCE], spec, count=order.n)
    return replace(order, groups=admission.groups, priority=admission.priority), admission


def images_usage(credits: int) -> dict[str, object]:
    """An ``ImagesResponse``'s ``usage``: the credits spent; no tokens were counted."""
    details = {"image_tokens": 0, "text_tokens": 0}
    return {
        "input_tokens": 0,
        "input_tokens_details": details,
        "output_tokens": 0,
        "total_tokens": 0,
        "flow_credits": credits,
    }


def chat_usage(credits: int) -> dict[str, object]:
    """A chat completion's ``usage`` (the same in the final streamed chunk): the credits spent."""
    return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "flow_credits": credits}
