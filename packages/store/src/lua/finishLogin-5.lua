--[[
  Closes a login attempt: releases its reservation, counts a failure (engaging the lockout at the
  N-th inside the window) or resets the count on success, records the user's last login on a
  success that asks for it (SimpleJWT's UPDATE_LAST_LOGIN), and appends the attempt's events to the
  outbox — all in one atomic step, so the audit trail never misses or invents an attempt.

  Lifetimes (nothing an anonymous request creates outlives its purpose): a failure count lives
  its window; a lock lives until its end plus the lock's memory (ARGV[7]: an account's lock
  history is kept for escalation; an unknown identifier's only one window past the lock).

  (<shard>: the prefix of the lock's account shard, keys.ts: every key in its slot)
  KEYS[1] lockout hash      <shard>lk:<lock>        (lock: a:<user id>, u:<username>, e:<email>)
  KEYS[2] reservations zset <shard>lki:<lock>
  KEYS[3] outbox stream     <shard>outbox
  KEYS[4] lockout index     <shard>lockouts     member lock, score locked-until ms
  KEYS[5] user hash         <shard>u:<username> whose last login a success records
                            (`<shard>u:` alone when none is, or the user is in
                            another shard: the caller records it then)

  ARGV[1] reservation id
  ARGV[2] '1' success, '0' failure
  ARGV[3] failures before lockout (N)
  ARGV[4] observation window, ms
  ARGV[5] lock duration, ms (the worker stretches it for repeated lockouts)
  ARGV[6] lock name (member of the lockout index)
  ARGV[7] how long a lockout hash is remembered after its lock ends, ms
  ARGV[8] most entries the lockout index keeps (the soonest to end leave first)
  ARGV[9] the attempt's event JSON (login.succeeded or login.failed)
  ARGV[10] lockout.engaged event JSON ('' when none can follow); Lua fills in "until" and "count"
  ARGV[11] '1': a success records the user's last login (field lastLogin, ms, Redis's clock) if
           the user still exists; '0' not
  ARGV[12..] further event JSONs to append with the attempt (token.issued on success)

  Returns (FinishLogin in lua-codes.ts)
          {0}                 Recorded: a success, or a failure that did not lock
          {1, retry after ms} LockEngaged: this failure engaged the lockout
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('XADD', KEYS[3], '*', 'e', ARGV[9])
for i = 12, #ARGV do
  redis.call('XADD', KEYS[3], '*', 'e', ARGV[i])
end

local window = tonumber(ARGV[4])
if ARGV[2] == '1' then
  if ARGV[11] == '1' and redis.call('EXISTS', KEYS[5]) == 1 then
    redis.call('HSET', KEYS[5], 'lastLogin', now)
  end
  if redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('HSET', KEYS[1], 'fails', 0, 'windowStart', now, 'lockedUntil', 0)
  end
  return {0}
end

local h = redis.call('HMGET', KEYS[1], 'fails', 'windowStart', 'lockedUntil', 'permanent')
local fails = tonumber(h[1] or '0')
local windowStart = tonumber(h[2] or '0')
local lockedUntil = tonumber(h[3] or '0')
if lockedUntil > 0 and lockedUntil <= now then
  -- the last lock has run out: a new count starts (the lock history, 'locks', stays)
  lockedUntil = 0
  fails = 0
  windowStart = now
elseif now - windowStart >= window then
  fails = 0
  windowStart = now
end
fails = fails + 1
redis.call('HSET', KEYS[1], 'fails', fails, 'windowStart', windowStart, 'lockedUntil', lockedUntil)
if fails < tonumber(ARGV[3]) then
  -- the count must live out its window (a key that remembers a lock may live longer already)
  local need = windowStart + window - now
  local ttl = redis.call('PTTL', KEYS[1])
  if h[4] ~= '1' and ttl < need then
    redis.call('PEXPIRE', KEYS[1], need)
  end
  return {0}
end

local locks = redis.call('HINCRBY', KEYS[1], 'locks', 1)
local untilMs = now + tonumber(ARGV[5])
redis.call('HSET', KEYS[1], 'lockedUntil', untilMs, 'fails', 0)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]) + tonumber(ARGV[7]))
-- the index stays bounded: a few ended locks leave on each add, and the soonest to end past the cap
local ended = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, 8)
if #ended > 0 then
  redis.call('ZREM', KEYS[4], unpack(ended))
end
redis.call('ZADD', KEYS[4], untilMs, ARGV[6])
if redis.call('ZCARD', KEYS[4]) > tonumber(ARGV[8]) then
  redis.call('ZPOPMIN', KEYS[4])
end
if ARGV[10] ~= '' then
  local ev = cjson.decode(ARGV[10])
  ev['until'] = untilMs
  ev['count'] = locks
  redis.call('XADD', KEYS[3], '*', 'e', cjson.encode(ev))
end
return {1, tonumber(ARGV[5])}
