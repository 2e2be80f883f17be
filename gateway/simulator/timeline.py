"""A video's status as a function of time since submit: PENDING → ACTIVE → SUCCESSFUL (or FAILED).

A stuck job (``video_stuck`` fault) never leaves ACTIVE, so everything that waits for SUCCESSFUL
(media fetch, redirect, ``as29s``, the CDN) keeps answering "not ready" for it.
"""

from __future__ import annotations

import time

from gateway.simulator.config import SimulatorConfig
from gateway.simulator.state import Media

PENDING = "MEDIA_GENERATION_STATUS_PENDING"
ACTIVE = "MEDIA_GENERATION_STATUS_ACTIVE"
SUCCESSFUL = "MEDIA_GENERATION_STATUS_SUCCESSFUL"
FAILED = "MEDIA_GENERATION_STATUS_FAILED"


def video_status(media: Media, config: SimulatorConfig, now: float | None = None) -> str:
    """Where the job stands now."""
    elapsed = (time.time() if now is None else now) - media.created
    if elapsed < config.video_duration * 0.2:
        return PENDING
    if elapsed < config.video_duration or media.stuck:
        return ACTIVE
    return FAILED if media.fail is not None else SUCCESSFUL
