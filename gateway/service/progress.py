"""How far along a task is, in percent: Flow reports states, not percentages, so this estimates.

Pure: computed when a task is read, from its stage and how long it has been there, so a running
task's progress moves without a write per poll. Never 100 before the task is completed, never
backwards within a stage.
"""

from __future__ import annotations

from gateway.config import TaskSettings
from gateway.domain import TaskRecord, TaskStage, TaskStatus

# (start, end) of each stage's share of the bar.
BANDS = {
    TaskStage.QUEUED: (0, 1),
    TaskStage.SUBMITTING: (1, 3),
    TaskStage.GENERATING: (3, 90),
    TaskStage.UPSCALING: (90, 97),
    TaskStage.DOWNLOADING: (97, 99),
}


def estimate(record: TaskRecord, now: float, settings: TaskSettings) -> int:
    """The percentage to show for ``record`` at ``now``."""
    if record.status is TaskStatus.COMPLETED:
        return 100
    if record.status is TaskStatus.FAILED:
        return record.progress
    low, high = BANDS.get(record.stage, (0, 99))
    expected = {
        TaskStage.GENERATING: settings.expected_video_seconds,
        TaskStage.UPSCALING: settings.expected_upscale_seconds,
    }.get(record.stage)
    if expected is None or expected <= 0:
        return low
    share = min(1.0, max(0.0, now - record.updated_at) / expected)
    # Approach the band's end without reaching it: a slow job keeps creeping instead of freezing.
    return int(low + (high - low) * share * 0.95)
