"""The Lua scripts of the Redis store: every write that touches more than one key runs as one script
(or one MULTI), so another replica never sees half of it and a Redis that goes away mid-write
leaves nothing half-done.

Scripts name keys they derive from stored values (a document's old indexes), so they need one Redis
(a primary, with replicas or Sentinel), not Redis Cluster, whose slots would have to be declared.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

# Upsert documents with their sorted-set indexes. ARGV: how many documents, then for each: its hash
# key, its member name in the indexes, n and n (field, value) pairs, m and m (index, score) pairs.
# The indexes a document is in are kept beside it (field ``_idx``), so an update leaves those it no
# longer belongs to (a task whose status moved, a delivery no longer due) in the same step.
UPSERT = """
local pos, count = 2, tonumber(ARGV[1])
for _ = 1, count do
  local key, member, nfields = ARGV[pos], ARGV[pos + 1], tonumber(ARGV[pos + 2])
  pos = pos + 3
  local fields = {}
  for _ = 1, nfields do
    fields[#fields + 1] = ARGV[pos]
    fields[#fields + 1] = ARGV[pos + 1]
    pos = pos + 2
  end
  local nindexes = tonumber(ARGV[pos])
  pos = pos + 1
  local wanted, names = {}, {}
  for _ = 1, nindexes do
    local index = ARGV[pos]
    redis.call('ZADD', index, ARGV[pos + 1], member)
    wanted[index] = true
    names[#names + 1] = index
    pos = pos + 2
  end
  local old = redis.call('HGET', key, '_idx')
  if old then
    for _, index in ipairs(cjson.decode(old)) do
      if not wanted[index] then redis.call('ZREM', index, member) end
    end
  end
  fields[#fields + 1] = '_idx'
  fields[#fields + 1] = cjson.encode(names)
  redis.call('DEL', key)
  redis.call('HSET', key, unpack(fields))
end
return count
"""

# Delete one document and its index entries. KEYS: the hash; ARGV: its member name. 1 if it existed.
DELETE = """
local old = redis.call('HGET', KEYS[1], '_idx')
if not old then return redis.call('DEL', KEYS[1]) end
for _, index in ipairs(cjson.decode(old)) do redis.call('ZREM', index, ARGV[1]) end
return redis.call('DEL', KEYS[1])
"""

# Save a licence: a new one takes the next place in the order (an update keeps its place), the
# revision moves and the other replicas are told, all at once.
# KEYS: documents (hash), order (zset), sequence, revision, channel; ARGV: id, document, topic.
PUT_LICENCE = """
if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
end
local revision = redis.call('INCR', KEYS[4])
redis.call('PUBLISH', KEYS[5], ARGV[3])
return revision
"""

# Forget a licence; the revision moves only when there was one. Same KEYS and ARGV as PUT_LICENCE.
DELETE_LICENCE = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('INCR', KEYS[4])
redis.call('PUBLISH', KEYS[5], ARGV[3])
return 1
"""

# Append an audit entry under the next number (never reused), indexed overall and by target.
# KEYS: sequence, documents (hash), every entry (zset), the target's (zset); ARGV: document.
ADD_AUDIT = """
local seq = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], seq, ARGV[1])
redis.call('ZADD', KEYS[3], seq, seq)
redis.call('ZADD', KEYS[4], seq, seq)
return seq
"""


@dataclass(frozen=True, slots=True)
class Scripts:
    """The scripts, registered with one client (run by hash; loaded again after a Redis restart)."""

    upsert: AsyncScript
    delete: AsyncScript
    put_licence: AsyncScript
    delete_licence: AsyncScript
    add_audit: AsyncScript

    @classmethod
    def register(cls, client: Redis) -> Scripts:
        """Bind every script to ``client`` (no round trip: loaded on first use)."""
        return cls(
            upsert=client.register_script(UPSERT),
            delete=client.register_script(DELETE),
            put_licence=client.register_script(PUT_LICENCE),
            delete_licence=client.register_script(DELETE_LICENCE),
            add_audit=client.register_script(ADD_AUDIT),
        )
