"""A fake reCAPTCHA solver speaking the anti-captcha protocol (createTask / getTaskResult).

Its tokens are the only ones the fake Flow accepts: single use, bound to the action and to the
user agent it returns with the solution. Error codes are anti-captcha's (``ERROR_KEY_DOES_NOT_EXIST``,
``ERROR_TASK_NOT_SUPPORTED``, ``ERROR_WRONG_GOOGLEKEY``, ``ERROR_BAD_PARAMETERS``,
``ERROR_NO_SUCH_CAPCHA_ID``). Faults on ``captcha.create``/``captcha.result`` of the kinds a solver
has words for answer in its protocol (``rate_limited`` → ``ERROR_NO_SLOT_AVAILABLE``, ``quota`` →
``ERROR_ZERO_BALANCE``, ``recaptcha``/``unsafe`` → ``ERROR_CAPTCHA_UNSOLVABLE``); the others are
HTTP-level failures as on Flow's hosts.
"""

from __future__ import annotations

import secrets
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
SOLVER_FAULTS = {
    "rate_limited": ("ERROR_NO_SLOT_AVAILABLE", "No idle workers are available at the moment"),
    "quota": ("ERROR_ZERO_BALANCE", "Account has zero or negative balance"),
    "recaptcha": ("ERROR_CAPTCHA_UNSOLVABLE", "Captcha could not be solved"),
    "unsafe": ("ERROR_CAPTCHA_UNSOLVABLE", "Captcha could not be solved"),
}


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
    if not isinstance(task.get("userAgent", ""), str):
        return "ERROR_BAD_PARAMETERS", "userAgent must be a string"
    score = task.get("minScore", 0.5)
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0.1 <= score <= 0.9:
        return "ERROR_BAD_PARAMETERS", "minScore must be a number between 0.1 and 0.9"
    return None


async def create_task(call: Call) -> web.StreamResponse:
    """``POST /captcha/createTask``."""
    if call.fault_kind in SOLVER_FAULTS:
        return _error(*SOLVER_FAULTS[call.fault_kind])
    body = await call.body()
    if body.get("clientKey") != call.world.config.captcha_client_key:
        return _error("ERROR_KEY_DOES_NOT_EXIST", "Account authorization key not found in the system")
    problem = _task_problem(body.get("task"))
    if problem is not None:
        return _error(*problem)
    task = body["task"]
    task_id = secrets.token_hex(8)
    call.world.tasks[task_id] = (task["pageAction"], task.get("userAgent") or DEFAULT_UA, call.world.now())
    return json_reply({"errorId": 0, "taskId": task_id})


async def task_result(call: Call) -> web.StreamResponse:
    """``POST /captcha/getTaskResult``: processing until the solve delay passed, then the token.

    A solved task answers the same solution to every later poll (as solver services do).
    """
    if call.fault_kind in SOLVER_FAULTS:
        return _error(*SOLVER_FAULTS[call.fault_kind])
    body = await call.body()
    if body.get("clientKey") != call.world.config.captcha_client_key:
        return _error("ERROR_KEY_DOES_NOT_EXIST", "Account authorization key not found in the system")
    task_id = str(body.get("taskId"))
    task = call.world.tasks.get(task_id)
    if task is None:
        return _error("ERROR_NO_SUCH_CAPCHA_ID", "Task not found")
    action, user_agent, created = task
    if call.world.now() - created < call.world.config.captcha_delay:
        return json_reply({"errorId": 0, "status": "processing"})
    token = call.world.solved.get(task_id) or call.world.mint_token(action, user_agent)
    call.world.solved[task_id] = token
    return json_reply(
        {"errorId": 0, "status": "ready", "solution": {"gRecaptchaResponse": token, "userAgent": user_agent}}
    )


ROUTES = (
    Route(
        "POST", "/captcha/createTask", "captcha.create", "none", create_task, own_faults=tuple(SOLVER_FAULTS)
    ),
    Route(
        "POST",
        "/captcha/getTaskResult",
        "captcha.result",
        "none",
        task_result,
        own_faults=tuple(SOLVER_FAULTS),
    ),
)
