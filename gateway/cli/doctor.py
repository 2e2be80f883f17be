"""``python -m gateway doctor``: ask a running gateway to probe every browser worker's account.

Calls ``POST /admin/doctor`` (read-only RPCs through each connected worker: the tab, credits and
tier, the model catalogue, a media read) and prints, per account, what it can serve and what looked
different from the evidence. The admin key is read from standard input (``--admin-key -``) or a
file, never from the command line where ``ps`` would show it. Exit status 1 when an account has a
problem, 2 when the gateway could not be asked.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp

STDIN = "-"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``doctor``."""
    doctor = sub.add_parser("doctor", help="probe every browser worker's account through a running gateway")
    doctor.add_argument("--url", default="http://127.0.0.1:8000", help="the gateway's base URL")
    doctor.add_argument(
        "--admin-key", default=STDIN, help="a file holding the admin key, or - to read it from stdin"
    )
    doctor.add_argument("--timeout", type=float, default=120.0)
    doctor.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the command; its exit status."""
    key = (sys.stdin.readline() if args.admin_key == STDIN else Path(args.admin_key).read_text()).strip()
    try:
        checks = asyncio.run(ask(args.url.rstrip("/"), key, aiohttp.ClientTimeout(total=args.timeout)))
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        sys.stderr.write(f"error: could not ask the gateway: {exc}\n")
        return 2
    sys.stdout.write(render(checks))
    return 0 if all(c.get("ok") for c in checks) else 1


async def ask(url: str, key: str, limit: aiohttp.ClientTimeout) -> list[dict[str, Any]]:
    """The doctor's checks, from ``POST /admin/doctor``; ValueError with the status otherwise."""
    async with (
        aiohttp.ClientSession(timeout=limit) as http,
        http.post(f"{url}/admin/doctor", headers={"Authorization": f"Bearer {key}"}) as resp,
    ):
        doc = await resp.json(content_type=None)
        if resp.status != 200:
            message = doc.get("error", {}).get("message") if isinstance(doc, dict) else None
            raise ValueError(f"HTTP {resp.status}: {message or 'no message'}")
        return list(doc["data"])


def render(checks: list[dict[str, Any]]) -> str:
    """The report, one block per account."""
    if not checks:
        return "no browser worker is connected: nothing to probe\n"
    lines: list[str] = []
    for c in checks:
        tier = (
            f"{c['tier']} ({'read from Flow' if c['tier_read'] else 'declared'})" if c["tier"] else "unknown"
        )
        serves = ", ".join(c["serves"]) or "nothing known"
        lines += [
            f"{'ok ' if c['ok'] else 'BAD'} {c['label']} ({c['account']})",
            f"    tab: {_tab(c['tab'])}",
            f"    tier: {tier}; credits: {c['credits'] if c['credits'] is not None else 'unknown'}",
            f"    catalogue: {len(c['models'])} model keys; serves: {serves}",
            f"    media read: {c['media']}",
        ]
        lines += [f"    problem: {p}" for p in c["problems"]]
        lines += [f"    unexpected reply shape: {rpc} x{n}" for rpc, n in c["drift"].items()]
    return "\n".join(lines) + "\n"


def _tab(tab: dict[str, Any]) -> str:
    if not tab:
        return "no answer"
    flags = ("flow_tab", "signed_in", "at_present", "grecaptcha_ready")
    return ", ".join(f"{flag}={'yes' if tab.get(flag) else 'no'}" for flag in flags)
