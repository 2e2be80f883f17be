"""``python -m gateway webhooks ...``: the gateway-wide signing secret, and the outbox.

``secret`` prints the secret that signs the webhooks of licences without one of their own (the
``[webhooks] secret`` of the config file, else the one the gateway made and keeps in the store,
made now if it has not run yet): the operator hands it to those licences' receivers. It is shown
here and nowhere else (never by the admin API), since reading the store already takes what this
command takes. ``list`` and ``retry`` are the admin API's ``/admin/webhooks`` for a shell.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Awaitable, Callable

import orjson

from gateway.admin.webhooks import render_delivery
from gateway.config import Settings, load_settings
from gateway.domain import DeliveryStatus
from gateway.errors import GatewayError
from gateway.service.audit import ACTOR_CLI, AuditTrail
from gateway.service.webhooks import gateway_secret, retry_delivery
from gateway.store.base import Store
from gateway.store.factory import store_for

Command = Callable[[Store, Settings, argparse.Namespace], Awaitable[None]]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], config_default: str) -> None:
    """Register ``webhooks`` and its subcommands."""
    webhooks = sub.add_parser("webhooks", help="the webhook signing secret and deliveries")
    webhooks.add_argument("--config", default=config_default)
    commands = webhooks.add_subparsers(required=True)
    commands.add_parser("secret", help="print the gateway-wide signing secret").set_defaults(command=_secret)
    listing = commands.add_parser("list", help="deliveries, newest first (one JSON object per line)")
    listing.add_argument("--task-id", default="")
    listing.add_argument("--licence-id", default="")
    listing.add_argument("--status", choices=[s.value for s in DeliveryStatus])
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(command=_list)
    retry = commands.add_parser("retry", help="send a delivery again now")
    retry.add_argument("id")
    retry.set_defaults(command=_retry)
    webhooks.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run one ``webhooks`` subcommand; 2 with a message when it is refused."""
    import asyncio  # noqa: PLC0415 - only the CLI path needs an event loop of its own

    settings = load_settings(args.config)
    if settings.store.backend == "memory":
        sys.stderr.write("error: the store backend is memory: nothing outlives the gateway process\n")
        return 2
    try:
        asyncio.run(_with_store(store_for(settings.store), settings, args))
    except GatewayError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        return 2
    return 0


async def _with_store(store: Store, settings: Settings, args: argparse.Namespace) -> None:
    await store.open()
    try:
        await args.command(store, settings, args)
    finally:
        await store.close()


async def _secret(store: Store, settings: Settings, _: argparse.Namespace) -> None:
    _say(await gateway_secret(settings.webhooks.secret, store))


async def _list(store: Store, _: Settings, args: argparse.Namespace) -> None:
    deliveries = await store.list_deliveries(
        task_id=args.task_id,
        licence_id=args.licence_id,
        status=DeliveryStatus(args.status) if args.status else None,
        limit=args.limit,
    )
    for delivery in deliveries:
        _say(orjson.dumps(render_delivery(delivery)).decode())


async def _retry(store: Store, _: Settings, args: argparse.Namespace) -> None:
    # The admin API's change, without its dispatcher: a running gateway's next sweep (within its
    # poll interval, 5 s) sends it.
    delivery = await retry_delivery(store, args.id, audit=AuditTrail(store, actor=ACTOR_CLI), now=time.time())
    _say(orjson.dumps(render_delivery(delivery)).decode())


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
