"""Command line: ``serve`` the gateway, run the offline ``demo``, make a ``licence`` or ``admin`` key,
manage ``accounts`` and ``licences``, run the ``doctor`` probes through a running gateway.

The only place that configures logging and runs a server. ``demo`` starts the Flow simulator and
the gateway in one process on 127.0.0.1, with a fresh licence key written to ``.demo/licence`` and
a fresh admin key (for the admin API and the console at ``/console/``) to ``.demo/admin-key``.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import signal
import socket
import sys
from pathlib import Path

import orjson
from aiohttp import web

from gateway.app import create_app
from gateway.cli import accounts as cli_accounts
from gateway.cli import doctor as cli_doctor
from gateway.cli import licences as cli_licences
from gateway.cli import usage as cli_usage
from gateway.cli import webhooks as cli_webhooks
from gateway.config import ConfigError, Settings, default_config_path, load_settings, parse_listen
from gateway.licensing import hash_key, new_licence_key
from gateway.obs.access_log import AccessLogger
from gateway.obs.logging import configure_logging

DEMO_DIR = Path(".demo")
CATALOG = Path(__file__).resolve().parents[1] / "config" / "models.toml"
DEMO_CAPTCHA_KEY = "demo-captcha-key"
WORKER_SCRIPT = Path(__file__).resolve().parents[1] / "workers" / "playwright" / "flow_worker.py"
DEMO_WORKER_ACCOUNT = ("demo-worker-1", "worker1@demo.invalid", "PAYGATE_TIER_TWO")
DEMO_ACCOUNTS = (
    ("demo-ultra-1", "ultra1@demo.invalid", "PAYGATE_TIER_TWO", ("ultra",)),
    ("demo-ultra-2", "ultra2@demo.invalid", "PAYGATE_TIER_TWO", ("ultra",)),
    ("demo-pro-1", "pro1@demo.invalid", "PAYGATE_TIER_ONE", ("pro",)),
)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m gateway``."""
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gateway", description=__doc__)
    sub = parser.add_subparsers(required=True)
    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", default=default_config_path())
    serve.set_defaults(func=_serve)
    demo = sub.add_parser("demo", help="simulator + gateway on 127.0.0.1, offline")
    demo.set_defaults(func=_demo)
    licence = sub.add_parser("licence", help="licence keys")
    licence_sub = licence.add_subparsers(required=True)
    new = licence_sub.add_parser("new", help="print a new key and the config entry holding its hash")
    new.add_argument("--id", required=True)
    new.add_argument("--name", default="")
    new.set_defaults(func=_licence_new)
    admin = sub.add_parser("admin", help="the admin API")
    admin_sub = admin.add_subparsers(required=True)
    admin_key = admin_sub.add_parser(
        "key", help="print a new admin key and the config entry holding its hash"
    )
    admin_key.set_defaults(func=_admin_key)
    cli_accounts.add_parsers(sub, default_config_path())
    cli_licences.add_parsers(sub, default_config_path())
    cli_webhooks.add_parser(sub, default_config_path())
    cli_usage.add_parser(sub, default_config_path())
    cli_doctor.add_parser(sub)
    return parser


