"""The Lua scripts of the shared slot ledger (``redis_slots.py``): a claim, a release and a renewal
are one script each, so another replica never sees half of one, and time is Redis' own (``TIME``:
the replicas' clocks differ). Keys derived inside a script (the day's counter) need one Redis, as
the store's other scripts do (``redis_scripts.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

# KEYS: slots, rate, made (a prefix: the day number is appended); ARGV: lease id, limit, rpm, daily
# cap, ttl (ms), "claim" or "hold" (hold: no check, work already under way). Returns {granted,
# leases held after, ms until which the rate or the daily cap refuses (0: not refused by them)}.
CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, rpm, daily, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
if ARGV[6] == 'claim' then
  if held >= limit then return {0, held, 0} end
  if rpm > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 60000)
    if redis.call('ZCARD', KEYS[2]) >= rpm then
      local oldest = redis.call('ZRANGE', KEYS[2], -rpm, -rpm, 'WITHSCORES')
      return {0, held, tonumber(oldest[2]) + 60000}
    end
  end
  if daily > 0 then
    local day = math.floor(now / 86400000)
    if tonumber(redis.call('GET', KEYS[3] .. day) or '0') + held >= daily then
      return {0, held, (day + 1) * 86400000}
    end
  end
  if rpm > 0 then
    redis.call('ZADD', KEYS[2], now, ARGV[1])
    redis.call('PEXPIRE', KEYS[2], 61000)
  end
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, held + 1, 0}
"""

# KEYS: slots, made prefix, channel; ARGV: lease id, successes, the message's head. Returns the
# leases held after. The message ends with that count, so listeners update what they mirror.
RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREM', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 then
  local made = KEYS[2] .. math.floor(now / 86400000)
  redis.call('INCRBY', made, ARGV[2])
  redis.call('EXPIRE', made, 172800)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
redis.call('PUBLISH', KEYS[3], ARGV[3] .. held)
return held
"""

# KEYS: the slots of each lease; ARGV: ttl (ms), then each lease id. Extends the leases still there
# (only if there: a lease released meanwhile is not brought back) and returns the positions of those missing.
RENEW = """
local t = redis.call('TIME')
local expiry = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local missing = {}
for i, key in ipairs(KEYS) do
  if redis.call('ZSCORE', key, ARGV[i + 1]) then
    redis.call('ZADD', key, expiry, ARGV[i + 1])
  else
    missing[#missing + 1] = i
  end
  redis.call('PEXPIRE', key, ARGV[1])
end
return missing
"""


@dataclass(frozen=True, slots=True)
class SlotScripts:
    """The ledger's scripts, registered with one client (run by hash)."""

    client: Redis
    claim: AsyncScript
    release: AsyncScript
    renew: AsyncScript

    @classmethod
    def register(cls, client: Redis) -> SlotScripts:
        """Bind the scripts to ``client`` (no round trip: loaded on first use)."""
        return cls(
            client,
            claim=client.register_script(CLAIM),
            release=client.register_script(RELEASE),
            renew=client.register_script(RENEW),
        )
