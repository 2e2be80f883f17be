"""One batchexecute RPC through an account's browser worker: dispatch, check, decode.

The worker runs the call in its signed-in tab (minting the token there when the call needs one);
this module turns what comes back into the payload or the typed ``UpstreamError`` it stands for:
worker error codes, the HTTP status of the POST, the RPC's error frame. Every payload and error
status passes the drift canary on the way.
"""

from __future__ import annotations

from typing import Any

from gateway.config import BatchSettings
from gateway.domain import CaptchaAction
from gateway.upstream.flow import errors as up
from gateway.upstream.flow.batch import BatchCall, Reply, encode_freq, error_of, read_reply
from gateway.upstream.flow.batch_rpcs import project_path
from gateway.upstream.flow.canary import ShapeCanary
from gateway.upstream.flow.reasons import decode_status
from gateway.upstream.flow.workers import WorkerHub, result_body

# A worker's ``result.error.code`` (flow-migration.md §4.2) as a typed upstream error.
WORKER_ERRORS: dict[str, type[up.UpstreamError]] = {
    "NO_FLOW_TAB": up.UpstreamUnavailableError,
    "TAB_DISCARDED": up.UpstreamUnavailableError,
    "FETCH_FAILED": up.UpstreamConnectionLostError,  # the page's fetch may have reached Flow
    "SIGNED_OUT": up.UpstreamAuthError,
    "REAUTH_REQUIRED": up.UpstreamAuthError,
    "NO_AT_TOKEN": up.UpstreamAuthError,
    "CAPTCHA_FAILED": up.UpstreamCaptchaError,
    "CAPTCHA_TIMEOUT": up.UpstreamCaptchaError,
    "DEADLINE": up.UpstreamTimeoutError,
    "BAD_REQUEST": up.UpstreamInvalidRequestError,
}
# HTTP statuses of the batchexecute POST itself (§2.3): 401 stale cookies/at, 400 another account's triple.
HTTP_ERRORS: dict[int, type[up.UpstreamError]] = {
    400: up.UpstreamAuthError,
    401: up.UpstreamAuthError,
    403: up.UpstreamForbiddenError,
    429: up.UpstreamRateLimitedError,
}


class BatchCaller:
    """Runs RPCs for accounts through the workers of a ``WorkerHub``."""

    def __init__(self, hub: WorkerHub, settings: BatchSettings, *, canary: ShapeCanary | None = None) -> None:
        self._hub = hub
        self._settings = settings
        self._canary = canary

    async def run(  # noqa: PLR0913 - keyword-only facts about one call
        self,
        worker_key: str,
        rpcid: str,
        inner: object,
        *,
        project: str,
        action: CaptchaAction | None = None,
        submit: bool = False,
    ) -> object:
        """The RPC's payload; ``action`` None for reads (no token is minted), ``submit`` for an
        asynchronous video submit (whose ambiguous failures prove nothing was created)."""
        endpoint = f"batch.{rpcid}"
        call = BatchCall(
            rpcid, encode_freq(rpcid, inner), project_path(project), action, self._settings.call_timeout
        )
        try:
            reply = await self._call(worker_key, call, endpoint)
        except up.UpstreamCaptchaError:
            self._hub.note_captcha_refusal(worker_key)
            raise
        except up.UpstreamConnectionLostError as exc:
            if submit:  # the page's fetch broke after it went out: the job may exist
                raise up.UpstreamUnconfirmedError(str(exc), endpoint=endpoint) from exc
            raise
        if reply.failed:
            if self._canary is not None:
                self._canary.check_error(rpcid, reply.status, undecoded=decode_status(reply.status).undecoded)
            error = error_of(reply, endpoint=endpoint, submit=submit)
            if isinstance(error, up.UpstreamCaptchaError):
                self._hub.note_captcha_refusal(worker_key)
            raise error
        if self._canary is not None:
            self._canary.check_reply(rpcid, reply.payload)
        return reply.payload

    async def _call(self, worker_key: str, call: BatchCall, endpoint: str) -> Reply:
        result = await self._hub.call(worker_key, call)
        if not result.get("ok"):
            raise _worker_error(result.get("error"), endpoint)
        status, body = result_body(result, endpoint=endpoint)
        if status != 200:
            cls = HTTP_ERRORS.get(
                status, up.UpstreamUnavailableError if status >= 500 else up.UpstreamProtocolError
            )
            raise cls(f"{endpoint}: HTTP {status}", endpoint=endpoint)
        return read_reply(body, call.rpcid, endpoint=endpoint)


def _worker_error(error: Any, endpoint: str) -> up.UpstreamError:
    code = error.get("code") if isinstance(error, dict) else None
    cls = WORKER_ERRORS.get(str(code), up.UpstreamUnavailableError)
    return cls(f"{endpoint}: worker error {code}", endpoint=endpoint)
