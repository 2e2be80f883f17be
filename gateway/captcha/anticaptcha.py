"""Adapter for the anti-captcha task protocol (YesCaptcha, CapSolver, CapMonster, EzCaptcha).

``createTask`` then ``getTaskResult`` until ready (flow-protocol.md §10). One token per call:
tokens are single-use and short-lived, so nothing is cached or pre-minted here. The solver's
``userAgent`` is returned with the token because Flow scores the submit against it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson

from gateway.config import CaptchaSettings
from gateway.domain import CaptchaAction, CaptchaFailedError, CaptchaToken, Secret
from gateway.obs.metrics import GatewayMetrics

NO_SLOT_ERRORS = frozenset({"ERROR_NO_SLOT_AVAILABLE", "ERROR_NO_SLOT_AVAILABLE_BLOCK"})
MAX_CREATE_ATTEMPTS = 5


class AntiCaptchaProvider:
    """Mints reCAPTCHA Enterprise v3 tokens through an anti-captcha-protocol service."""

    name = "anticaptcha"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: CaptchaSettings,
        *,
        metrics: GatewayMetrics | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self._session = session
        self._settings = settings
        self._metrics = metrics
        self._sleep = sleep
        self._base = settings.base_url.rstrip("/")

    async def solve(self, *, action: CaptchaAction, website_url: str) -> CaptchaToken:
        """Create a task, poll it, return the token and the solver's user agent."""
        started = time.monotonic()
        outcome = "error"
        try:
            async with asyncio.timeout(self._settings.timeout):
                task_id = await self._create(action, website_url)
                token = await self._wait(task_id)
        except TimeoutError:
            outcome = "timeout"
            raise CaptchaFailedError(f"solver gave no token within {self._settings.timeout:g}s") from None
        else:
            outcome = "ok"
            return token
        finally:
            if self._metrics is not None:
                self._metrics.observe_captcha(self.name, outcome, time.monotonic() - started)

    async def _create(self, action: CaptchaAction, website_url: str) -> str:
        task: dict[str, Any] = {
            "type": self._settings.task_type,
            "websiteURL": website_url,
            "websiteKey": self._settings.website_key,
            "pageAction": action.value,
        }
        if self._settings.min_score is not None:
            task["minScore"] = self._settings.min_score
        for attempt in range(MAX_CREATE_ATTEMPTS):
            doc = await self._post("createTask", {"clientKey": self._settings.client_key, "task": task})
            code = doc.get("errorCode")
            if not doc.get("errorId") and doc.get("taskId") is not None:
                return str(doc["taskId"])
            if code in NO_SLOT_ERRORS and attempt + 1 < MAX_CREATE_ATTEMPTS:
                await self._sleep(min(20.0, 3.0 * (attempt + 1)))
                continue
            raise CaptchaFailedError(f"solver refused the task: {code or 'no task id'}")
        raise CaptchaFailedError("solver had no free slot")

    async def _wait(self, task_id: str) -> CaptchaToken:
        body = {"clientKey": self._settings.client_key, "taskId": task_id}
        while True:
            doc = await self._post("getTaskResult", body)
            if doc.get("errorId"):
                raise CaptchaFailedError(f"solver failed the task: {doc.get('errorCode') or 'unknown error'}")
            if doc.get("status") == "ready":
                return _token_from(doc)
            await self._sleep(self._settings.poll_interval)

    async def _post(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with self._session.post(
                f"{self._base}/{method}",
                data=orjson.dumps(body),
                headers={"Content-Type": "application/json"},
            ) as resp:
                raw = await resp.read()
                if resp.status >= 400:
                    raise CaptchaFailedError(f"solver answered HTTP {resp.status}")
        except aiohttp.ClientError as exc:
            raise CaptchaFailedError(f"solver unreachable: {type(exc).__name__}") from exc
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise CaptchaFailedError("solver answered non-JSON") from None
        if not isinstance(doc, dict):
            raise CaptchaFailedError("solver answered an unexpected shape")
        return doc


def _token_from(doc: dict[str, Any]) -> CaptchaToken:
    solution = doc.get("solution")
    token = solution.get("gRecaptchaResponse") if isinstance(solution, dict) else None
    if not isinstance(token, str) or not token:
        raise CaptchaFailedError("solver reported ready without a token")
    user_agent = solution.get("userAgent") if isinstance(solution, dict) else None
    return CaptchaToken(Secret(token), user_agent if isinstance(user_agent, str) and user_agent else None)
