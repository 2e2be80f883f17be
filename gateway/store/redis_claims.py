"""Task claims shared by the replicas on one Redis (``store/task_claims.py`` says what they are for).

``P own:<task id>`` holds the token of the replica running the task, with an expiry (``[tasks]
claim_ttl``) that replica renews, all its claims in one script per round. Each step is one Lua
script, so no two replicas ever both believe they hold a task:

- claiming orphans reads the unfinished-task indexes (``redis_tasks.py``) and takes, ``SET NX``,
  those nobody holds, returning their documents as stored *after* the claim (a replica that died
  while writing ``submitting`` is seen in ``submitting``, never in the ``queued`` before it);
- a write upserts only the tasks whose claim is still the writer's (the store's own upsert, run
  inside the check), and drops a finished task's claim with its last write;
- seizing (a cancel or a delete arriving at another replica) replaces the holder's token, when the
  stored task is still unfinished (and at the stage a cancel needs), and wakes the holder.

Releasing and seizing publish ``tasks`` on the store's change channel, so the others' sweeps run
at once instead of at their next round; a replica that crashed releases nothing, its claims expire.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Sequence

from redis.asyncio import Redis

from gateway.domain import TaskRecord, TaskStage
from gateway.store.base import TASKS_TOPIC
from gateway.store.redis_facet import Indexed, as_text, guarded, upsert_args
from gateway.store.redis_scripts import UPSERT
from gateway.store.redis_tasks import UNFINISHED
from gateway.store.tasks_codec import task_from_json

# KEYS: the unfinished-task indexes. ARGV: token, ttl (ms), limit, claim key prefix, task key prefix.
# Returns {more (0/1), id, document, id, document, ...} for the tasks claimed.
CLAIM_ORPHANS = """
local token, ttl, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local taken = {0}
local function sweep()
  for _, index in ipairs(KEYS) do
    for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
      local claim = ARGV[4] .. id
      if (#taken - 1) / 2 >= limit then
        if redis.call('EXISTS', claim) == 0 then taken[1] = 1 return end
      elseif redis.call('SET', claim, token, 'NX', 'PX', ttl) then
        taken[#taken + 1] = id
        taken[#taken + 1] = redis.call('HGET', ARGV[5] .. id, 'doc') or ''
      end
    end
  end
end
sweep()
return taken
"""

# The store's upsert, for the documents whose claim is the writer's. ARGV: token, ttl (ms), new
# (1: claim each first when nobody holds it), how many, then for each: its claim key, finished (1:
# drop the claim after writing), and its part of the upsert's arguments. Returns the refused ids.
WRITE = f"""
local function upsert(ARGV)
{UPSERT}
end
local token, ttl, new = ARGV[1], ARGV[2], ARGV[3] == '1'
local pos, refused = 5, {{}}
for _ = 1, tonumber(ARGV[4]) do
  local claim, finished, start = ARGV[pos], ARGV[pos + 1] == '1', pos + 2
  pos = start + 3 + 2 * tonumber(ARGV[start + 2])
  pos = pos + 1 + 2 * tonumber(ARGV[pos])
  local ours = redis.call('GET', claim) == token
  if not ours and new then ours = redis.call('SET', claim, token, 'NX', 'PX', ttl) ~= false end
  if ours then
    local args = {{'1'}}
    for i = start, pos - 1 do args[#args + 1] = ARGV[i] end
    upsert(args)
    if finished then redis.call('DEL', claim) end
  else
    refused[#refused + 1] = ARGV[start + 1]
  end
end
return refused
"""

# KEYS: claims. ARGV: token, ttl (ms). Extends those still ours; returns the (1-based) places of the others.
RENEW = """
local lost = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('PEXPIRE', key, ARGV[2]) else lost[#lost + 1] = i end
end
return lost
"""

# KEYS: claims. ARGV: token, channel, topic, announce (1/0). Drops those still ours.
RELEASE = """
local dropped = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then dropped = dropped + redis.call('DEL', key) end
end
if ARGV[4] == '1' and dropped > 0 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return dropped
"""

# KEYS: claim, task. ARGV: token, ttl (ms), stage ('' for any), channel, topic, unfinished statuses...
SEIZE = """
local doc = redis.call('HGET', KEYS[2], 'doc')
if not doc then return 0 end
local task = cjson.decode(doc)
local unfinished = false
for i = 6, #ARGV do unfinished = unfinished or task.status == ARGV[i] end
if not unfinished or (ARGV[3] ~= '' and task.stage ~= ARGV[3]) then return 0 end
local holder = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if holder and holder ~= ARGV[1] then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return 1
"""


def replica_token() -> str:
    """This process's token: where it runs (so an operator reading a claim sees who holds it), and
    random (a restarted process with the same pid holds nothing of its former self)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"


@guarded
class RedisTaskClaims:
    """Task claims in Redis (made by ``RedisStore.task_claims``)."""

    shared = True

    def __init__(
        self,
        redis: Redis,
        key: Callable[..., str],
        *,
        ttl: float,
        document: Callable[[TaskRecord], Indexed],
        wait: Callable[[str, float], Awaitable[bool]],
    ) -> None:
        self._redis, self._key, self._ttl = redis, key, ttl
        self._document, self._wait = document, wait
        self.token = replica_token()
        self._claim_orphans = redis.register_script(CLAIM_ORPHANS)
        self._write = redis.register_script(WRITE)
        self._renew = redis.register_script(RENEW)
        self._release = redis.register_script(RELEASE)
        self._seize = redis.register_script(SEIZE)

    @property
    def ttl(self) -> float:
        """Seconds a claim outlives its holder's last renewal."""
        return self._ttl

    @property
    def _ms(self) -> int:
        return max(1, int(self._ttl * 1000))

    async def claim_orphans(self, limit: int) -> tuple[list[TaskRecord], bool]:
        """Claim up to ``limit`` unfinished tasks nobody holds (one script); their documents as stored."""
        indexes = [self._key("tasks", "s", status.value) for status in UNFINISHED]
        args: list[str | int] = [self.token, self._ms, limit, self._key("own", ""), self._key("task", "")]
        reply = await self._claim_orphans(keys=indexes, args=args)
        more, pairs = int(reply[0]) == 1, reply[1:]
        taken, stale = [], []
        for task_id, raw in zip(pairs[::2], pairs[1::2], strict=True):
            record = task_from_json(raw) if raw else None
            if record is None or record.status.finished:  # not in its index any more: never, but cheap
                stale.append(as_text(task_id))
            else:
                taken.append(record)
        await self.release(stale)
        return taken, more

    async def write(
        self, records: Sequence[TaskRecord], *, new: bool = False, batch: bool = False
    ) -> set[str]:
        """Save the tasks still ours, in one script (a batch or not); the ids refused."""
        del batch
        if not records:
            return set()
        args: list[bytes | str | int] = [self.token, self._ms, int(new), len(records)]
        for record in records:
            args += [self._key("own", record.id), int(record.status.finished)]
            args += upsert_args(self._document(record))
        return {as_text(task_id) for task_id in await self._write(args=args)}

    async def renew(self, task_ids: Sequence[str]) -> set[str]:
        """Extend every claim still ours (one script); the ids lost."""
        if not task_ids:
            return set()
        places = await self._renew(keys=[self._key("own", i) for i in task_ids], args=[self.token, self._ms])
        return {task_ids[int(place) - 1] for place in places}

    async def release(self, task_ids: Sequence[str], *, announce: bool = False) -> None:
        """Drop the claims still ours; ``announce``: tell the other replicas to sweep now."""
        if not task_ids:
            return
        keys = [self._key("own", i) for i in task_ids]
        await self._release(keys=keys, args=[self.token, self._key("changes"), TASKS_TOPIC, int(announce)])

    async def seize(self, task_id: str, *, stage: TaskStage | None = None) -> bool:
        """Take the claim of an unfinished stored task (at ``stage``) from whoever holds it."""
        keys = [self._key("own", task_id), self._key("task", task_id)]
        args: list[str | int] = [self.token, self._ms, stage.value if stage else "", self._key("changes")]
        args += [TASKS_TOPIC, *(status.value for status in UNFINISHED)]
        return int(await self._seize(keys=keys, args=args)) == 1

    async def wait(self, seconds: float) -> bool:
        """Up to ``seconds``; True once a replica released or seized tasks (or after a resubscribe)."""
        return await self._wait(TASKS_TOPIC, seconds)
