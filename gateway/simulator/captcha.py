"""A fake reCAPTCHA solver speaking the anti-captcha protocol (createTask / getTaskResult).

Its tokens are the only ones the fake Flow accepts: single use, bound to the action and to the
user agent it returns with the solution.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from aiohttp import web

from gateway.simulator.call import Call, Route
from gateway.simulator.config import DEFAULT_UA
from gateway.simulator.errors import json_reply

SITE_KEY = "6LdsFiUsAAAAAIjVDZcuLhaHiDn5nnHVXVRQGeMV"
TASK_TYPES = {
    "RecaptchaV3TaskProxylessM1S9",
    "RecaptchaV3TaskProxylessM1S7",
    "RecaptchaV3TaskProxylessM1",
    "RecaptchaV3TaskProxyless",
    "ReCaptchaV3TaskProxylessS9",
    "ReCaptchaV3EnterpriseTaskProxyLess",
    "ReCaptchaV3EnterpriseTask",
}
WEBSITE_PREFIX = "https://labs.google/fx/tools/flow/project/"


def _error(code: str, description: str) -> web.StreamResponse:
    return json_reply({"errorId": 1, "errorCode": code, "errorDescription": description})


def _task_problem(task: Any) -> tuple[str, str] | None:
    if not isinstance(task, dict):
        return "ERROR_TASK_ABSENT", "task is required"
    if task.get("type") not in TASK_TYPES:
        return "ERROR_TASK_NOT_SUPPORTED", "unknown task type"
    if task.get("websiteKey") != SITE_KEY:
        return "ERROR_WRONG_GOOGLEKEY", "websiteKey is not this site's key"
    if task.get("pageAction") not in ("IMAGE_GENERATION", "VIDEO_GENERATION"):
        return "ERROR_BAD_PARAMETERS", "pageAction must be IMAGE_GENERATION or VIDEO_GENERATION"
    if not str(task.get("websiteURL", "")).startswith(WEBSITE_PREFIX):
        return "ERROR_BAD_PARAMETERS", "websiteURL must be a Flow project page"
    return None


async def create_task(call: Call) -> web.StreamResponse:
    """``POST /captcha/createTask``."""
    body = await call.body()
    if body.get("clientKey") != call.world.config.captcha_client_key:
        return _error("ERROR_KEY_DOES_NOT_EXIST", "Account authorization key not found in the system")
    problem = _task_problem(body.get("task"))
    if problem is not None:
        return _error(*problem)
    task = body["task"]
    task_id = secrets.token_hex(8)
    call.world.tasks[task_id] = (task["pageAction"], task.get("userAgent") or DEFAULT_UA, time.time())
    return json_reply({"errorId": 0, "taskId": task_id})


async def task_result(call: Call) -> web.StreamResponse:
    """``POST /captcha/getTaskResult``: processing until the solve delay passed, then the token."""
    body = await call.body()
    if body.get("clientKey") != call.world.config.captcha_client_key:
        return _error("ERROR_KEY_DOES_NOT_EXIST", "Account authorization key not found in the system")
    task = call.world.tasks.get(str(body.get("taskId")))
    if task is None:
        return _error("ERROR_NO_SUCH_CAPCHA_ID", "Task not found")
    action, user_agent, created = task
    if time.time() - created < call.world.config.captcha_delay:
        return json_reply({"errorId": 0, "status": "processing"})
    del call.world.tasks[str(body["taskId"])]
    token = call.world.mint_token(action, user_agent)
    return json_reply(
        {"errorId": 0, "status": "ready", "solution": {"gRecaptchaResponse": token, "userAgent": user_agent}}
    )


ROUTES = (
    Route("POST", "/captcha/createTask", "captcha.create", "none", create_task),
    Route("POST", "/captcha/getTaskResult", "captcha.result", "none", task_result),
)
