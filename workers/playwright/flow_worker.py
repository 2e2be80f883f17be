"""Reference browser worker: a persistent Chromium profile, signed in to Google, serving one Flow account.

It opens the account's flow.google.com project tab, connects to the gateway's worker socket, says
hello, and runs every call in that tab through the page function it shares with the extension
(``workers/extension/page/flow_call.js``): the token is minted by the page's own reCAPTCHA and the
request carries the page's cookies. Needs
``pip install playwright aiohttp`` and a Chromium (``--chromium /usr/bin/chromium``; no browser
download is needed). First run: ``--headed`` and sign in to Google in the window that opens.

    python workers/playwright/flow_worker.py --gateway ws://127.0.0.1:8000/flow/v1/flow-worker \\
        --secret "$WORKER_SECRET" --profile ~/.flow-worker/main --account main --project <project id> \\
        --chromium /usr/bin/chromium --tier ultra
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import BrowserContext, Page, async_playwright

PAGE_FUNCTION = (Path(__file__).resolve().parents[1] / "extension" / "page" / "flow_call.js").read_text()
CHROMIUM_FLAGS = [
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
log = logging.getLogger("flow_worker")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gateway", required=True, help="ws(s)://HOST:PORT/flow/v1/flow-worker")
    parser.add_argument(
        "--secret", required=True, help="its enrolment token (fwe_..., from the console) or [workers] secret"
    )
    parser.add_argument("--profile", required=True, help="a persistent Chromium profile directory")
    parser.add_argument("--account", required=True, help="the account key announced to the gateway")
    parser.add_argument("--project", required=True, help="the Flow project id the tab opens")
    parser.add_argument("--tier", default="", help="free | pro | ultra (else the gateway's default)")
    parser.add_argument("--groups", default="", help="comma-separated account groups, e.g. browser,ultra")
    parser.add_argument("--flow-origin", default="https://flow.google.com")
    parser.add_argument("--chromium", default="", help="path of the browser (default: Playwright's)")
    parser.add_argument("--cookies", default="", help="a JSON file of cookies to add to the profile first")
    parser.add_argument("--headed", action="store_true", help="show the window (needed to sign in)")
    parser.add_argument(
        "--no-sandbox", action="store_true", help="Chromium's --no-sandbox (root in a container)"
    )
    return parser.parse_args(argv)


async def open_tab(context: BrowserContext, args: argparse.Namespace) -> Page:
    """The project tab, with the page function installed on every load."""
    await context.add_init_script(PAGE_FUNCTION)
    page = context.pages[0] if context.pages else await context.new_page()
    await page.goto(f"{args.flow_origin}/project/{args.project}", wait_until="domcontentloaded")
    return page


async def run_call(page: Page, message: dict[str, Any]) -> dict[str, Any]:
    """One ``call`` (``batchexecute`` or ``probe``) in the tab; a ``result`` message."""
    try:
        if message.get("op") == "probe":
            result = {"ok": True, "probe": await page.evaluate("() => window.__flowGatewayProbe()")}
        else:
            result = await page.evaluate("(call) => window.__flowGatewayCall(call)", message)
    except Exception as exc:  # noqa: BLE001 - whatever the page throws becomes a worker error for the gateway
        result = {
            "ok": False,
            "error": {"code": "FETCH_FAILED", "message": str(exc)[:300], "retryable": False},
        }
    return {"type": "result", "id": message["id"], **result}


async def serve(ws: aiohttp.ClientWebSocketResponse, page: Page, args: argparse.Namespace) -> None:
    """Hello, then answer calls until the socket closes."""
    await ws.send_json(
        {
            "type": "hello",
            "protocol": 1,
            "worker_id": f"pw-{args.account}",
            "version": "0.1.0",
            "kind": "playwright",
            "capabilities": ["batchexecute"],
            "max_inflight": {"generate": 1, "read": 4},
            "accounts": [
                {
                    "account_key": args.account,
                    "tier": args.tier,
                    "groups": [g.strip() for g in args.groups.split(",") if g.strip()],
                    "tab": {"host": args.flow_origin, "project_id": args.project},
                }
            ],
        }
    )
    log.info("hello_ack %s", await ws.receive_json())
    tasks: set[asyncio.Task[None]] = set()

    def on_navigation(frame: Any) -> None:
        if frame is not page.main_frame:
            return
        path = frame.url.split("://", 1)[-1].partition("/")[2]
        state = (
            "ready"
            if path.startswith("project/")
            else "signed_out"
            if path.startswith("about")
            else "tab_closed"
        )
        task = asyncio.ensure_future(
            ws.send_json({"type": "account_state", "account_key": args.account, "state": state})
        )
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    page.on("framenavigated", on_navigation)

    async def answer(message: dict[str, Any]) -> None:
        await ws.send_json(await run_call(page, message))

    async for frame in ws:
        if frame.type is not aiohttp.WSMsgType.TEXT:
            continue
        message = json.loads(frame.data)
        if message.get("type") == "call":
            task = asyncio.ensure_future(answer(message))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        elif message.get("type") == "ping":
            await ws.send_json({"type": "pong"})


async def main(argv: list[str] | None = None) -> int:
    """Run until interrupted, reconnecting to the gateway with backoff."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    flags = [*CHROMIUM_FLAGS, *(["--no-sandbox"] if args.no_sandbox else [])]
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            args.profile, headless=not args.headed, executable_path=args.chromium or None, args=flags
        )
        if args.cookies:
            await context.add_cookies(json.loads(await asyncio.to_thread(Path(args.cookies).read_text)))
        page = await open_tab(context, args)
        delay = 1.0
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {args.secret}"}) as http:
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.ws_connect(args.gateway, heartbeat=20) as ws:
                        delay = 1.0
                        await serve(ws, page, args)
                log.info("gateway connection lost; reconnecting in %.0fs", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(main()))
