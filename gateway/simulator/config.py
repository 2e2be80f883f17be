"""The simulator's knobs and its account definitions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

TIERS = ("PAYGATE_TIER_NOT_PAID", "PAYGATE_TIER_ONE", "PAYGATE_TIER_TWO")
# Which image models an account's flow.google.com catalogue lists (catalogue.py): "migrated" (BELUGA,
# GEM_PIX_2, HARBOR_SEAL; the accounts gflow read from 2026-10-08) or "legacy" (NARWHAL, GEM_PIX_2,
# IMAGEN_3_5). Both have the same video families.
COHORTS = ("migrated", "legacy")
FIELDS = frozenset({"session_token", "email", "tier", "credits", "cohort"})
DEFAULT_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/149.0.0.0 Safari/537.36"
)


@dataclass(frozen=True, slots=True)
class SimAccount:
    """A Flow account the simulator knows: its labs session token, e-mail, paygate tier, starting
    credits and catalogue cohort (``migrated`` or ``legacy``, see ``COHORTS``)."""

    session_token: str
    email: str
    tier: str = "PAYGATE_TIER_ONE"
    credits: int = 1000
    cohort: str = "migrated"

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}")
        if self.cohort not in COHORTS:
            raise ValueError(f"cohort must be one of {', '.join(COHORTS)}")

    def __repr__(self) -> str:
        return (
            f"SimAccount(email={self.email!r}, tier={self.tier!r}, credits={self.credits}, "
            f"cohort={self.cohort!r})"
        )

    @classmethod
    def from_mapping(cls, doc: Mapping[str, object]) -> SimAccount:
        """An account from JSON/TOML fields; ValueError/TypeError when a field is missing or mistyped."""
        token, email = doc.get("session_token"), doc.get("email")
        tier, credits = doc.get("tier", "PAYGATE_TIER_ONE"), doc.get("credits", 1000)
        if (
            set(doc) - FIELDS
            or not isinstance(token, str)
            or not token
            or not isinstance(email, str)
            or not email
        ):
            raise ValueError(
                "an account needs session_token and email (and optionally tier, credits, cohort)"
            )
        if not isinstance(credits, int) or isinstance(credits, bool):
            raise TypeError("credits must be an integer")
        return cls(token, email, str(tier), credits, str(doc.get("cohort", "migrated")))


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Knobs. Durations in seconds.

    ``latency`` is added to every call (``route_latency`` overrides it per route name);
    ``access_token_lifetime`` bounds each ``ya29`` token; ``image_scale`` scales every pixel size;
    ``media_url_ttl`` bounds signed media URLs; ``video_duration`` is submit-to-SUCCESSFUL;
    ``captcha_delay`` is how long a solver task stays ``processing``; ``captcha_token_ttl`` is a
    token's life (reCAPTCHA's ~2 minutes); ``seed`` seeds the fault dice; ``video_credits`` is the
    aisandbox (REST) cost per key class (quality, fast, lite, relaxed, upsample; flow.google.com
    charges its catalogue's costs) and ``image_credits`` per image; ``record_marker`` is what
    flow.google.com records carry at [3] ("CAE", or None as seen since October 2026).
    """

    latency: float = 0.0
    route_latency: dict[str, float] = field(default_factory=dict)
    access_token_lifetime: float = 3600.0
    image_scale: float = 1.0
    media_url_ttl: float = 3600.0
    video_duration: float = 6.0
    captcha_delay: float = 0.0
    captcha_client_key: str = "sim-captcha-key"
    captcha_token_ttl: float = 120.0
    seed: int | None = None
    video_credits: dict[str, int] = field(
        default_factory=lambda: {"quality": 20, "fast": 10, "lite": 5, "relaxed": 0, "upsample": 10}
    )
    image_credits: int = 0
    record_marker: str | None = "CAE"
