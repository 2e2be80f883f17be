"""The ``Simulator``: one object holding the fake Flow's world, its faults and its statistics,
and the aiohttp application serving every fake host on one origin.

Hosts live in one module each (``labs``, ``aisandbox`` + ``video``, ``cdn``, ``captcha``,
``flowpage`` + ``batchexecute``); their paths do not collide, so one origin serves them all. All
state is on the instance: two simulators in one process share nothing. Its time is ``clock``'s
(``time.time`` by default): a test passes its own and moves it instead of sleeping.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable

from aiohttp import web

from gateway.simulator import aisandbox, batchexecute, captcha, cdn, control, flowpage, labs, video
from gateway.simulator.call import Runtime, wrap
from gateway.simulator.config import SimAccount, SimulatorConfig
from gateway.simulator.faults import Faults
from gateway.simulator.state import Clock, World
from gateway.simulator.stats import Stats

ALL_ROUTES = (
    *labs.ROUTES,
    *aisandbox.ROUTES,
    *video.ROUTES,
    *cdn.ROUTES,
    *captcha.ROUTES,
    *flowpage.ROUTES,
    *batchexecute.ROUTES,
)


class Simulator:
    """A fake of Flow (labs.google, aisandbox-pa, flow.google.com, the media CDN) and of a captcha solver."""

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        *,
        accounts: Iterable[SimAccount] = (),
        clock: Clock = time.time,
    ) -> None:
        self.config = config or SimulatorConfig()
        self.world = World(self.config, list(accounts), clock)
        dice = random.Random(self.config.seed)  # noqa: S311 - fault dice, not cryptography
        self.faults = Faults(dice, routes={route.name for route in ALL_ROUTES})
        self.stats = Stats(clock=clock)

    def add_account(self, account: SimAccount) -> None:
        """Register an account."""
        self.world.add_account(account)

    def revoke_session(self, session_token: str) -> None:
        """Kill an account's labs session: ``/auth/session`` answers ``{}``, its tokens stop working."""
        self.world.accounts[session_token].revoked = True

    def migrate(self, session_token: str) -> None:
        """Move an account to flow.google.com: labs answers 308 and its access tokens stop working."""
        self.world.accounts[session_token].migrated = True

    def refuse_rest(self, session_token: str) -> None:
        """labs still mints access tokens for the account but aisandbox answers 401 to them (migrated)."""
        self.world.accounts[session_token].rest_refused = True

    def rotate_page_session(self, session_token: str) -> None:
        """Make an account's flow.google.com ``at`` stale (as a page session expiring does)."""
        self.world.rotate_page_session(self.world.accounts[session_token])

    def project_of(self, session_token: str) -> str:
        """The project an account's flow.google.com page opens on."""
        return self.world.accounts[session_token].default_project

    def reset(self) -> None:
        """Forget faults and statistics (accounts, projects, media and tokens stay)."""
        self.faults.clear()
        self.stats.reset()

    def create_app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        runtime = Runtime(self.world, self.faults, self.stats, asyncio.Event())
        for route in ALL_ROUTES:
            app.router.add_route(route.method, route.path, wrap(route, runtime))
        control.add_routes(app, self)

        async def release_hung_calls(_: web.Application) -> None:
            runtime.closing.set()  # on_shutdown runs before aiohttp waits for in-flight handlers

        app.on_shutdown.append(release_hung_calls)
        return app
