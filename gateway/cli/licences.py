"""``python -m gateway licences ...``: manage client licences in the store, with or without a running gateway.

The commands write through the same licence book as the admin API (same rules, same audit trail,
as actor ``cli``); a running gateway sees the change within ``[licensing] sync_interval`` seconds.
A key and a webhook secret are printed once, by ``create`` and ``rotate``, and never again.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.admin.licence_schemas import parse_licence, parse_rotation
from gateway.admin.render import render_licence
from gateway.config import load_settings
from gateway.domain import LicenceDefinition
from gateway.errors import GatewayError
from gateway.service.audit import ACTOR_CLI, AuditTrail
from gateway.service.licence_book import IssuedLicence, LicenceBook
from gateway.store.base import Store
from gateway.store.factory import store_for

Command = Callable[[LicenceBook, argparse.Namespace], Awaitable[None]]
LISTS = ("models", "groups")
FIELD_FLAGS = (
    ("name", str, "a name for people"),
    ("owner", str, "who holds it"),
    ("notes", str, "anything worth remembering"),
    ("expires_at", str, "unix time, or an ISO date/time (UTC); 0: never"),
    ("models", str, "comma-separated patterns over model names (veo_3_1*,nano_banana*); empty: all"),
    ("groups", str, "comma-separated account groups it may use; empty: any"),
    ("default_group", str, "the group used when a request names none"),
    ("rpm", int, "requests per minute (0: no limit)"),
    ("max_concurrency", int, "generations at once"),
    ("daily_images", int, "images per UTC day"),
    ("daily_videos", int, "videos per UTC day"),
    ("daily_credits", int, "Flow credits per UTC day"),
    ("monthly_credits", int, "Flow credits per calendar month"),
    ("progress", str, "chat progress: reasoning, content, off (empty: the server's default)"),
    ("webhook_url", str, "where finished tasks are POSTed, signed"),
    ("priority", int, "-10..10: higher waits less when the pool is busy"),
)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser], config_default: str) -> None:
    """Register ``licences`` and its subcommands."""
    licences = sub.add_parser("licences", help="manage client licences (in the store)")
    licences.add_argument("--config", default=config_default)
    commands = licences.add_subparsers(required=True)
    create = commands.add_parser("create", help="a new licence; prints its key once")
    _field_flags(create)
    create.add_argument("--disabled", action="store_true", help="create it disabled")
    create.add_argument("--json", action="store_true", help="print the licence (with its key) as JSON")
    create.set_defaults(command=_create)
    listing = commands.add_parser("list", help="every licence (revoked ones too)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(command=_list)
    show = commands.add_parser("show", help="one licence, as JSON")
    show.add_argument("id")
    show.set_defaults(command=_show)
    update = commands.add_parser("update", help="change a licence's fields (the others stay)")
    update.add_argument("id")
    _field_flags(update)
    update.set_defaults(command=_update)
    rotate = commands.add_parser("rotate", help="a new key; the old one works for the grace")
    rotate.add_argument("id")
    rotate.add_argument(
        "--grace", type=float, help="seconds the old key keeps working ([licensing] rotation_grace)"
    )
    rotate.add_argument("--webhook-secret", action="store_true", help="also a new webhook secret")
    rotate.add_argument("--json", action="store_true", help="print the licence (with its key) as JSON")
    rotate.set_defaults(command=_rotate)
    for name, command in (("revoke", _revoke), ("enable", _enable), ("disable", _disable)):
        parser = commands.add_parser(name, help=f"{name} a licence")
        parser.add_argument("id")
        parser.set_defaults(command=command)
    licences.set_defaults(func=run)


def _field_flags(parser: argparse.ArgumentParser) -> None:
    for name, kind, text in FIELD_FLAGS:
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, help=text)


def run(args: argparse.Namespace) -> int:
    """Run one ``licences`` subcommand; 2 with a message when it is refused."""
    settings = load_settings(args.config)
    if settings.store.backend == "memory":
        sys.stderr.write("error: the store backend is memory: use the admin API of the running gateway\n")
        return 2
    try:
        asyncio.run(_with_book(store_for(settings.store), args, grace=settings.licensing.rotation_grace))
    except GatewayError as exc:
        sys.stderr.write(f"error: {exc.message}" + (f" ({exc.param})" if exc.param else "") + "\n")
        return 2
    return 0


async def _with_book(store: Store, args: argparse.Namespace, *, grace: float) -> None:
    await store.open()
    try:
        command: Command = args.command
        await command(LicenceBook(store, audit=AuditTrail(store, actor=ACTOR_CLI), grace=grace), args)
    finally:
        await store.close()


def fields_from(args: argparse.Namespace) -> dict[str, Any]:
    """The field flags given, in the admin API's JSON shape (so one parser checks both)."""
    doc: dict[str, Any] = {}
    for name, _, _ in FIELD_FLAGS:
        value = getattr(args, name, None)
        if value is None:
            continue
        if name in LISTS:
            value = [item.strip() for item in value.split(",") if item.strip()]
        elif name == "expires_at":
            value = parse_time(value)
        doc[name] = value
    if getattr(args, "disabled", False):
        doc["enabled"] = False
    return doc


