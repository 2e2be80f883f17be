"""The simulator's knobs and its account definitions."""

from __future__ import annotations

from dataclasses import dataclass, field

TIERS = ("PAYGATE_TIER_NOT_PAID", "PAYGATE_TIER_ONE", "PAYGATE_TIER_TWO")
DEFAULT_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/149.0.0.0 Safari/537.36"
)


@dataclass(frozen=True, slots=True)
class SimAccount:
    """A Flow account the simulator knows: its labs session token, e-mail, tier and starting credits."""

    session_token: str
    email: str
    tier: str = "PAYGATE_TIER_ONE"
    credits: int = 1000

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}")

    def __repr__(self) -> str:
        return f"SimAccount(email={self.email!r}, tier={self.tier!r}, credits={self.credits})"


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Knobs. Durations in seconds."""

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
