"""A video's status as a function of time since submit: PENDING → ACTIVE → SUCCESSFUL (or FAILED).

Time is the world's (``World.now()``, an injectable clock), never read here. A stuck job
(``video_stuck`` fault) never leaves ACTIVE, so everything that waits for SUCCESSFUL (media fetch,
redirect, ``as29s``, the CDN) keeps answering "not ready" for it. A job with a ``fail`` ends FAILED
(flow.google.com shows the failure's own status list: failed or cancelled).
"""

from __future__ import annotations

from gateway.simulator.config import SimulatorConfig
from gateway.simulator.state import Media

PENDING = "MEDIA_GENERATION_STATUS_PENDING"
ACTIVE = "MEDIA_GENERATION_STATUS_ACTIVE"
SUCCESSFUL = "MEDIA_GENERATION_STATUS_SUCCESSFUL"
FAILED = "MEDIA_GENERATION_STATUS_FAILED"


def video_status(media: Media, config: SimulatorConfig, now: float) -> str:
    """Where the job stands at ``now``."""
    elapsed = now - media.created
    if elapsed < config.video_duration * 0.2:
        return PENDING
    if elapsed < config.video_duration or media.stuck:
        return ACTIVE
    return FAILED if media.fail is not None else SUCCESSFUL
