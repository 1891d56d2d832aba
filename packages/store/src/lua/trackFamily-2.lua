--[[
  Adds tokens to their login family, and the family to its user's sessions, in one atomic step;
  past either bound the oldest are taken out and returned (the caller revokes them: their own keys
  live in other cluster slots). Every key named here is in the user's slot, {u<id>}:

    <prefix>us:{u<id>}            sorted set   member: a login family (as the record stores it)
                                               score:  the family's latest token expiry, ms
    <prefix>ft:{u<id>}:<family>   sorted set   member: kind ('a' access, 'r' refresh) .. tokenHash
                                               score:  when the token joined (Redis time, ms)

  Both stay small listpacks at the default bounds (128 each): about 35 bytes per token. A call's
  work is bounded by the bounds, never by how many tokens the family or the user has ever held:
  ZADD, ZPOPMIN and ZREMRANGEBYSCORE are O(log n) plus what they remove, each entry once.

  - A family keeps its newest ARGV[2] tokens: the oldest go first, except that a call adding no
    refresh token (a SimpleJWT refresh without rotation, a PEB renewal) spares a refresh token it
    would take, once (it joins again as new): a client refreshing too often loses its oldest
    access tokens, not its session.
  - A user keeps ARGV[3] families: those whose every token has expired leave; past the bound, the
    family that ends first (never the one written) is taken whole.
  At most MAX_TOKENS tokens and MAX_FAMILIES families go per call (a bound lowered by the settings
  is reached over a few writes).

  KEYS[1] the user's sessions
  KEYS[2] the family's tokens (ARGV[4] .. ARGV[1])
  ARGV[1] family
  ARGV[2] most tokens per family
  ARGV[3] most families per user
  ARGV[4] the prefix of the user's family keys, <prefix>ft:{u<id>}:
  ARGV[5..] per new token: its expiry (ms since epoch), its member

  Returns what was taken out, in groups {family, until, member, member, ...}:
    until '0'   tokens taken from the family written (the family lives on)
    until > 0   a family taken whole, which ended at `until` (ms)
]]
local MAX_TOKENS = 16
local MAX_FAMILIES = 2
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local family, maxTokens, maxFamilies = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

local add, latest, addsRefresh = {}, 0, false
for i = 5, #ARGV - 1, 2 do
  local exp = tonumber(ARGV[i])
  if exp > now then
    add[#add + 1] = now
    add[#add + 1] = ARGV[i + 1]
    if exp > latest then
      latest = exp
    end
    if string.sub(ARGV[i + 1], 1, 1) == 'r' then
      addsRefresh = true
    end
  end
end
if latest == 0 then
  return {}
end
-- room first, then the new tokens: a family at its bound never holds more, so at the default
-- bound (128) it stays a listpack (Redis does not convert a skiplist back)
local out = {}
local excess = redis.call('ZCARD', KEYS[2]) + #add / 2 - maxTokens
if excess > 0 then
  local taken = { family, '0' }
  local spared = addsRefresh
  local n = math.min(excess, MAX_TOKENS)
  while n > 0 do
    local member = redis.call('ZPOPMIN', KEYS[2])[1]
    if member == nil then
      break
    end
    if not spared and string.sub(member, 1, 1) == 'r' then
      spared = true
      add[#add + 1] = now
      add[#add + 1] = member
    else
      taken[#taken + 1] = member
      n = n - 1
    end
  end
  if #taken > 2 then
    out[#out + 1] = taken
  end
end
redis.call('ZADD', KEYS[2], unpack(add))

-- the family lives as long as its latest token
local at = redis.call('PEXPIRETIME', KEYS[2])
if at < latest then
  redis.call('PEXPIREAT', KEYS[2], latest)
else
  latest = at
end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], latest, family)
local over = math.min(redis.call('ZCARD', KEYS[1]) - maxFamilies, MAX_FAMILIES)
if over > 0 then
  local first = redis.call('ZRANGE', KEYS[1], 0, over, 'WITHSCORES')
  for i = 1, #first - 1, 2 do
    if over > 0 and first[i] ~= family then
      local key = ARGV[4] .. first[i]
      local whole = { first[i], first[i + 1] }
      for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do
        whole[#whole + 1] = member
      end
      redis.call('DEL', key)
      redis.call('ZREM', KEYS[1], first[i])
      out[#out + 1] = whole
      over = over - 1
    end
  end
end
-- the sessions live as long as their latest family
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return out
