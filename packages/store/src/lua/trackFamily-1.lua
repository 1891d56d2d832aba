--[[
  Adds tokens to their login family in the user's index, in one atomic step:

    <prefix>ui:{u<id>}   hash   field: family (as the record stores it)
                                value: <expiry><hash><expiry><hash>...  one entry per token
      expiry  the token's expiry, seconds since epoch (rounded up), base 36, 7 characters
      hash    the token's hash (tokenHash: 22 characters)

  A small hash (<= 128 families, values <= 64 bytes: one login's two tokens) is one compact
  listpack. Entries of expired tokens are dropped whenever their family is written, so a session
  that rotates for months keeps only its live tokens; families whose every token has expired are
  dropped too (the one written, and any among 16 sampled at random), so an active user's index
  does not grow for ever. The index lives at least until its latest token's expiry.

  KEYS[1] the user's index
  ARGV[1] family
  ARGV[2] the new tokens' entries, concatenated

  Returns 1, or 0 when the new tokens have all expired (nothing written)
]]
local ENTRY = 29
local now = tonumber(redis.call('TIME')[1])

-- the live entries of a value, and their latest expiry (0 when none is live)
local function live(value)
  local kept, latest = {}, 0
  for i = 1, #value - ENTRY + 1, ENTRY do
    local exp = tonumber(string.sub(value, i, i + 6), 36)
    if exp and exp > now then
      kept[#kept + 1] = string.sub(value, i, i + ENTRY - 1)
      if exp > latest then
        latest = exp
      end
    end
  end
  return table.concat(kept), latest
end

local added, latest = live(ARGV[2])
if latest == 0 then
  return 0
end
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local kept, oldLatest = live(old)
  added = kept .. added
  if oldLatest > latest then
    latest = oldLatest
  end
end
redis.call('HSET', KEYS[1], ARGV[1], added)
local sample = redis.call('HRANDFIELD', KEYS[1], 16, 'WITHVALUES')
for i = 1, #sample, 2 do
  local _, sampleLatest = live(sample[i + 1])
  if sampleLatest == 0 then
    redis.call('HDEL', KEYS[1], sample[i])
  end
end
local at = latest * 1000
if redis.call('PEXPIRETIME', KEYS[1]) < at then
  redis.call('PEXPIREAT', KEYS[1], at)
end
return 1
