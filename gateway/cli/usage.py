"""``python -m gateway usage``: usage summed per group, or record by record, from the store (the
admin API's ``/admin/usage`` for a shell, with the same parameters and sums).

A running gateway writes usage a fraction of a second behind its requests, so the newest
generations may show a moment late here.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import orjson

from gateway.config import load_settings
from gateway.errors import GatewayError
from gateway.service.quota.report import (
    MEASURES,
    RECORD_FIELDS,
    UsageReport,
    as_csv,
    parse_report,
    record_rows,
    total_rows,
)
from gateway.store.base import Store
from gateway.store.factory import store_for

PARAMS = ("group_by", "since", "until", "licence_id", "model", "account_id", "kind", "after", "limit")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], config_default: str) -> None:
    """Register ``usage``."""
    usage = sub.add_parser("usage", help="usage per licence, model, account, day or kind (from the store)")
    usage.add_argument("--config", default=config_default)
    usage.add_argument("--group-by", dest="group_by", help="licence_id,model,account_id,day,kind")
    usage.add_argument("--since", help="Unix seconds or YYYY-MM-DD (UTC); default: this month")
    usage.add_argument("--until", help="Unix seconds or YYYY-MM-DD (UTC), exclusive")
    for name in ("licence_id", "model", "account_id", "kind", "after", "limit"):
        usage.add_argument("--" + name.replace("_", "-"), dest=name)
    usage.add_argument("--records", action="store_true", help="one row per generation instead of sums")
    usage.add_argument("--csv", action="store_true", help="CSV with a header row (default: JSON lines)")
    usage.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the report; 2 with a message when it is refused."""
    settings = load_settings(args.config)
    if settings.store.backend == "memory":
        sys.stderr.write("error: the store backend is memory: use the admin API of the running gateway\n")
        return 2
    params = {name: str(getattr(args, name)) for name in PARAMS if getattr(args, name, None)}
    try:
        report = parse_report(params, now=time.time())
        sys.stdout.write(asyncio.run(_report(store_for(settings.store), report, args)))
    except GatewayError as exc:
        sys.stderr.write(f"error: {exc.message}" + (f" ({exc.param})" if exc.param else "") + "\n")
        return 2
    return 0


async def _report(store: Store, report: UsageReport, args: argparse.Namespace) -> str:
    await store.open()
    try:
        if args.records:
            rows, columns = record_rows(await store.list_usage(report.query)), list(RECORD_FIELDS)
        else:
            totals = await store.usage_totals(report.query, report.group_by)
            rows, columns = total_rows(report, totals), [*report.group_by, *MEASURES]
    finally:
        await store.close()
    if args.csv:
        return as_csv(rows, columns)
    return "".join(orjson.dumps(row).decode() + "\n" for row in rows)
