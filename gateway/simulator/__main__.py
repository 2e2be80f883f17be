"""``python -m gateway.simulator``: run the fake Flow and captcha solver on their own.

The accounts file is TOML: ``[[accounts]]`` tables of ``session_token``, ``email``, ``tier``,
``credits`` and ``cohort`` (``migrated``, the default, or ``legacy``: which image models the account's
flow.google.com catalogue lists). One structlog line per request (the simulator's ``flow_call``
event; aiohttp's access log is off), never a token.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tomllib

import structlog
from aiohttp import web

from gateway.simulator.config import SimAccount, SimulatorConfig
from gateway.simulator.simulator import Simulator

DEFAULTS = SimulatorConfig()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gateway.simulator", description="A strict fake of Google Flow and a captcha solver."
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1")
    add("--port", type=int, default=9100)
    add("--accounts", help="TOML file of [[accounts]] session_token, email, tier, credits, cohort")
    add("--latency", type=float, default=DEFAULTS.latency, help="seconds added to every Flow call")
    add("--token-lifetime", type=float, default=DEFAULTS.access_token_lifetime, help="access token life, s")
    add("--image-scale", type=float, default=DEFAULTS.image_scale, help="scale of generated pixel sizes")
    add("--media-url-ttl", type=float, default=DEFAULTS.media_url_ttl, help="signed media URL life, s")
    add(
        "--video-duration", type=float, default=DEFAULTS.video_duration, help="seconds until a video is ready"
    )
    add("--captcha-delay", type=float, default=DEFAULTS.captcha_delay, help="seconds a solve takes")
    add("--captcha-key", default=DEFAULTS.captcha_client_key, help="the solver's client key")
    add("--seed", type=int, default=None, help="seed of the random fault dice")
    return parser


def load_accounts(path: str | None) -> list[SimAccount]:
    """The accounts of a TOML file (none without a path)."""
    if not path:
        return []
    with open(path, "rb") as fh:
        doc = tomllib.load(fh)
    entries = doc.get("accounts", [])
    if not isinstance(entries, list):
        raise TypeError("accounts must be an array of tables ([[accounts]])")
    return [SimAccount.from_mapping(entry) for entry in entries]


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def main(argv: list[str] | None = None) -> int:
    """Run until interrupted."""
    args = _parser().parse_args(argv)
    _configure_logging()
    try:
        accounts = load_accounts(args.accounts)
    except (OSError, tomllib.TOMLDecodeError, TypeError, ValueError) as exc:
        structlog.get_logger("flow.simulator").error(
            "accounts_unreadable", path=args.accounts, error=str(exc)
        )
        return 2
    config = SimulatorConfig(
        latency=args.latency,
        access_token_lifetime=args.token_lifetime,
        image_scale=args.image_scale,
        media_url_ttl=args.media_url_ttl,
        video_duration=args.video_duration,
        captcha_delay=args.captcha_delay,
        captcha_client_key=args.captcha_key,
        seed=args.seed,
    )
    sim = Simulator(config, accounts=accounts)
    structlog.get_logger("flow.simulator").info(
        "simulator_listening", url=f"http://{args.host}:{args.port}", accounts=len(accounts)
    )
    web.run_app(sim.create_app(), host=args.host, port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
