"""The physical reference: a bare aiohttp handler answering a JSON body of a requested size.

``GET`` or ``POST /ref/{size}`` answers ``{"pad": "xxx…"}`` of exactly ``size`` bytes (a POST's body
is read first, as any handler must). Bodies are rendered once per size. It runs on the gateway's
core, with the same event loop, so ``gateway req/s ÷ reference req/s`` is the share of the core's
HTTP capacity the gateway keeps: what the bars are stated in.

``python -m bench.reference --port N`` serves it on 127.0.0.1.
"""

from __future__ import annotations

import argparse

from aiohttp import web

from bench.fake_flow import new_loop

BODIES: dict[int, bytes] = {}
HEADERS = {"Content-Type": "application/json"}


def body_of(size: int) -> bytes:
    """A JSON document of exactly ``size`` bytes (at least the 10 of its frame)."""
    body = BODIES.get(size)
    if body is None:
        body = BODIES[size] = b'{"pad":"' + b"x" * max(0, size - 10) + b'"}'
    return body


async def sized(request: web.Request) -> web.Response:
    """The reference handler."""
    if request.body_exists:
        await request.read()
    return web.Response(body=body_of(int(request.match_info["size"])), headers=HEADERS)


def create_app() -> web.Application:
    """The reference application."""
    app = web.Application()
    app.router.add_route("*", "/ref/{size:\\d+}", sized)
    return app


def main() -> None:
    """Serve the reference on 127.0.0.1."""
    parser = argparse.ArgumentParser(prog="python -m bench.reference")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(create_app(), host="127.0.0.1", port=args.port, print=None, access_log=None, loop=new_loop())


if __name__ == "__main__":
    main()
