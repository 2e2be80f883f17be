"""The simulator's world: accounts, sessions and access tokens, projects, media, captcha tokens.

All state lives on one :class:`World` per simulator instance (no module globals). Every reading of
the world's time goes through its ``clock`` (``time.time`` unless a test injects its own), so tests
move time instead of sleeping: video timelines, token and URL lifetimes, page sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.simulator.config import SimAccount, SimulatorConfig
from gateway.simulator.errors import GoogleError, invalid, recaptcha_failed, unauthenticated
from gateway.simulator.render import build_mp4, render_jpeg, video_size

# The reCAPTCHA actions a flow.google.com page mints for (UPLOAD_IMAGE: one reading of maseQ's).
ACTIONS = ("IMAGE_GENERATION", "VIDEO_GENERATION", "UPLOAD_IMAGE")
Clock = Callable[[], float]


@dataclass(slots=True)
class AccountState:
    """An account and what changes about it."""

    spec: SimAccount
    credits: int
    revoked: bool = False
    migrated: bool = False
    rest_refused: bool = False
    projects: set[str] = field(default_factory=set)
    access_token: str = ""
    access_expires: float = 0.0
    page_at: str = ""
    page_sid: str = ""
    default_project: str = ""


@dataclass(frozen=True, slots=True)
class JobFailure:
    """How a video job ends when it does not succeed.

    ``status`` is what flow.google.com records show at details[8] once the job is over (``[4,
    [code, message], [internal reason], [1]]``, ``[7, …]`` or ``[5]`` cancelled); ``code``,
    ``message`` and ``reason`` are the error aisandbox's REST status shows.
    """

    status: list[object]
    code: int = 13
    message: str = "Internal error encountered."
    reason: str | None = None


@dataclass(slots=True)
class Media:
    """A media item: an upload, a generated image, a video (with its timeline) or a poster.

    A video's ``fail`` makes it end FAILED (or cancelled); ``stuck`` keeps it ACTIVE. ``workflow``
    is its generation (workflow) id, distinct from its media id ``name``; ``seconds`` and
    ``resolution`` (1 = 720p, 2 = 1080p, 3 = 4K, 4 = 360p, the catalogue's enum) size a video.
    """

    name: str
    kind: str
    owner: str
    project_id: str
    aspect: str = "IMAGE_ASPECT_RATIO_SQUARE"
    prompt: str = ""
    seed: int = 0
    model: str = ""
    created: float = 0.0
    fail: JobFailure | None = None
    stuck: bool = False  # a ``video_stuck`` job: ACTIVE forever
    workflow: str = ""
    batch: str = ""  # the uuid of the call that created it (a workflow row's [3][5])
    seconds: int = 8
    resolution: int = 1
    size: tuple[int, int] | None = None  # an upload's pixel size, when it could be read
    data: bytes = b""


@dataclass(slots=True)
class CaptchaToken:
    """A token the fake solver minted: single use, for one action and one user agent."""

    action: str
    user_agent: str
    minted: float
    used: bool = False
    owner: str | None = None


class World:
    """Every piece of simulator state."""

    def __init__(self, config: SimulatorConfig, accounts: list[SimAccount], clock: Clock = time.time) -> None:
        self.config = config
        self.clock = clock
        self.accounts: dict[str, AccountState] = {}
        self.by_access: dict[str, tuple[str, float]] = {}
        self.media: dict[str, Media] = {}
        self.tokens: dict[str, CaptchaToken] = {}
        self.tasks: dict[str, tuple[str, str, float]] = {}
        self.solved: dict[str, str] = {}  # captcha task id -> the token its solution carries
        self.url_key = secrets.token_bytes(16)
        for account in accounts:
            self.add_account(account)

    def now(self) -> float:
        """The world's time (seconds since the epoch, from the injected clock)."""
        return self.clock()

    def add_account(self, account: SimAccount) -> None:
        """Register (or replace) an account, with one project its flow.google.com page opens on."""
        state = AccountState(account, account.credits)
        state.default_project = self.new_project(state)
        self.accounts[account.session_token] = state

    def page_session(self, state: AccountState) -> tuple[str, str]:
        """The page's ``at`` (SNlM0e) and ``f.sid`` (FdrFJe): minted on the first page load, then stable."""
        if not state.page_at:
            state.page_at = f"{secrets.token_urlsafe(24)}:{int(self.now() * 1000)}"
            state.page_sid = str(secrets.randbelow(2**63) - 2**62)
        return state.page_at, state.page_sid

    def rotate_page_session(self, state: AccountState) -> None:
        """Forget the page session (the next load mints a new ``at``; the old one goes stale)."""
        state.page_at = state.page_sid = ""

    def account_of_at(self, at: str) -> AccountState | None:
        """Whose page session ``at`` is, if anyone's."""
        return next((s for s in self.accounts.values() if at and s.page_at == at), None)

    # --- auth -------------------------------------------------------------------------------

    def session(self, session_token: str | None) -> AccountState | None:
        """The live account of a labs session cookie, or None (NextAuth then answers ``{}``)."""
        state = self.accounts.get(session_token or "")
        return state if state is not None and not state.revoked else None

    def access_token_for(self, state: AccountState) -> tuple[str, float]:
        """The account's current access token, minted anew when within 60 s of expiry."""
        now = self.now()
        if not state.access_token or state.access_expires - now < 60:
            state.access_token = "ya29.sim-" + secrets.token_urlsafe(40)
            state.access_expires = now + self.config.access_token_lifetime
            self.by_access[state.access_token] = (state.spec.session_token, state.access_expires)
        return state.access_token, state.access_expires

    def bearer(self, authorization: str | None) -> AccountState:
        """The account of ``authorization: Bearer <AT>``, or 401."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise unauthenticated()
        found = self.by_access.get(authorization[7:].strip())
        if found is None or found[1] < self.now():
            raise unauthenticated()
        state = self.session(found[0])
        if state is None or state.migrated or state.rest_refused:
            raise unauthenticated()
        return state

    # --- projects and media -----------------------------------------------------------------

    def new_project(self, state: AccountState) -> str:
        """Create a project owned by the account."""
        project_id = str(uuid.uuid4())
        state.projects.add(project_id)
        return project_id

    def require_project(self, state: AccountState, project_id: object) -> str:
        """The project id if the account owns it, else 400."""
        if not isinstance(project_id, str) or project_id not in state.projects:
            raise invalid("Project not found or not accessible.")
        return project_id

    def video_size(self, media: Media) -> tuple[int, int]:
        """A video's pixel size: its aspect at its resolution, scaled by the ``image_scale`` knob."""
        return video_size(media.aspect, media.resolution, scale=self.config.image_scale)

    def video_bytes(self, media: Media) -> bytes:
        """The mp4 of a video (rendered once, then kept)."""
        if not media.data:
            size = self.video_size(media)
            frames = [render_jpeg(size, prompt=media.prompt, seed=media.seed + i) for i in range(2)]
            media.data = build_mp4(frames, size, float(media.seconds))
        return media.data

    def new_media_name(self) -> str:
        """A fresh media id."""
        return str(uuid.uuid4())

    def add_media(self, media: Media) -> Media:
        """Register a media item (stamped with the world's time, and given a workflow id of its own)."""
        media.created = media.created or self.now()
        media.workflow = media.workflow or str(uuid.uuid4())
        self.media[media.name] = media
        return media

    def owned_media(self, state: AccountState, name: object, kinds: tuple[str, ...]) -> Media:
        """A media item of the account and of one of ``kinds``, else 400."""
        media = self.media.get(name) if isinstance(name, str) else None
        if media is None or media.owner != state.spec.session_token or media.kind not in kinds:
            raise invalid(f"Media {name!r} not found.")
        return media

    def spend(self, state: AccountState, credits: int) -> None:
        """Take credits, or 429 when there are not enough."""
        if credits > state.credits:
            raise GoogleError(
                429, "RESOURCE_EXHAUSTED", "Quota exceeded.", reason="PUBLIC_ERROR_USER_QUOTA_EXCEEDED"
            )
        state.credits -= credits

    # --- signed media URLs ------------------------------------------------------------------

    def sign(self, path: str, expires: int) -> str:
        """The URL signature of a media path."""
        mac = hmac.new(self.url_key, f"{path}:{expires}".encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def signed_query(self, path: str) -> str:
        """``Expires=…&KeyName=…&Signature=…`` for a media path."""
        expires = int(self.now() + self.config.media_url_ttl)
        return f"Expires={expires}&KeyName=labs-flow-sim-cdn-key&Signature={self.sign(path, expires)}"

    def check_signature(self, path: str, expires: str | None, signature: str | None) -> bool:
        """True for an unexpired, valid signature."""
        if not expires or not signature or not expires.isdigit() or int(expires) < self.now():
            return False
        return hmac.compare_digest(self.sign(path, int(expires)), signature)

    # --- captcha ----------------------------------------------------------------------------

    def mint_token(self, action: str, user_agent: str, *, owner: str | None = None) -> str:
        """A fresh single-use token (``owner``: the account whose page minted it; the solver's have none)."""
        token = "0cAFcWsim" + secrets.token_urlsafe(48)
        self.tokens[token] = CaptchaToken(action, user_agent, self.now(), owner=owner)
        return token

    def consume_token(self, token: object, *, action: str | tuple[str, ...], user_agent: str) -> None:
        """Accept a token once, for its action (or one of several) and user agent; 403 otherwise."""
        if not isinstance(token, str) or not token:
            raise recaptcha_failed("PUBLIC_ERROR_SOMETHING_WENT_WRONG")
        record = self.tokens.get(token)
        actions = (action,) if isinstance(action, str) else action
        if record is None or record.used or record.action not in actions:
            raise recaptcha_failed()
        if self.now() - record.minted > self.config.captcha_token_ttl or record.user_agent != user_agent:
            raise recaptcha_failed()
        record.used = True
