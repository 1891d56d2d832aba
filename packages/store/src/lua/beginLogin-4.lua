--[[
  Opens a login attempt in one round trip: per-address rate limit, the user record, lockout check
  and the reservation of one password verification. Reserving before the verify is what keeps the
  lockout exact under concurrency: at most N verifications can be unfinished or failed inside a
  window, however many requests arrive at once.

  The lock an attempt counts against: an existing account's own (`a:<user id>`), whichever form
  named it (username, email) on whichever route; an unknown identifier's own (`u:<username>`,
  `e:<email>`), so an unknown identifier locks exactly as an account does. An identifier's lock
  also holds for the account it later names (a lock engaged while it was unknown, or before locks
  were kept per account).

  KEYS[1] identifier's lockout hash   <prefix>{users}:lk:<identifier>   fails, windowStart, lockedUntil, locks, permanent
  KEYS[2] identifier's reservations   <prefix>{users}:lki:<identifier>  member reservation id, score expiry (ms)
  KEYS[3] rate counter                <prefix>{users}:rl:<address>
  KEYS[4] user lookup key             <prefix>{users}:u:<username>  or  <prefix>{users}:email:<email>
  (an account's lock lives in the same slot: <prefix>{users}:lk:a:<id> and lki:a:<id>)

  ARGV[1] failures before lockout (N)
  ARGV[2] observation window, ms
  ARGV[3] rate limit per address per window (0: off); counted only when ARGV[5] is '1'
  ARGV[4] rate window, ms
  ARGV[5] '1' on the first try of a request, '0' on a retry after 'busy'
  ARGV[6] reservation id
  ARGV[7] reservation lifetime, ms (a crashed request's reservation lapses after it)
  ARGV[8] 'u' (KEYS[4] is the user hash) or 'e' (KEYS[4] is the email index)
  ARGV[9] key prefix <prefix>{users}: (user hashes u:<name>, account locks lk:a:<id>)
  ARGV[10] outbox stream <prefix>{users}:outbox (same slot)
  ARGV[11] event JSON to append when the answer is 'locked', or 'throttled' for the first time in
           the address's rate window ('' for none); Lua fills in its "outcome"
  ARGV[12] the identifier's lock name (u:<username> or e:<email>)

  Returns (BeginLogin in lua-codes.ts)
          {0, lock, user field/value...}  Reserved against lock; the user (none when unknown)
          {1, retry after ms}              Locked (-1: permanently)
          {2, lock}                        Busy: N verifications already in flight, retry shortly
          {3, retry after ms}              Throttled: the address is over its rate
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
    -- only the first refusal of a window is an event: the rest cost nothing in Redis (an address
    -- past its limit could otherwise fill the outbox as fast as it sends)
    if c == rate + 1 then
      return refuse(3, 'throttled', redis.call('PTTL', KEYS[3]))
    end
    return {3, redis.call('PTTL', KEYS[3])}
  end
end

local user
if ARGV[8] == 'u' then
  user = redis.call('HGETALL', KEYS[4])
else
  local username = redis.call('GET', KEYS[4])
  user = username and redis.call('HGETALL', ARGV[9] .. 'u:' .. username) or {}
end
local id
for i = 1, #user, 2 do
  if user[i] == 'id' then
    id = user[i + 1]
  end
end

local lock, lockKey, reservations = ARGV[12], KEYS[1], KEYS[2]
if id then
  lock = 'a:' .. id
  lockKey = ARGV[9] .. 'lk:' .. lock
  reservations = ARGV[9] .. 'lki:' .. lock
end

-- a lock holds: the account's, or the identifier's own
local wait = 0
for _, key in ipairs(id and {lockKey, KEYS[1]} or {lockKey}) do
  local h = redis.call('HMGET', key, 'lockedUntil', 'permanent')
  if h[2] == '1' then
    return refuse(1, 'locked', -1)
  end
  wait = math.max(wait, tonumber(h[1] or '0') - now)
end
if wait > 0 then
  return refuse(1, 'locked', wait)
end

local h = redis.call('HMGET', lockKey, 'fails', 'windowStart', 'lockedUntil')
local fails = tonumber(h[1] or '0')
if tonumber(h[3] or '0') > 0 or now - tonumber(h[2] or '0') >= tonumber(ARGV[2]) then
  fails = 0 -- the lock or the window has run out
end

redis.call('ZREMRANGEBYSCORE', reservations, '-inf', now)
if fails + redis.call('ZCARD', reservations) >= tonumber(ARGV[1]) then
  return {2, lock}
end
redis.call('ZADD', reservations, now + tonumber(ARGV[7]), ARGV[6])
redis.call('PEXPIRE', reservations, ARGV[7])

local out = {0, lock}
for i = 1, #user do
  out[#out + 1] = user[i]
end
return out
