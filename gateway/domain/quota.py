"""What the shared licence counters (the Redis store's, ``store/redis_quota.py``) answer: a refusal
and why, or where a licence stands. The service turns these into its errors and headers
(``service/quota/shared.py``); they are plain values so that the store need not know either.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QuotaRefusal:
    """Why an admission was refused: ``reason`` is the limit (``rpm``, ``concurrency``,
    ``daily_images``, ``daily_videos``, ``daily_credits``, ``monthly_credits``), ``used`` and
    ``limit`` its state, ``asked`` what the request needed, ``wait`` seconds until the rate window
    lets one more in (``rpm`` only)."""

    reason: str
    used: int
    limit: int
    asked: int = 0
    wait: float = 0.0


@dataclass(frozen=True, slots=True)
class QuotaCounts:
    """A licence's shared counters at ``now`` (the counters' clock, Unix seconds): the requests in
    its rate window (the oldest and newest of them, 0 when none), its work in progress, what its
    day and month hold."""

    now: float
    requests: int
    oldest: float
    newest: float
    in_progress: int
    images: int
    videos: int
    credits: int
    month_credits: int
