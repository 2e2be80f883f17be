"""a video submit whose answer was lost on the way (cut short, reset after the request went
out) must not be sent again: the job may exist upstream and be charged. The README: "a submit is sent
again (to another account) only after an error that proves nothing was created". A truncated answer
proves the opposite (the simulator created the job before its answer was cut)."""

from __future__ import annotations

from tests.conftest import SimHandle
from tests.reliability.support import FAST_TASKS, THREE, ClientWith, create_video, final_video


async def test_a_cut_submit_answer_is_not_submitted_again(
    client_with: ClientWith, simulator: SimHandle, auth: dict[str, str]
) -> None:
    http = await client_with(env=FAST_TASKS, accounts=THREE)
    simulator.sim.faults.add(route="video.submit", kind="truncate", count=1)
    video = await final_video(http, auth, await create_video(http, auth))
    submits = [(r.account, r.status) for r in simulator.sim.stats.recent("video.submit")]
    assert len(submits) == 1, f"{submits}: two jobs upstream for one video ({video['status']})"
    if video["status"] == "failed":  # e.g. upstream_unconfirmed, as for Flow's ambiguous answers
        assert video["error"]["code"].startswith("upstream_"), video