def parse_time(value: str) -> float | str:
    """A unix time, or an ISO date/time (UTC unless it says otherwise); anything else is passed on
    for the parser to refuse with its message."""
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return value
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def _summary(licence: LicenceDefinition) -> str:
    doc = render_licence(licence, now=time.time())
    models = ",".join(licence.models) or "*"
    return f"{licence.id}  {doc['status']:8}  {licence.name}  key={licence.key_hint or '-'}  models={models}"


def _print_issued(issued: IssuedLicence, args: argparse.Namespace, verb: str) -> None:
    if args.json:
        doc = render_licence(issued.licence, now=time.time())
        doc["key"] = issued.key
        if issued.webhook_secret:
            doc["webhook_secret"] = issued.webhook_secret
        _say(orjson.dumps(doc).decode())
        return
    _say(f"{verb} {_summary(issued.licence)}")
    _say(f"key (shown once; give it to the client): {issued.key}")
    if issued.webhook_secret:
        _say(f"webhook secret (shown once; receivers verify signatures with it): {issued.webhook_secret}")


async def _create(book: LicenceBook, args: argparse.Namespace) -> None:
    _print_issued(await book.create(parse_licence(fields_from(args))), args, "created")


async def _list(book: LicenceBook, args: argparse.Namespace) -> None:
    now = time.time()
    for licence in await book.licences():
        _say(orjson.dumps(render_licence(licence, now=now)).decode() if args.json else _summary(licence))


async def _show(book: LicenceBook, args: argparse.Namespace) -> None:
    licence = await book.get(args.id)
    _say(orjson.dumps(render_licence(licence, now=time.time()), option=orjson.OPT_INDENT_2).decode())


async def _update(book: LicenceBook, args: argparse.Namespace) -> None:
    _say("updated " + _summary(await book.update(args.id, parse_licence(fields_from(args)))))


async def _rotate(book: LicenceBook, args: argparse.Namespace) -> None:
    body: dict[str, Any] = {"webhook_secret": args.webhook_secret}
    if args.grace is not None:
        body["grace_seconds"] = args.grace
    _print_issued(await book.rotate(args.id, parse_rotation(body)), args, "rotated")


async def _revoke(book: LicenceBook, args: argparse.Namespace) -> None:
    _say("revoked " + _summary(await book.revoke(args.id)))


async def _enable(book: LicenceBook, args: argparse.Namespace) -> None:
    _say("enabled " + _summary(await book.set_enabled(args.id, enabled=True)))


async def _disable(book: LicenceBook, args: argparse.Namespace) -> None:
    _say("disabled " + _summary(await book.set_enabled(args.id, enabled=False)))
