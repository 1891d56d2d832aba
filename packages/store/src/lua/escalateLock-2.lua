--[[
  Stretches a lockout that repeats (the worker runs this on lockout.engaged): the n-th lock
  lasts base * growth^(n-1), and from the K-th on it is permanent (K = 0: never).
  Only the lock the event names is escalated: one whose end is still the event's (an operator's
  unlock, or the lock's end and a new count, make the event late: it does nothing then).
  Idempotent: the same event gives the same result, and a lock is only ever extended.

  An account's permanent lock holds until an operator clears it. An unknown identifier's locks
  never outlive ARGV[8] (its key must not stay in Redis for good): a "permanent" one answers as
  permanent for that long, then goes, and growth stops there too.

  KEYS[1] lockout hash   <shard>lk:<lock>
  KEYS[2] lockout index  <shard>lockouts

  ARGV[1] lock name
  ARGV[2] lock number n (the event's count)
  ARGV[3] the lock's end as engaged, ms (the event's until)
  ARGV[4] base lock duration, ms
  ARGV[5] growth factor
  ARGV[6] permanent after K locks (0: never)
  ARGV[7] how long the lockout hash is remembered after the lock ends, ms
  ARGV[8] longest lock, ms (0: no limit; an account's)

  Returns the lock's end in ms, or (EscalateLock in lua-codes.ts) -1 Permanent, 0 Late when the lock
  was cleared or ended meanwhile
]]
local h = redis.call('HMGET', KEYS[1], 'lockedUntil', 'permanent')
if h[2] == '1' then
  return -1
end
local engaged = tonumber(ARGV[3])
local current = tonumber(h[1] or '0')
if current ~= engaged then
  return current > engaged and current or 0 -- escalated already, or not this lock any more
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[2])
local k = tonumber(ARGV[6])
local longest = tonumber(ARGV[8])
local start = engaged - tonumber(ARGV[4])
if k > 0 and n >= k then
  redis.call('HSET', KEYS[1], 'permanent', 1)
  if longest == 0 then
    redis.call('PERSIST', KEYS[1])
    redis.call('ZADD', KEYS[2], '+inf', ARGV[1])
  else
    redis.call('PEXPIRE', KEYS[1], math.max(1, start + longest - now))
    redis.call('ZADD', KEYS[2], start + longest, ARGV[1])
  end
  return -1
end
local untilMs = start + math.floor(tonumber(ARGV[4]) * tonumber(ARGV[5]) ^ (n - 1))
if longest > 0 then
  untilMs = math.min(untilMs, start + longest)
end
if untilMs > current then
  redis.call('HSET', KEYS[1], 'lockedUntil', untilMs)
  redis.call('ZADD', KEYS[2], untilMs, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], untilMs - now + tonumber(ARGV[7]))
  return untilMs
end
return current
