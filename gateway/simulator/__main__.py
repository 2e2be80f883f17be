"""``python -m gateway.simulator``: run the fake Flow and captcha solver on their own."""

from __future__ import annotations

import argparse
import logging
import sys
import tomllib

from aiohttp import web

from gateway.simulator.config import SimAccount, SimulatorConfig
from gateway.simulator.simulator import Simulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gateway.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--accounts", help="TOML file of [[accounts]] session_token, email, tier, credits")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every Flow call")
    parser.add_argument("--token-lifetime", type=float, default=3600.0, help="access token lifetime, seconds")
    parser.add_argument("--image-scale", type=float, default=1.0, help="scale of generated pixel sizes")
    parser.add_argument("--video-duration", type=float, default=6.0, help="seconds until a video is ready")
    parser.add_argument("--captcha-key", default="sim-captcha-key", help="the solver's client key")
    parser.add_argument("--seed", type=int, default=None, help="seed of the random fault dice")
    return parser


def _accounts(path: str | None) -> list[SimAccount]:
    if not path:
        return []
    with open(path, "rb") as fh:
        doc = tomllib.load(fh)
    return [SimAccount(**entry) for entry in doc.get("accounts", [])]


def main(argv: list[str] | None = None) -> int:
    """Run until interrupted."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    config = SimulatorConfig(
        latency=args.latency,
        access_token_lifetime=args.token_lifetime,
        image_scale=args.image_scale,
        video_duration=args.video_duration,
        captcha_client_key=args.captcha_key,
        seed=args.seed,
    )
    sim = Simulator(config, accounts=_accounts(args.accounts))
    web.run_app(sim.create_app(), host=args.host, port=args.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
