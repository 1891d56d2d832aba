--[[
  Stretches a lockout that repeats (the worker runs this on lockout.engaged): the n-th lock of an
  identifier lasts base * growth^(n-1), and from the K-th on it is permanent (K = 0: never).
  Idempotent: the same event gives the same result, and a lock is only ever extended.

  KEYS[1] lockout hash   <prefix>{users}:lk:<identifier>
  KEYS[2] lockout index  <prefix>{users}:lockouts

  ARGV[1] identifier
  ARGV[2] lock number n (the event's count)
  ARGV[3] when the lock started, ms (event until - base)
  ARGV[4] base lock duration, ms
  ARGV[5] growth factor
  ARGV[6] permanent after K locks (0: never)
  ARGV[7] escalation memory, ms

  Returns the lock's end in ms, -1 when permanent, 0 when the identifier was unlocked meanwhile
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local n = tonumber(ARGV[2])
local k = tonumber(ARGV[6])
if k > 0 and n >= k then
  redis.call('HSET', KEYS[1], 'permanent', 1)
  redis.call('PERSIST', KEYS[1])
  redis.call('ZADD', KEYS[2], '+inf', ARGV[1])
  return -1
end
local untilMs = tonumber(ARGV[3]) + math.floor(tonumber(ARGV[4]) * tonumber(ARGV[5]) ^ (n - 1))
local current = tonumber(redis.call('HGET', KEYS[1], 'lockedUntil') or '0')
if untilMs > current then
  redis.call('HSET', KEYS[1], 'lockedUntil', untilMs)
  redis.call('ZADD', KEYS[2], untilMs, ARGV[1])
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('PEXPIRE', KEYS[1], untilMs - now + tonumber(ARGV[7]))
  return untilMs
end
return current
