"""The Lua scripts of the shared licence counters (``store/redis_quota.py``): admission (check and
reserve in one step), settlement, the renewal and reaping of expiring holds, the one-time load.

Every script takes ``base`` (``P q:``, the store's prefix) as ARGV[1] and names its keys from it:
``base rate:<licence>`` (a sorted set of request times, ms), ``base busy`` (a hash of generations in
progress by licence), ``base day:<YYYY-MM-DD>`` (``<licence>:i``, ``:v``, ``:c``: images, videos,
credits reserved or spent that day), ``base month:<YYYY-MM>`` (credits by licence), ``base
hold:<work id>`` (one reservation: licence, kind, day, count, credits, its usage record), ``base
expiry`` (a sorted set of the holds that expire, by deadline), ``base done:<work id>`` (what a
settlement answered, for a retry of it) and ``base built`` (the counters were loaded once). Time is
Redis's own (``TIME``), so replicas with skewed clocks share one rate window.
"""

from __future__ import annotations

# A day's tallies outlive it by a day (a reservation settled after midnight still finds them); a
# month's, by a few days. Nothing checks them afterwards.
DAY_MS = 2 * 86_400_000
MONTH_MS = 35 * 86_400_000
DONE_MS = 86_400_000  # how long a settlement's answer is kept for a retry of it
WINDOW_MS = 60_000

_PRELUDE = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Replace a hold by what was spent (``delivered`` of its count, at its price); nil when none.
local function release(base, id, delivered)
  local hold = base .. 'hold:' .. id
  local f = redis.call('HMGET', hold, 'lic', 'kind', 'day', 'count', 'credits', 'doc')
  if not f[1] then return nil end
  local lic, count, credits = f[1], tonumber(f[4]), tonumber(f[5])
  delivered = math.max(0, math.min(delivered, count))
  local spent = delivered * math.floor(credits / math.max(1, count))
  if redis.call('HINCRBY', base .. 'busy', lic, -1) <= 0 then redis.call('HDEL', base .. 'busy', lic) end
  local day = base .. 'day:' .. f[3]
  if redis.call('EXISTS', day) == 1 then  -- a day already forgotten changes nothing checked now
    redis.call('HINCRBY', day, lic .. (f[2] == 'image' and ':i' or ':v'), delivered - count)
    redis.call('HINCRBY', day, lic .. ':c', spent - credits)
  end
  local month = base .. 'month:' .. string.sub(f[3], 1, 7)
  if redis.call('EXISTS', month) == 1 then redis.call('HINCRBY', month, lic, spent - credits) end
  redis.call('DEL', hold)
  redis.call('ZREM', base .. 'expiry', id)
  return {f[6], delivered}
end

local function remember(base, id, nonce, settled)
  local done = base .. 'done:' .. id
  redis.call('HSET', done, 'nonce', nonce, 'doc', settled[1], 'delivered', settled[2])
  redis.call('PEXPIRE', done, ARGV_DONE_MS)
end
"""


def _script(body: str) -> str:
    return (_PRELUDE + body).replace("ARGV_DONE_MS", str(DONE_MS))


# Check and reserve. ARGV: base, licence, rpm, max concurrency, daily images, daily videos, daily
# credits, monthly credits, kind, count, credits each, day, hold ttl (ms, 0: none), n, n work ids,
# n usage documents. {'ok'}, or {reason, used, limit, asked, wait (ms)} with nothing changed.
ADMIT = _script(f"""
local base, lic = ARGV[1], ARGV[2]
local rpm, maxc = tonumber(ARGV[3]), tonumber(ARGV[4])
local kind, count, each, dayname = ARGV[9], tonumber(ARGV[10]), tonumber(ARGV[11]), ARGV[12]
local ttl, copies = tonumber(ARGV[13]), tonumber(ARGV[14])
local now = now_ms()
local rate = base .. 'rate:' .. lic
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', rate, '-inf', now - {WINDOW_MS})
  local used = redis.call('ZCARD', rate)
  if used >= rpm then
    local oldest = redis.call('ZRANGE', rate, 0, 0, 'WITHSCORES')
    return {{'rpm', used, rpm, 1, tonumber(oldest[2]) + {WINDOW_MS} - now}}
  end
end
local busy = tonumber(redis.call('HGET', base .. 'busy', lic) or '0')
if maxc > 0 and busy + copies > maxc then return {{'concurrency', busy, maxc, copies, 0}} end
local day, month = base .. 'day:' .. dayname, base .. 'month:' .. string.sub(dayname, 1, 7)
local made, credits = copies * count, copies * count * each
local image = kind == 'image'
local caps = {{
  {{'daily_images', image and tonumber(ARGV[5]) or 0, redis.call('HGET', day, lic .. ':i'), made}},
  {{'daily_videos', image and 0 or tonumber(ARGV[6]), redis.call('HGET', day, lic .. ':v'), made}},
  {{'daily_credits', tonumber(ARGV[7]), redis.call('HGET', day, lic .. ':c'), credits}},
  {{'monthly_credits', tonumber(ARGV[8]), redis.call('HGET', month, lic), credits}},
}}
for _, cap in ipairs(caps) do
  local used = tonumber(cap[3] or '0')
  if cap[2] > 0 and cap[4] > 0 and used + cap[4] > cap[2] then return {{cap[1], used, cap[2], cap[4], 0}} end
