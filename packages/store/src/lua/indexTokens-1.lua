--[[
  Adds tokens to their login family in the user's token index, in one atomic step; past the bounds
  the oldest are taken out and returned (the caller revokes them: their own keys live in other
  cluster slots). The index is one sorted set per user, in the user's slot:

    <prefix>ti:{u<id>}   sorted set, three kinds of entry told apart by their score:
      a family   member: the family (as the record stores it)
                 score:  end * 2^20 + alias (> 2^20)
                   end    the family's latest token expiry, seconds since epoch (rounded up)
                   alias  the family's number in this index, 1 .. 2^20 - 1
      a token    member: seq .. exp .. kind .. tokenHash
                 score:  its family's alias (< 2^20)
                   seq    its place in its family (0, 1, ... as it joined): the count of base-36
                          digits, then the digits, so that members sort by it
                   exp    its expiry, seconds since epoch (rounded up), written the same way (7
                          characters until 2038, then 8); entries written before it was (d7be6cf) have
                          none, a digit count there being a kind, and are never taken as expired
                   kind   'a' access, 'r' refresh
      '#'        score:  minus the alias last given (<= 0)

  So the families are ordered by end (ZRANGE BYSCORE), a family's tokens are the entries of one
  score, ordered by member (Redis orders equal scores by member): oldest first. The index lives as
  long as its latest family. About 78 bytes per token for a user's few logins (a listpack of 36
  bytes per token and 34 per family), instead of a key per family. A call's work is bounded by the
  bounds, never by how many tokens the family or the user has ever held: every command is
  O(log n) plus what it returns or removes.

  - A family written sheds its expired tokens: of its EXAMINED oldest entries, those expired leave
    (they need no revocation: their keys are gone). A family's tokens of one kind expire about in
    the order they joined, its refresh tokens after its access tokens, so its expired tokens are
    at its start, possibly behind a live refresh token (kept): a family refreshed without rotation
    holds its refresh token and its live access tokens, and the expired ones a refresh burst left
    go EXAMINED - 1 a write.
  - A family keeps its newest ARGV[2] tokens: the oldest go first, except that a call adding no
    refresh token (a SimpleJWT refresh without rotation, a PEB renewal) spares a refresh token it
    would take, once (it joins again as new): a client refreshing too often loses its oldest
    access tokens, not its session.
  - A user keeps ARGV[3] families: those whose every token has expired leave; past the bound, the
    family that ends first (never the one written) is taken whole.
  At most EXAMINED expired tokens, MAX_TOKENS tokens, MAX_FAMILIES ended families and MAX_FAMILIES
  whole families go per call (a bound lowered by the settings, or many families ending at once, is
  dealt with over a few writes).

  KEYS[1] the user's token index
  ARGV[1] family
  ARGV[2] most tokens per family
  ARGV[3] most families per user
  ARGV[4..] per new token: its expiry (ms since epoch), its kind .. tokenHash

  Returns what was taken out past the bounds (not the expired tokens), in groups
  {family, until, kind .. tokenHash, ...}:
    until '0'   tokens taken from the family written (the family lives on)
    until > 0   a family taken whole, which ended at `until` (ms)
]]
local MAX_TOKENS = 16
local EXAMINED = 16
local MAX_FAMILIES = 2
local ALIASES = 1048576
local key = KEYS[1]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local family, maxTokens, maxFamilies = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

-- a token entry's kind .. tokenHash starts at `at`; exp is its expiry (s), nil if written without
local function fields(member)
  local at = tonumber(string.sub(member, 1, 1)) + 2
  local n = tonumber(string.sub(member, at, at))
  if not n then
    return at, nil
  end
  return at + n + 1, tonumber(string.sub(member, at + 1, at + n), 36)
end

-- a token entry without its seq and expiry: kind .. tokenHash
local function token(member)
  return string.sub(member, (fields(member)))
end

-- a token entry without its seq: exp .. kind .. tokenHash
local function unnumbered(member)
  return string.sub(member, tonumber(string.sub(member, 1, 1)) + 2)
end

local function seqOf(member)
  return tonumber(string.sub(member, 2, tonumber(string.sub(member, 1, 1)) + 1), 36)
end

local DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz'
-- n as its count of base-36 digits, then the digits
local function encode(n)
  local s = ''
  repeat
    local d = n % 36
    s = string.sub(DIGITS, d + 1, d + 1) .. s
    n = (n - d) / 36
  until n == 0
  return #s .. s
