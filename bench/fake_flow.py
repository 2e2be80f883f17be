"""A lightweight fake of Flow's REST hosts, its CDN and a captcha solver, for benchmarks.

Unlike the simulator (``gateway.simulator``), which checks every request the way Flow would, this
fake does next to nothing per request so that its own CPU does not hide the gateway's: every answer
is a body rendered at start (or a few bytes formatted around a counter), the captcha is solved at
once, and the images and the mp4 are rendered once. It speaks the routes and shapes of the REST
transport (``gateway/upstream/flow/rest_client.py``, ``rest.py``, ``rest_schemas.py``,
``rest_video_schemas.py``, ``gateway/captcha/anticaptcha.py``). Every call is counted by route:
``GET /_bench/stats``. ``POST /_bench/config`` switches the image size (``big``: a ~1 MB JPEG, whose
base64 is about 1.3 MB) and how long a video takes (``video_seconds``).

``python -m bench.fake_flow --port N`` serves it on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import inspect
import io
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from PIL import Image

from gateway.simulator.render import build_mp4, render_jpeg

TIER = "PAYGATE_TIER_TWO"
PROJECT = "bench-project"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/149.0 Safari/537.36"
BIG_BYTES = 975_000  # its base64 is about 1.3 MB (M4b)
RING = 4096  # distinct image names served in turn (a name is not reused for a while)
SIGNED = "Expires=4102444800&Signature=AbCdEf0123456789"
PENDING = "MEDIA_GENERATION_STATUS_PENDING"
ACTIVE = "MEDIA_GENERATION_STATUS_ACTIVE"
DONE = "MEDIA_GENERATION_STATUS_SUCCESSFUL"
JSON_HEADERS = {"Content-Type": "application/json"}


def noise_jpeg(side: int) -> bytes:
    """A square JPEG of noise (noise does not compress: its size follows its area)."""
    rng = random.Random(7)
    buf = io.BytesIO()
    Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def big_jpeg(target: int = BIG_BYTES) -> bytes:
    """A JPEG of a little more than ``target`` bytes: sized from one trial, then grown in small steps."""
    per_pixel = len(noise_jpeg(256)) / 256**2
    side = int((target / per_pixel) ** 0.5) - 16
    while len(data := noise_jpeg(side)) < target:
        side += 8
    return data


class Fake:
    """The fake's state: counters, video deadlines, and everything rendered at start."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.calls: Counter[str] = Counter()
        self.video_seconds = 3600.0
        self.big = False
        self.videos: dict[str, float] = {}  # media name -> when it finishes (monotonic)
        self.serial = 0
        self.turn = 0
        self.small_image = render_jpeg((64, 64), prompt="bench", seed=1)
        self.large_image = big_jpeg()
        self.mp4 = build_mp4([render_jpeg((64, 36), prompt="bench", seed=i) for i in range(2)], (64, 36), 4.0)
        self.image_replies = {size: self._image_ring(size) for size in ("small", "big")}
        self.session = orjson.dumps(
            {
                "user": {"name": "bench", "email": "bench@bench.invalid", "image": ""},
                "expires": "2099-01-01T00:00:00.000Z",
                "access_token": "ya29.bench-access-token",
            }
        )
        self.credits = orjson.dumps({"credits": 10**9, "userPaygateTier": TIER})
        self.project = orjson.dumps(
            {"result": {"data": {"json": {"result": {"projectId": PROJECT}, "status": 200}}}}
        )
        self.task = orjson.dumps({"errorId": 0, "taskId": "1"})
        self.solution = orjson.dumps(
            {
                "errorId": 0,
                "status": "ready",
                "solution": {"gRecaptchaResponse": "bench-token", "userAgent": UA},
            }
        )

    def _image_ring(self, size: str) -> list[bytes]:
        """Generation replies naming images ``bench-<size>-<i>`` (signed-looking URLs on this fake)."""
        replies = []
        for i in range(RING):
            name = f"bench-{size}-{i}"
            url = f"{self.origin}/image/{size}/{name}?{SIGNED}"
            media = {"name": name, "projectId": PROJECT, "image": {"generatedImage": {"fifeUrl": url}}}
            replies.append(
                orjson.dumps({"media": [media], "workflows": [{"name": name, "projectId": PROJECT}]})
            )
        return replies

    def status_entry(self, name: str, now: float) -> dict[str, Any]:
        """One job's entry in a status reply: pending, running, or done once its time is up."""
        done_at = self.videos.get(name)
        if done_at is None:
            state = PENDING
        elif now < done_at:
            state = ACTIVE
        else:
            return {
                "name": name,
                "mediaMetadata": {"mediaStatus": {"mediaGenerationStatus": DONE}},
                "video": {"generatedVideo": {"model": "veo"}, "operation": {"name": name}},
                "mediaBlobSize": len(self.mp4),
            }
        return {"name": name, "mediaMetadata": {"mediaStatus": {"mediaGenerationStatus": state}}}


FAKE: web.AppKey[Fake] = web.AppKey("fake", Fake)


def reply(body: bytes, status: int = 200) -> web.Response:
    """A JSON answer from bytes already rendered."""
    return web.Response(body=body, status=status, headers=JSON_HEADERS)


Answer = Callable[[Fake, web.Request], web.Response | Awaitable[web.Response]]