end
if rpm > 0 then
  redis.call('ZADD', rate, now, ARGV[15])
  redis.call('PEXPIRE', rate, {WINDOW_MS + 1000})
end
redis.call('HINCRBY', base .. 'busy', lic, copies)
redis.call('HINCRBY', day, lic .. (image and ':i' or ':v'), made)
redis.call('HINCRBY', day, lic .. ':c', credits)
redis.call('PEXPIRE', day, {DAY_MS})
redis.call('HINCRBY', month, lic, credits)
redis.call('PEXPIRE', month, {MONTH_MS})
for i = 1, copies do
  local id = ARGV[14 + i]
  redis.call('HSET', base .. 'hold:' .. id, 'lic', lic, 'kind', kind, 'day', dayname,
    'count', count, 'credits', count * each, 'doc', ARGV[14 + copies + i])
  if ttl > 0 then redis.call('ZADD', base .. 'expiry', now + ttl, id) end
end
return {{'ok'}}
""")

# Settle one hold. ARGV: base, work id, delivered, nonce. {usage document, delivered}; the same
# again for a retry with the same nonce (the first answer was lost); nil when nothing is held.
SETTLE = _script("""
local base, id, nonce = ARGV[1], ARGV[2], ARGV[4]
local settled = release(base, id, tonumber(ARGV[3]))
if settled then
  remember(base, id, nonce, settled)
  return settled
end
local prior = redis.call('HMGET', base .. 'done:' .. id, 'nonce', 'doc', 'delivered')
if prior[1] and prior[1] == nonce then return {prior[2], tonumber(prior[3])} end
return nil
""")

# Extend the deadlines of holds still held. ARGV: base, ttl (ms), work ids.
RENEW = """
local t = redis.call('TIME')
local deadline = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[2])
for i = 3, #ARGV do redis.call('ZADD', ARGV[1] .. 'expiry', 'XX', deadline, ARGV[i]) end
return #ARGV - 2
"""

# Give back holds past their deadline (their replica stopped renewing them). ARGV: base, how many
# at most. The usage documents of those given back.
REAP = _script("""
local base = ARGV[1]
local found = {}
local due = redis.call('ZRANGEBYSCORE', base .. 'expiry', '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(due) do
  local settled = release(base, id, 0)
  redis.call('ZREM', base .. 'expiry', id)
  if settled then
    remember(base, id, 'reaped', settled)
    found[#found + 1] = settled[1]
  end
end
return found
""")

# Load counters rebuilt from usage records, unless they were loaded already (then nothing: they
# are counting). ARGV: base, JSON {days: [[licence, day, images, videos, credits]], months:
# [[licence, month, credits]], holds: [[id, licence, kind, day, count, credits, document,
# expires]]}, hold ttl (ms). 1 when loaded.
LOAD = _script(f"""
local base = ARGV[1]
if redis.call('SET', base .. 'built', '1', 'NX') == false then return 0 end
local now, ttl = now_ms(), tonumber(ARGV[3])
local data = cjson.decode(ARGV[2])
for _, d in ipairs(data.days) do
  local day = base .. 'day:' .. d[2]
  redis.call('HSET', day, d[1] .. ':i', d[3], d[1] .. ':v', d[4], d[1] .. ':c', d[5])
  redis.call('PEXPIRE', day, {DAY_MS})
end
for _, m in ipairs(data.months) do
  redis.call('HSET', base .. 'month:' .. m[2], m[1], m[3])
  redis.call('PEXPIRE', base .. 'month:' .. m[2], {MONTH_MS})
end
for _, h in ipairs(data.holds) do
  redis.call('HSET', base .. 'hold:' .. h[1], 'lic', h[2], 'kind', h[3], 'day', h[4],
    'count', h[5], 'credits', h[6], 'doc', h[7])
  redis.call('HINCRBY', base .. 'busy', h[2], 1)
  if h[8] then redis.call('ZADD', base .. 'expiry', now + ttl, h[1]) end
end
return 1
""")

# Read a licence's counters. ARGV: base, licence, day, month. {now, requests in the window, the
# oldest and newest of them, in progress, images, videos, credits of the day, credits of the month}.
COUNTS = _script(f"""
local base, lic = ARGV[1], ARGV[2]
local now = now_ms()
local rate, since = base .. 'rate:' .. lic, '(' .. (now - {WINDOW_MS})
local oldest = redis.call('ZRANGEBYSCORE', rate, since, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
local newest = redis.call('ZREVRANGEBYSCORE', rate, '+inf', since, 'WITHSCORES', 'LIMIT', 0, 1)
local day = base .. 'day:' .. ARGV[3]
local function num(v) return tonumber(v or '0') or 0 end
return {{now, redis.call('ZCOUNT', rate, since, '+inf'), num(oldest[2]), num(newest[2]),
  num(redis.call('HGET', base .. 'busy', lic)), num(redis.call('HGET', day, lic .. ':i')),
  num(redis.call('HGET', day, lic .. ':v')), num(redis.call('HGET', day, lic .. ':c')),
  num(redis.call('HGET', base .. 'month:' .. ARGV[4], lic))}}
""")