end

local add, latest, addsRefresh = {}, 0, false
for i = 4, #ARGV - 1, 2 do
  local exp = tonumber(ARGV[i])
  if exp > now then
    add[#add + 1] = encode(math.ceil(exp / 1000)) .. ARGV[i + 1]
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

local score = redis.call('ZSCORE', key, family)
local alias, endS, seq
if score then
  score = tonumber(score)
  alias = score % ALIASES
  endS = (score - alias) / ALIASES
  local newest = redis.call('ZRANGE', key, alias, alias, 'BYSCORE', 'REV', 'LIMIT', 0, 1)[1]
  seq = newest and seqOf(newest) + 1 or 0
else
  -- the next alias that no family holds (every family holds a token, removed with it)
  alias = -tonumber(redis.call('ZSCORE', key, '#') or '0')
  repeat
    alias = alias % (ALIASES - 1) + 1
  until redis.call('ZCOUNT', key, alias, alias) == 0
  redis.call('ZADD', key, -alias, '#')
  endS, seq = 0, 0
end

-- the expired tokens at the family's start leave first (a live one among them stays)
if score then
  local expired = {}
  for _, member in ipairs(redis.call('ZRANGE', key, alias, alias, 'BYSCORE', 'LIMIT', 0, EXAMINED)) do
    local _, exp = fields(member)
    if exp and exp * 1000 <= now then
      expired[#expired + 1] = member
    end
  end
  if #expired > 0 then
    redis.call('ZREM', key, unpack(expired))
  end
end

-- room next, then the new tokens: a family at its bound never holds more
local out = {}
local excess = score and redis.call('ZCOUNT', key, alias, alias) + #add - maxTokens or 0
if excess > 0 then
  local taken = { family, '0' }
  local spared = addsRefresh
  local n = math.min(excess, MAX_TOKENS)
  for _, member in ipairs(redis.call('ZRANGE', key, alias, alias, 'BYSCORE', 'LIMIT', 0, n + 1)) do
    if n == 0 then
      break
    end
    redis.call('ZREM', key, member)
    if not spared and string.sub(token(member), 1, 1) == 'r' then
      spared = true
      add[#add + 1] = unnumbered(member)
    else
      taken[#taken + 1] = token(member)
      n = n - 1
    end
  end
  if #taken > 2 then
    out[#out + 1] = taken
  end
end
local entries = {}
for i, t in ipairs(add) do
  entries[#entries + 1] = alias
  entries[#entries + 1] = encode(seq + i - 1) .. t
end
redis.call('ZADD', key, unpack(entries))
-- the family lives as long as its latest token
endS = math.max(endS, math.ceil(latest / 1000))
redis.call('ZADD', key, endS * ALIASES + alias, family)

-- families that ended leave (their tokens expired by themselves); past the bound, the family that
-- ends first goes whole
local ended = (math.floor(now / 1000) + 1) * ALIASES
local over = redis.call('ZCOUNT', key, ALIASES, '+inf') - maxFamilies
local dropped, evicted = 0, 0
local first = redis.call('ZRANGE', key, ALIASES, '+inf', 'BYSCORE', 'WITHSCORES', 'LIMIT', 0, 2 * MAX_FAMILIES + 1)
for i = 1, #first - 1, 2 do
  local f, s = first[i], tonumber(first[i + 1])
  local a = s % ALIASES
  if s < ended and dropped < MAX_FAMILIES then
    dropped = dropped + 1
  elseif s >= ended and over > 0 and evicted < MAX_FAMILIES and f ~= family then
    evicted = evicted + 1
    local whole = { f, string.format('%.0f', (s - a) / ALIASES * 1000) }
    for _, member in ipairs(redis.call('ZRANGE', key, a, a, 'BYSCORE')) do
      whole[#whole + 1] = token(member)
    end
    out[#out + 1] = whole
  else
    a = nil
  end
  if a then
    redis.call('ZREMRANGEBYSCORE', key, a, a)
    redis.call('ZREM', key, f)
    over = over - 1
  end
end
-- the index lives as long as its latest family
local last = redis.call('ZRANGE', key, '+inf', ALIASES, 'BYSCORE', 'REV', 'WITHSCORES', 'LIMIT', 0, 1)
redis.call('PEXPIREAT', key, math.floor(tonumber(last[2]) / ALIASES) * 1000)
return out