def counted(route: str, answer: Answer) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler that counts its route, then answers with ``answer(fake, request)``."""

    async def handler(request: web.Request) -> web.Response:
        fake = request.app[FAKE]
        fake.calls[route] += 1
        result = answer(fake, request)
        return await result if inspect.isawaitable(result) else result

    return handler


def generate_images(fake: Fake, _: web.Request) -> web.Response:
    """``flowMedia:batchGenerateImages``: the next pre-rendered reply of the ring."""
    fake.turn = (fake.turn + 1) % RING
    return reply(fake.image_replies["big" if fake.big else "small"][fake.turn])


def image(fake: Fake, request: web.Request) -> web.Response:
    """The CDN: the small or the big JPEG, whatever the name."""
    data = fake.large_image if request.match_info["size"] == "big" else fake.small_image
    return web.Response(body=data, content_type="image/jpeg")


def submit_video(fake: Fake, _: web.Request) -> web.Response:
    """``video:batchAsyncGenerateVideo<Method>``: a new job that finishes in ``video_seconds``."""
    fake.serial += 1
    name = f"bench-video-{fake.serial}"
    fake.videos[name] = time.monotonic() + fake.video_seconds
    entry = {"name": name, "mediaMetadata": {"mediaStatus": {"mediaGenerationStatus": PENDING}}}
    return reply(orjson.dumps({"remainingCredits": 10**9, "media": [entry]}))


async def video_status(fake: Fake, request: web.Request) -> web.Response:
    """``video:batchCheckAsyncVideoGenerationStatus``: each asked-for job's state."""
    wanted = orjson.loads(await request.read()).get("media") or []
    now = time.monotonic()
    return reply(orjson.dumps({"media": [fake.status_entry(str(m.get("name")), now) for m in wanted]}))


def media_redirect(fake: Fake, request: web.Request) -> web.Response:
    """``media.getMediaUrlRedirect``: 302 to the mp4, or to the poster (the small JPEG)."""
    name = request.query.get("name", "")
    if time.monotonic() < fake.videos.get(name, float("inf")):
        return reply(b'{"error":{"code":404,"status":"NOT_FOUND","message":"not ready"}}', 404)
    kind = "video" if request.query.get("mediaUrlType") == "MEDIA_URL_TYPE_FULL_MEDIA" else "image/small"
    return web.Response(status=302, headers={"Location": f"{fake.origin}/{kind}/{name}?{SIGNED}"})


async def configure(request: web.Request) -> web.Response:
    """``POST /_bench/config``: ``{"big": bool, "video_seconds": float}`` (either may be left out)."""
    fake = request.app[FAKE]
    doc = orjson.loads(await request.read())
    fake.big = bool(doc.get("big", fake.big))
    fake.video_seconds = float(doc.get("video_seconds", fake.video_seconds))
    return reply(b"{}")


async def stats(request: web.Request) -> web.Response:
    """``GET /_bench/stats``: calls by route since start."""
    return reply(orjson.dumps(dict(request.app[FAKE].calls)))


async def unknown(request: web.Request) -> web.Response:
    """Anything else: counted (the stats show what the fake lacks) and 404."""
    request.app[FAKE].calls[f"unknown {request.method} {request.path}"] += 1
    return reply(b'{"error":{"code":404,"status":"NOT_FOUND","message":"no such route"}}', 404)


ROUTES = (
    ("GET", "/fx/api/auth/session", "auth.session", lambda f, _: reply(f.session)),
    ("POST", "/fx/api/trpc/project.createProject", "project.create", lambda f, _: reply(f.project)),
    ("GET", "/fx/api/trpc/media.getMediaUrlRedirect", "media.redirect", media_redirect),
    ("GET", "/v1/credits", "credits", lambda f, _: reply(f.credits)),
    ("POST", "/v1/projects/{pid}/flowMedia:batchGenerateImages", "images.generate", generate_images),
    ("POST", "/v1/video:batchAsyncGenerateVideo{method}", "video.submit", submit_video),
    ("POST", "/v1/video:batchCheckAsyncVideoGenerationStatus", "video.status", video_status),
    ("POST", "/captcha/createTask", "captcha.create", lambda f, _: reply(f.task)),
    ("POST", "/captcha/getTaskResult", "captcha.result", lambda f, _: reply(f.solution)),
    ("GET", "/image/{size}/{name}", "cdn.image", image),
    ("GET", "/video/{name}", "cdn.video", lambda f, _: web.Response(body=f.mp4, content_type="video/mp4")),
)


def create_app(origin: str) -> web.Application:
    """The fake's application; ``origin`` is its own base URL (for the URLs it hands out)."""
    app = web.Application()
    app[FAKE] = Fake(origin)
    for method, path, route, answer in ROUTES:
        app.router.add_route(method, path, counted(route, answer))
    app.router.add_post("/_bench/config", configure)
    app.router.add_get("/_bench/stats", stats)
    app.router.add_route("*", "/{tail:.*}", unknown)
    return app


def main() -> None:
    """Serve the fake on 127.0.0.1 (uvloop when installed)."""
    parser = argparse.ArgumentParser(prog="python -m bench.fake_flow")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = create_app(f"http://127.0.0.1:{args.port}")
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None, loop=new_loop())


def new_loop() -> Any:
    """uvloop's loop when installed (as the gateway's ``event_loop = "auto"``), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        import asyncio

        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


if __name__ == "__main__":
    main()
