"""``python -m gateway accounts ...``: manage Flow accounts in the store, with or without a running gateway.

The commands write through the same account book as the admin API; a running gateway sees the
change within ``[pool] sync_interval`` seconds. Secrets are read from standard input when given as
``-`` (so they stay out of shell history and ``ps``) and are never printed.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from gateway.admin.render import render_account, secret_hint
from gateway.admin.schemas import parse_account, parse_groups, parse_import, parse_kind, parse_lines
from gateway.config import load_settings
from gateway.domain import AccountDefinition
from gateway.errors import GatewayError
from gateway.service.account_book import AccountBook, AccountInput
from gateway.service.audit import ACTOR_CLI, AuditTrail
from gateway.store.base import Store
from gateway.store.factory import store_for

STDIN = "-"
Command = Callable[[AccountBook, argparse.Namespace], Awaitable[None]]
FIELD_FLAGS = (
    ("label", str),
    ("groups", str),
    ("weight", float),
    ("proxy", str),
    ("image_concurrency", int),
    ("video_concurrency", int),
    ("rpm", int),
    ("daily_images", int),
    ("daily_videos", int),
    ("tier", str),
)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser], config_default: str) -> None:
    """Register ``accounts`` and its subcommands."""
    accounts = sub.add_parser("accounts", help="manage Flow accounts (in the store)")
    accounts.add_argument("--config", default=config_default)
    commands = accounts.add_subparsers(required=True)
    listing = commands.add_parser("list", help="every account, with its saved state")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(command=_list)
    add = commands.add_parser("add", help="add one account")
    credential = add.add_mutually_exclusive_group(required=True)
    credential.add_argument("--session-token", help="labs session cookie value, or - to read it from stdin")
    credential.add_argument("--worker-key", help="the account key a browser worker announces")
    _field_flags(add)
    add.set_defaults(command=_add)
    imports = commands.add_parser(
        "import", help="add many: a text file of credentials, or JSON/TOML accounts"
    )
    imports.add_argument("file", help="path, or - for stdin")
    imports.add_argument("--kind", default="rest", choices=("rest", "worker"))
    imports.add_argument("--groups", default="")
    imports.set_defaults(command=_import)
    update = commands.add_parser("update", help="change an account's fields")
    update.add_argument("id")
    update.add_argument("--session-token", help="new session cookie value, or - to read it from stdin")
    _field_flags(update)
    update.set_defaults(command=_update)
    for name, command in (("disable", _disable), ("enable", _enable), ("remove", _remove)):
        parser = commands.add_parser(name, help=f"{name} an account")
        parser.add_argument("id")
        parser.set_defaults(command=command)
    accounts.set_defaults(func=run)


def _field_flags(parser: argparse.ArgumentParser) -> None:
    for name, kind in FIELD_FLAGS:
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=kind)


def run(args: argparse.Namespace) -> int:
    """Run one ``accounts`` subcommand; 2 with a message when it is refused."""
    import asyncio  # noqa: PLC0415 - only the CLI path needs an event loop of its own

    settings = load_settings(args.config)
    if settings.store.backend == "memory":
        sys.stderr.write("error: the store backend is memory: use the admin API of the running gateway\n")
        return 2
    try:
        _read_inputs(args)  # stdin and files are read before the event loop starts
        asyncio.run(_with_book(store_for(settings.store), args.command, args))
    except GatewayError as exc:
        sys.stderr.write(f"error: {exc.message}" + (f" ({exc.param})" if exc.param else "") + "\n")
        return 2
    return 0


async def _with_book(store: Store, command: Command, args: argparse.Namespace) -> None:
    await store.open()
    try:
        await command(AccountBook(store, audit=AuditTrail(store, actor=ACTOR_CLI)), args)
    finally:
        await store.close()


def _read_inputs(args: argparse.Namespace) -> None:
    if args.command in (_add, _update):
        args.fields = _fields(args)
    elif args.command is _import:
        args.text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()


def _fields(args: argparse.Namespace) -> dict[str, Any]:
    doc: dict[str, Any] = {
        name: getattr(args, name) for name, _ in FIELD_FLAGS if getattr(args, name) is not None
    }
    token = getattr(args, "session_token", None)
    if token is not None:
        doc["session_token"] = sys.stdin.readline().strip() if token == STDIN else token
    if getattr(args, "worker_key", None):
        doc["kind"], doc["worker_key"] = "worker", args.worker_key
    return doc


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def _summary(definition: AccountDefinition) -> str:
    groups = ",".join(definition.groups) or "-"
    state = "enabled" if definition.enabled else "disabled"
    return f"{definition.id}  {definition.kind.value:6}  {definition.label}  groups={groups}  {state}"


async def _list(book: AccountBook, args: argparse.Namespace) -> None:
    definitions = await book.definitions()
    for definition in definitions:
        if args.json:
            _say(orjson.dumps(render_account(definition, None)).decode())
        else:
            hint = secret_hint(definition.secret.reveal())
            _say(_summary(definition) + (f"  token={hint}" if hint else ""))


async def _add(book: AccountBook, args: argparse.Namespace) -> None:
    definition = await book.create(parse_account(args.fields))
    _say("added " + _summary(definition))


async def _update(book: AccountBook, args: argparse.Namespace) -> None:
    definition = await book.change(args.id, parse_account(args.fields))
    _say("updated " + _summary(definition))


async def _disable(book: AccountBook, args: argparse.Namespace) -> None:
    _say("disabled " + _summary(await book.change(args.id, AccountInput(enabled=False))))


async def _enable(book: AccountBook, args: argparse.Namespace) -> None:
    _say("enabled " + _summary(await book.change(args.id, AccountInput(enabled=True))))


async def _remove(book: AccountBook, args: argparse.Namespace) -> None:
    _say("removed " + _summary(await book.delete(args.id)))


async def _import(book: AccountBook, args: argparse.Namespace) -> None:
    text: str = args.text
    suffix = Path(args.file).suffix.lower()
    if suffix == ".json":
        wanted = parse_import(orjson.loads(text))
    elif suffix == ".toml":
        wanted = parse_import(tomllib.loads(text))
    else:
        defaults = AccountInput(groups=parse_groups(args.groups, param="groups"))
        wanted = parse_lines(text, kind=parse_kind(args.kind), defaults=defaults)
    result = await book.import_many(wanted)
    _say(f"added {len(result.added)}, skipped {len(result.skipped)} already known")
