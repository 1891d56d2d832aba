--[[
  Opens a login attempt in one round trip: per-address rate limit, lockout check, reservation of
  one password verification, and the user record. Reserving before the verify is what keeps the
  lockout exact under concurrency: at most N verifications can be unfinished or failed inside a
  window, however many requests arrive at once.

  KEYS[1] lockout hash      <prefix>{users}:lk:<identifier>      fails, windowStart, lockedUntil, locks, permanent
  KEYS[2] reservations zset <prefix>{users}:lki:<identifier>     member reservation id, score expiry (ms)
  KEYS[3] rate counter      <prefix>{users}:rl:<address>
  KEYS[4] user lookup key   <prefix>{users}:u:<username>  or  <prefix>{users}:email:<email>

  ARGV[1] failures before lockout (N)
  ARGV[2] observation window, ms
  ARGV[3] rate limit per address per window (0: off); counted only when ARGV[5] is '1'
  ARGV[4] rate window, ms
  ARGV[5] '1' on the first try of a request, '0' on a retry after 'busy'
  ARGV[6] reservation id
  ARGV[7] reservation lifetime, ms (a crashed request's reservation lapses after it)
  ARGV[8] 'u' (KEYS[4] is the user hash) or 'e' (KEYS[4] is the email index)
  ARGV[9] user hash key prefix <prefix>{users}:u:
  ARGV[10] outbox stream <prefix>{users}:outbox (same slot)
  ARGV[11] event JSON to append when the answer is 'locked' or 'throttled' ('' for none);
           Lua fills in its "outcome"

  Returns {0, user field/value...}  reserved; the user (empty when unknown)
          {1, retry after ms}       locked (-1: permanently)
          {2}                       busy: N verifications already in flight, retry shortly
          {3, retry after ms}       throttled: the address is over its rate
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function refuse(code, outcome, wait)
  if ARGV[11] ~= '' then
    local ev = cjson.decode(ARGV[11])
    ev['outcome'] = outcome
    redis.call('XADD', ARGV[10], '*', 'e', cjson.encode(ev))
  end
  return {code, wait}
end

local rate = tonumber(ARGV[3])
if rate > 0 and ARGV[5] == '1' then
  local c = redis.call('INCR', KEYS[3])
  if c == 1 then
    redis.call('PEXPIRE', KEYS[3], ARGV[4])
  end
  if c > rate then
    return refuse(3, 'throttled', redis.call('PTTL', KEYS[3]))
  end
end

local h = redis.call('HMGET', KEYS[1], 'fails', 'windowStart', 'lockedUntil', 'permanent')
if h[4] == '1' then
  return refuse(1, 'locked', -1)
end
local lockedUntil = tonumber(h[3] or '0')
if lockedUntil > now then
  return refuse(1, 'locked', lockedUntil - now)
end
local fails = tonumber(h[1] or '0')
if lockedUntil > 0 or now - tonumber(h[2] or '0') >= tonumber(ARGV[2]) then
  fails = 0 -- the lock or the window has run out
end

redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if fails + redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then
  return {2}
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[7]), ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[7])

local user
if ARGV[8] == 'u' then
  user = redis.call('HGETALL', KEYS[4])
else
  local username = redis.call('GET', KEYS[4])
  user = username and redis.call('HGETALL', ARGV[9] .. username) or {}
end
local out = {0}
for i = 1, #user do
  out[#out + 1] = user[i]
end
return out
