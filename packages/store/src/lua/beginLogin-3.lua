--[[
  Opens a login attempt in one round trip: the user record, lockout check and the reservation of
  one password verification, in one account shard's slot (keys.ts). Reserving before the verify is
  what keeps the lockout exact under concurrency: at most N verifications can be unfinished or
  failed inside a window, however many requests arrive at once. (The per-address rate counter has
  its own slot: countRate-1.lua, sent in the same round trip.)

  The lock an attempt counts against: an existing account's own (`a:<user id>`), whichever form
  named it (username, email) on whichever route; an unknown identifier's own (`u:<username>`,
  `e:<email>`), so an unknown identifier locks exactly as an account does. An identifier's lock
  also holds for the account it later names (a lock engaged while it was unknown, or before locks
  were kept per account).

  A login by email takes two steps: this script in the email's shard ('e') reads the email's index
  entry and checks the email's own lock; when the entry names an account it answers Elsewhere with
  the username, and the caller runs it again in the account's shard ('u', with the email expected
  in the record and no identifier lock: the email's was checked).

  KEYS[1] identifier's lockout hash   <shard>lk:<identifier lock>   fails, windowStart, lockedUntil, locks, permanent
  KEYS[2] identifier's reservations   <shard>lki:<identifier lock>  member reservation id, score expiry (ms)
  KEYS[3] lookup key                  <shard>u:<username>  or  <shard>email:<email>
  (<shard> is the prefix of one account shard, <prefix>{<tag>}:; an account's lock lives in its
  shard too: <shard>lk:a:<id> and lki:a:<id>)

  ARGV[1] failures before lockout (N)
  ARGV[2] observation window, ms
  ARGV[3] reservation id
  ARGV[4] reservation lifetime, ms (a crashed request's reservation lapses after it)
  ARGV[5] 'u' (KEYS[3] is the user hash) or 'e' (KEYS[3] is the email index)
  ARGV[6] the shard's key prefix <prefix>{<tag>}: (account locks lk:a:<id>)
  ARGV[7] the shard's outbox stream <shard>outbox
  ARGV[8] event JSON to append when the answer is 'locked' ('' for none); Lua fills in its "outcome"
  ARGV[9] the identifier's lock name (u:<username> or e:<email>); '' on the second step of a login
          by email (no identifier lock here)
  ARGV[10] 'u': the email the record must name ('' for none: a login by username); 'e': '1' to
          take the email as unknown (its index entry is stale), '' else

  Returns (BeginLogin in lua-codes.ts)
          {0, lock, user field/value...}  Reserved against lock; the user (none when unknown)
          {1, retry after ms}              Locked (-1: permanently)
          {2, lock}                        Busy: N verifications already in flight, retry shortly
          {4, username}                    Elsewhere: the email names this account (another shard)
          {5}                              Stale: the account does not hold the email expected
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function refuse(code, outcome, wait)
  if ARGV[8] ~= '' then
    local ev = cjson.decode(ARGV[8])
    ev['outcome'] = outcome
    redis.call('XADD', ARGV[7], '*', 'e', cjson.encode(ev))
  end
  return {code, wait}
end

-- the identifier's own lock, and the account's when there is one
local function lockedFor(keys)
  local wait = 0
  for _, key in ipairs(keys) do
    local h = redis.call('HMGET', key, 'lockedUntil', 'permanent')
    if h[2] == '1' then
      return -1
    end
    wait = math.max(wait, tonumber(h[1] or '0') - now)
  end
  return wait
end

local user = {}
if ARGV[5] == 'u' then
  user = redis.call('HGETALL', KEYS[3])
elseif ARGV[10] ~= '1' then
  local username = redis.call('GET', KEYS[3])
  if username then
    local wait = lockedFor({KEYS[1]})
    if wait ~= 0 then
      return refuse(1, 'locked', wait)
    end
    return {4, username}
  end
end
local id, email
for i = 1, #user, 2 do
  if user[i] == 'id' then
    id = user[i + 1]
  elseif user[i] == 'email' then
    email = user[i + 1]
  end
end
if ARGV[9] == '' and (not id or email ~= ARGV[10]) then
  return {5}
end

local lock, lockKey, reservations = ARGV[9], KEYS[1], KEYS[2]
local held = {KEYS[1]}
if id then
  lock = 'a:' .. id
  lockKey = ARGV[6] .. 'lk:' .. lock
  reservations = ARGV[6] .. 'lki:' .. lock
  held = ARGV[9] == '' and {lockKey} or {lockKey, KEYS[1]}
end

local wait = lockedFor(held)
if wait ~= 0 then
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
redis.call('ZADD', reservations, now + tonumber(ARGV[4]), ARGV[3])
redis.call('PEXPIRE', reservations, ARGV[4])

local out = {0, lock}
for i = 1, #user do
  out[#out + 1] = user[i]
end
return out