def new_event_loop(choice: str) -> asyncio.AbstractEventLoop:
    """uvloop when asked for, or on ``auto`` when it is installed (about a third less loop overhead
    than asyncio's own loop); asyncio's loop otherwise."""
    if choice != "asyncio":
        try:
            import uvloop  # noqa: PLC0415 - optional: absent on platforms it does not build for
        except ImportError:
            if choice == "uvloop":
                raise ConfigError("server.event_loop: uvloop is not installed") from None
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _serve(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    configure_logging(settings.logging)
    sockets = _listening_sockets(settings)
    web.run_app(
        create_app(settings),
        host=None if sockets else settings.server.host,
        port=None if sockets else settings.server.port,
        sock=sockets,
        access_log_class=AccessLogger,
        shutdown_timeout=settings.server.shutdown_timeout,
        print=None,
        loop=new_event_loop(settings.server.event_loop),
    )
    return 0


def _listening_sockets(settings: Settings) -> list[socket.socket] | None:
    """With ``[admin] listen``: the public socket and the admin one, bound here (so one server
    serves both, and the admin middleware tells them apart by port); else None (host and port)."""
    if not settings.admin.listen:
        return None
    return [_bound(settings.server.host, settings.server.port), _bound(*parse_listen(settings.admin.listen))]


def _bound(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def _licence_new(args: argparse.Namespace) -> int:
    key = new_licence_key()
    sys.stdout.write(
        f"key (give it to the client; it is not stored): {key}\n\n"
        f'[[licences]]\nid = "{args.id}"\nname = "{args.name}"\nkey_sha256 = "{hash_key(key)}"\n'
    )
    return 0


def _admin_key(_: argparse.Namespace) -> int:
    key = "sk-admin-" + secrets.token_urlsafe(32)
    sys.stdout.write(
        f'admin key (keep it; it is not stored): {key}\n\n[admin]\nkey_sha256 = "{hash_key(key)}"\n'
    )
    return 0


def _demo(_: argparse.Namespace) -> int:
    with asyncio.Runner(loop_factory=lambda: new_event_loop("auto")) as runner:
        runner.run(_run_demo())
    return 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_worker_files(secret: str, sim: str, project: str, gateway_ws: str) -> Path:
    """The cookie the worker's browser needs for the simulator, and the command that starts the worker."""
    cookies = DEMO_DIR / "worker-cookies.json"
    cookies.write_text(orjson.dumps([{"name": "SID", "value": DEMO_WORKER_ACCOUNT[0], "url": sim}]).decode())
    script = DEMO_DIR / "worker.sh"
    script.write_text(
        "#!/bin/sh\n# Starts the reference Playwright worker for the demo's flow.google.com account.\n"
        f'exec "{sys.executable}" "{WORKER_SCRIPT}" --gateway "{gateway_ws}" --secret "{secret}" '
        f'--profile "{DEMO_DIR.resolve() / "worker-profile"}" --account demo-worker --project "{project}" '
        f'--tier ultra --groups browser --flow-origin "{sim}" --chromium /usr/bin/chromium '
        f'--cookies "{cookies.resolve()}" --no-sandbox "$@"\n'
    )
    script.chmod(0o700)
    return script


def _write_secret(name: str, value: str) -> None:
    path = DEMO_DIR / name
    path.write_text(value + "\n")
    path.chmod(0o600)


def _write_demo_config(key: str, sim_port: int, worker_secret: str, admin_key: str) -> Path:
    DEMO_DIR.mkdir(exist_ok=True)
    _write_secret("licence", key)
    _write_secret("admin-key", admin_key)
    sim = f"http://127.0.0.1:{sim_port}"
    accounts = "".join(
        f'[[accounts]]\nlabel = "{token}"\nsession_token = "{token}"\ngroups = {list(groups)!r}\n\n'.replace(
            "'", '"'
        )
        for token, _, _, groups in DEMO_ACCOUNTS
    )
    config = DEMO_DIR / "gateway.toml"
    config.write_text(
        "# Written by `make demo`: the gateway against the local Flow simulator.\n"
        f'catalog_path = "{CATALOG}"\n\n'
        f'[server]\nhost = "127.0.0.1"\nport = 8000\n\n'
        f'[logging]\nformat = "console"\n\n'
        f'[store]\nbackend = "sqlite"\npath = "{DEMO_DIR}/gateway.sqlite3"\n\n'
        f'[media]\nroot = "{DEMO_DIR}/media"\nallow_private_urls = true\n\n'
        f'[flow]\nlabs_base_url = "{sim}"\napi_base_url = "{sim}"\n\n'
        f'[captcha]\nbase_url = "{sim}/captcha"\nclient_key = "{DEMO_CAPTCHA_KEY}"\n'
        f'task_type = "RecaptchaV3TaskProxylessM1S9"\n\n'
        f'[workers]\nsecret = "{worker_secret}"\n\n'
        f'[admin]\nkey_sha256 = "{hash_key(admin_key)}"\n\n'
        "[tasks]\npoll_interval = 2.0\npoll_after_ms = 2000\nexpected_video_seconds = 8.0\n\n"
        f'[[licences]]\nid = "demo"\nname = "demo licence"\nkey_sha256 = "{hash_key(key)}"\n\n{accounts}'
    )
    return config


async def _run_demo() -> None:
    from gateway.simulator import SimAccount, Simulator, SimulatorConfig  # noqa: PLC0415 - demo-only dependency

    key, sim_port, worker_secret = new_licence_key(), _free_port(), secrets.token_urlsafe(24)
    admin_key = "sk-admin-" + secrets.token_urlsafe(32)
    settings: Settings = load_settings(_write_demo_config(key, sim_port, worker_secret, admin_key))
    configure_logging(settings.logging)
    sim = Simulator(
        SimulatorConfig(captcha_client_key=DEMO_CAPTCHA_KEY),
        accounts=[
            *(SimAccount(t, e, tier, credits=10_000) for t, e, tier, _ in DEMO_ACCOUNTS),
            SimAccount(*DEMO_WORKER_ACCOUNT, credits=10_000),
        ],
    )
    runners = [
        web.AppRunner(sim.create_app()),
        web.AppRunner(create_app(settings), access_log_class=AccessLogger),
    ]
    for runner in runners:
        await runner.setup()
    await web.TCPSite(runners[0], "127.0.0.1", sim_port).start()
    await web.TCPSite(runners[1], settings.server.host, settings.server.port).start()
    origin = f"http://{settings.server.host}:{settings.server.port}"
    base = f"{origin}{settings.server.base_path}/v1"
    worker = _write_worker_files(
        worker_secret,
        f"http://127.0.0.1:{sim_port}",
        sim.project_of(DEMO_WORKER_ACCOUNT[0]),
        base.replace("http", "ws", 1) + "/flow-worker",
    )
    sys.stdout.write(
        f"\nFlow simulator:  http://127.0.0.1:{sim_port}\nGateway:         {base}\n"
        f"Licence key:     {key}   (also in {DEMO_DIR / 'licence'})\n"
        f"Console:         {origin}/console/   (sign in with the admin key)\n"
        f"Admin key:       {admin_key}   (also in {DEMO_DIR / 'admin-key'})\n"
        f"Admin API:       {origin}/admin   (key in {DEMO_DIR / 'admin-key'}; "
        f"python -m gateway doctor --url {origin} --admin-key {DEMO_DIR / 'admin-key'})\n"
        f"Browser worker:  sh {worker}   (Chromium; then use model names like nano_banana|[browser])\n"
        "\nPress Ctrl-C to stop.\n\n"
    )
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


if __name__ == "__main__":
    sys.exit(main())
