"""The requests the scenarios send: to the gateway, to the bare reference, and straight to the fake.

The direct chain is what the gateway itself sends the fake for one ``url`` image (a captcha task,
its result, the generation, the download), with bodies of the same shapes and about the same sizes,
so that M1's "gateway minus direct" leaves only what the gateway adds.
"""

from __future__ import annotations

import orjson
import yarl

from bench.drivers import Req
from bench.fake_flow import PROJECT, SIGNED
from bench.procs import CAPTCHA_KEY, LICENCE, WRONG_KEY

JSON = (("Content-Type", "application/json"),)
PROMPT = "a red fox in fresh snow, morning light"


def gateway(base: str, method: str, path: str, body: object = None, *, key: str = LICENCE) -> Req:
    """A request to the gateway with a licence (or another key) and a JSON body."""
    headers = (
        (("Authorization", f"Bearer {key}"), *JSON)
        if body is not None
        else (("Authorization", f"Bearer {key}"),)
    )
    return Req(method, base + path, orjson.dumps(body) if body is not None else b"", headers)


def image(base: str, fmt: str = "url", *, key: str = LICENCE) -> Req:
    """``POST /v1/images/generations`` for one Nano Banana image."""
    body = {"model": "nano_banana", "prompt": PROMPT, "response_format": fmt}
    return gateway(base, "POST", "/v1/images/generations", body, key=key)


def chat(base: str, model: str, *, stream: bool) -> Req:
    """``POST /v1/chat/completions`` with an image or video model."""
    body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": PROMPT}]}
    return gateway(base, "POST", "/v1/chat/completions", body)


def models(base: str) -> Req:
    """``GET /v1/models``."""
    return gateway(base, "GET", "/v1/models")


def video(base: str) -> Req:
    """``POST /v1/videos``."""
    return gateway(base, "POST", "/v1/videos", {"model": "veo_3_1-fast", "prompt": PROMPT})


def video_get(base: str, video_id: str) -> Req:
    """``GET /v1/videos/{id}``."""
    return gateway(base, "GET", f"/v1/videos/{video_id}")


def reference(base: str, size: int, method: str = "GET", body: bytes = b"") -> Req:
    """The bare handler answering ``size`` bytes (a POST sends ``body``, as the gateway's request)."""
    return Req(method, f"{base}/ref/{size}", body, JSON if body else ())


# What the gateway sends for one image, in shape and size (gateway/captcha/anticaptcha.py,
# gateway/upstream/flow/rest_schemas.py).
CAPTCHA_TASK = {
    "clientKey": CAPTCHA_KEY,
    "task": {
        "type": "RecaptchaV3TaskProxylessM1S9",
        "websiteURL": f"https://labs.google/fx/tools/flow/project/{PROJECT}",
        "websiteKey": "6LdsFiUsAAAAAIjVDZcuLhaHiDn5nnHVXVRQGeMV",
        "pageAction": "IMAGE_GENERATION",
    },
}
CONTEXT = {
    "recaptchaContext": {"token": "bench-token", "applicationType": "RECAPTCHA_APPLICATION_TYPE_WEB"},
    "sessionId": ";1764633600000",
    "projectId": PROJECT,
    "tool": "PINHOLE",
}
GENERATE = {
    "clientContext": CONTEXT,
    "mediaGenerationContext": {"batchId": "b" * 36},
    "useNewMedia": True,
    "requests": [
        {
            "clientContext": CONTEXT,
            "seed": 12345,
            "imageModelName": "NARWHAL",
            "imageAspectRatio": "IMAGE_ASPECT_RATIO_PORTRAIT",
            "structuredPrompt": {"parts": [{"text": PROMPT}]},
            "imageInputs": [],
        }
    ],
}


def direct_chain(fake: str) -> list[Req]:
    """The four calls the gateway makes to the fake for one ``url`` image, made directly."""
    bearer = (("Authorization", "Bearer ya29.bench-access-token"), *JSON)
    result = {"clientKey": CAPTCHA_KEY, "taskId": "1"}
    generate = f"{fake}/v1/projects/{PROJECT}/flowMedia:batchGenerateImages"
    return [
        Req("POST", f"{fake}/captcha/createTask", orjson.dumps(CAPTCHA_TASK), JSON),
        Req("POST", f"{fake}/captcha/getTaskResult", orjson.dumps(result), JSON),
        Req("POST", generate, orjson.dumps(GENERATE), bearer),
        Req("GET", str(yarl.URL(f"{fake}/image/small/bench-small-1?{SIGNED}", encoded=True))),
    ]


def wrong_key_flood(base: str) -> Req:
    """An image request with a key no licence has (M10)."""
    return image(base, key=WRONG_KEY)
